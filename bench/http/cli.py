"""``python -m bench http``: options, the run, the figures."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.http import report
from bench.http.run import Measured, Options, measure
from bench.http.workloads import BY_NAME
from bench.notifications import BenchError


def parse(argv: Sequence[str]) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench http", description=__doc__)
    parser.add_argument("--duration", type=float, default=defaults.duration,
                        help="seconds per workload per round")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--warmup", type=float, default=defaults.warmup,
                        help="seconds of unmeasured load per workload first")  # fmt: skip
    parser.add_argument("--only", help=f"workloads, comma-separated, of {', '.join(BY_NAME)} "
                        "(the anchors always run: the ratios need them)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=defaults.rate,
                        help="the fixed-rate check's offered req/s (Me)")  # fmt: skip
    parser.add_argument("--label", default=defaults.label, help="names the results file")
    parser.add_argument("--baseline", type=Path, help="a results file to compare with")
    parser.add_argument("--profile", metavar="WORKLOAD",
                        help="py-spy flame graph of one more run of it")  # fmt: skip
    parser.add_argument("--profile-raw", action="store_true",
                        help="py-spy's collapsed stacks (.txt), not an SVG")  # fmt: skip
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else defaults.only
    unknown = [n for n in only + ([args.profile] if args.profile else []) if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown workloads {unknown}; known: {', '.join(BY_NAME)}")
    if args.duration < 1 or args.rounds < 1 or args.rate <= 0 or args.warmup < 0:
        parser.error("need --duration >= 1, --rounds >= 1, --rate > 0, --warmup >= 0")
    if not args.label.replace("-", "").replace("_", "").isalnum():
        parser.error("--label: letters, digits, - and _ only")
    return Options(
        duration=args.duration,
        rounds=args.rounds,
        warmup=args.warmup,
        only=only,
        rate=args.rate,
        label=args.label,
        baseline=args.baseline,
        profile=args.profile,
        profile_raw=args.profile_raw,
    )


def main(argv: Sequence[str] = ()) -> int:
    options = parse(argv)
    baseline = json.loads(options.baseline.read_text()) if options.baseline else None
    work_dir = Path(tempfile.mkdtemp(prefix="doorstep-bench-http-"))
    load_before = os.getloadavg()[0]
    suffix = ".txt" if options.profile_raw else ".svg"
    profile_out = report.RESULTS / f"http-{options.label}-{options.profile}{suffix}"
    try:
        measured: Measured = asyncio.run(measure(options, work_dir, profile_out))
    except BenchError as exc:
        print(f"http benchmark failed: {exc}\n  logs kept in {work_dir}", file=sys.stderr)
        return 1
    results = report.summarise(measured, options, load_before)
    path = report.write(results)
    print(
        f"\nhttp: median of {options.rounds} rounds of {options.duration:g} s, wrk -t1 "
        f"-c32 on core 1, uvicorn on core 0; ratios are req/s / the anchor's, per round\n"
        f"{report.table(results)}\n{report.fixed_rate_line(results)}\n  results: {path}",
        flush=True,
    )
    if measured.profile:
        print(f"  profile: {measured.profile}")
    if baseline is not None:
        print(report.compare(results, baseline))
    if measured.failures:
        print("WRONG RESPONSES:\n  " + "\n  ".join(measured.failures), file=sys.stderr)
        print(f"  logs kept in {work_dir}", file=sys.stderr)
        return 1
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0
