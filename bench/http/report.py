"""The figures: a table per workload, the JSON results file, before/after against another."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http.run import Measured, Options
from bench.http.workloads import ANCHORS, WORKLOADS

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor()


def summarise(measured: Measured, options: Options, load_before: float) -> dict[str, Any]:
    """Medians over the rounds; each ratio is taken within a round (the workload beside
    the anchor that ran moments before it), then the median of those."""
    workloads: dict[str, Any] = {}
    for w in WORKLOADS:
        runs = measured.runs.get(w.name)
        if not runs:
            continue
        ratios = {}
        for anchor in ANCHORS:
            anchor_runs = measured.runs.get(anchor, [])
            if len(anchor_runs) == len(runs):
                ratios[anchor] = statistics.median(
                    r["rps"] / a["rps"] for r, a in zip(runs, anchor_runs, strict=True)
                )
        workloads[w.name] = {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "rss_mib": max(r["rss_mib"] for r in runs),
            "statements": measured.statements.get(w.name),
            "transactions": measured.transactions.get(w.name),
            "ratios": ratios,
            "failures": sum(int(r["failures"]) for r in runs),
            "rounds": runs,
        }
    return {
        "benchmark": "http",
        "label": options.label,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "machine": {
            "cpu": _cpu(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg()[0],
        },
        "options": {
            "duration": options.duration,
            "rounds": options.rounds,
            "warmup": options.warmup,
            "connections": 32,
            "rate": options.rate,
        },
        "workloads": workloads,
        "fixed_rate": measured.fixed_rate,
        "failures": measured.failures,
        "profile": measured.profile,
    }


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def table(results: dict[str, Any]) -> str:
    head = (
        f"  {'workload':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'RSS MiB':>8} "
        f"{'SQL/req':>7} {'xact/req':>8} {'/Starlette':>10} {'/SB-1':>7} {'/SB-100':>7} "
        f"{'wrong':>5}"
    )
    lines = [head]
    for name, w in results["workloads"].items():
        sql = "-" if w["statements"] is None else str(w["statements"])
        xact = "-" if w["transactions"] is None else f"{w['transactions']:.2f}"
        r = w["ratios"]
        lines.append(
            f"  {name:<16} {w['rps']:9,.1f} {w['p50_ms']:8.2f} {w['p99_ms']:8.2f} "
            f"{w['rss_mib']:8.1f} {sql:>7} {xact:>8} {_ratio(r.get('starlette')):>10} "
            f"{_ratio(r.get('strawberry-1')):>7} {_ratio(r.get('strawberry-100')):>7} "
            f"{w['failures']:5d}"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "not answered" if value is None else f"{value:.1f} ms"


def fixed_rate_line(results: dict[str, Any]) -> str:
    f = results["fixed_rate"]
    if not f:
        return ""
    return (
        f"  fixed rate, {f['workload']} at {f['rate']:g} req/s for {f['requests']} requests: "
        f"answered {f['answered']} at {f['answered_per_second']:.1f}/s; latency from when "
        f"each was due p50 {_ms(f['p50_ms'])}, p99 {_ms(f['p99_ms'])}; service time p50 "
        f"{_ms(f['service_p50_ms'])}, p99 {_ms(f['service_p99_ms'])}; {f['failures']} wrong, "
        f"{f['unanswered']} not answered within the run's length after the last was due"
    )


def compare(results: dict[str, Any], baseline: dict[str, Any]) -> str:
    """After / before: req/s as measured, and the ratio to Strawberry-1, which carries
    across machines and load better."""
    lines = [
        f"against {baseline.get('label')} ({baseline.get('commit', '')[:10]}, "
        f"{baseline.get('date')}): after / before",
        f"  {'workload':<16} {'req/s':>8} {'p99':>8} {'/SB-1':>8}",
    ]
    for name, now in results["workloads"].items():
        then = baseline.get("workloads", {}).get(name)
        if not then:
            continue
        sb_now, sb_then = now["ratios"].get("strawberry-1"), then["ratios"].get("strawberry-1")
        sb = f"{sb_now / sb_then:8.2f}" if sb_now and sb_then else f"{'-':>8}"
        lines.append(
            f"  {name:<16} {now['rps'] / then['rps']:8.2f} "
            f"{now['p99_ms'] / then['p99_ms']:8.2f} {sb}"
        )
    return "\n".join(lines)


def write(results: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    day = results["date"][:10]
    path = RESULTS / f"http-{day}-{results['label']}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path
