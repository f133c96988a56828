"""``python -m bench`` runs every benchmark; ``python -m bench NAME [options]`` runs one."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from bench import limits, notifications, residents, revocation, sync, training
from bench.http import cli as http

BENCHES: dict[str, Callable[[Sequence[str]], int]] = {
    "notifications": notifications.main,
    "residents": residents.main,
    "limits": limits.main,
    "revocation": revocation.main,
    "sync": sync.main,
    "training": training.main,
    "http": http.main,
}


def main(argv: Sequence[str]) -> int:
    if not argv:
        failed = [name for name, run in BENCHES.items() if run([]) != 0]
        return 1 if failed else 0
    name, *rest = argv
    if name not in BENCHES:
        print(f"usage: python -m bench [{'|'.join(BENCHES)}] [options]", file=sys.stderr)
        return 2
    return BENCHES[name](rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
