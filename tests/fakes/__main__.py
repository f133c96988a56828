"""Run one fake provider until interrupted: ``python -m tests.fakes expo``.

Prints the settings (as DOORSTEP_* variables) that point Doorstep at it, then serves on a
free port. The Expo fake answers ``GET /_fake/stats`` and ``POST /_fake/script``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
from pathlib import Path
from typing import Any

from tests.fakes.expo import FakeExpo
from tests.fakes.fcm import FakeFcm
from tests.fakes.server import HttpFake
from tests.fakes.twilio import FakeTwilio
from tests.fakes.webpush import FakePushService

FAKES: dict[str, type[HttpFake]] = {
    "expo": FakeExpo,
    "fcm": FakeFcm,
    "twilio": FakeTwilio,
    "webpush": FakePushService,
}


def settings_of(fake: HttpFake, workdir: Path) -> dict[str, Any]:
    if isinstance(fake, FakeFcm):
        return fake.settings(workdir / "service-account.json")
    if isinstance(fake, FakeExpo | FakeTwilio):
        return fake.settings()
    return {}


async def serve(name: str) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        async with FAKES[name]() as fake:
            print(f"# fake {name} at {fake.base_url}", flush=True)
            for key, value in settings_of(fake, Path(workdir)).items():
                if value is not None:
                    print(f"DOORSTEP_{key.upper()}={value}", flush=True)
            await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes")
    parser.add_argument("provider", choices=sorted(FAKES))
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.provider))


if __name__ == "__main__":
    main()
