"""A fixed-rate (open-loop) load generator: request i is due at start + i / rate, whether
or not earlier ones have been answered, and its latency counts from when it was due, so a
server that falls behind shows it (no coordinated omission, which wrk's closed loop has).

``python -m bench.http.openloop SPEC.json`` prints one JSON line of results. The spec:
url, workload (a name from workloads.py), token, rate, seconds, connections.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
from dataclasses import dataclass
from typing import Any

import httpx
import uvloop

from bench.http.workloads import BY_NAME, Workload


@dataclass
class Outcome:
    latency: float  # from when it was due
    service: float  # from when it was sent
    problem: str | None


def _percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile of sorted ``values``."""
    if not values:
        return 0.0
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def _millis(seconds: float) -> float | None:
    return None if math.isinf(seconds) else round(seconds * 1000, 3)


async def _one(
    client: httpx.AsyncClient, workload: Workload, headers: dict[str, str], due: float
) -> Outcome:
    loop = asyncio.get_running_loop()
    sent = loop.time()
    try:
        response = await client.post(workload.path, content=workload.payload, headers=headers)
        problem = workload.problem(response.status_code, response.text)
    except httpx.HTTPError as exc:
        problem = f"{type(exc).__name__}: {exc}"
    end = loop.time()
    return Outcome(end - due, end - sent, problem)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    workload = BY_NAME[spec["workload"]]
    rate, seconds, connections = float(spec["rate"]), float(spec["seconds"]), spec["connections"]
    headers = {"Content-Type": "application/json"}
    if spec.get("token"):
        headers["Authorization"] = f"Bearer {spec['token']}"
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    # One sender per connection takes the next due request off the queue: a request no
    # connection is free for waits here, its latency counting from when it was due.
    due_times: asyncio.Queue[float | None] = asyncio.Queue()
    outcomes: list[Outcome] = []

    async def sender(client: httpx.AsyncClient) -> None:
        while (due := await due_times.get()) is not None:
            outcomes.append(await _one(client, workload, headers, due))

    async with httpx.AsyncClient(
        base_url=spec["url"], limits=limits, timeout=httpx.Timeout(120)
    ) as client:
        loop = asyncio.get_running_loop()
        senders = [asyncio.create_task(sender(client)) for _ in range(connections)]
        start = loop.time() + 0.05
        for i in range(int(rate * seconds)):
            due = start + i / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            due_times.put_nowait(due)
        sending_ended = loop.time()
        for _ in senders:
            due_times.put_nowait(None)
        # A server slower than the rate falls ever further behind: what is not answered
        # within ``seconds`` after the last request was due counts as not answered.
        _, late = await asyncio.wait(senders, timeout=seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        ended = loop.time()
    total = int(rate * seconds)
    unanswered = total - len(outcomes)
    # Unanswered requests rank last, as if still waiting: a percentile among them is None.
    latencies = sorted(o.latency for o in outcomes) + [math.inf] * unanswered
    services = sorted(o.service for o in outcomes)
    problems = [o.problem for o in outcomes if o.problem]
    return {
        "rate": rate,
        "requests": total,
        "answered": len(outcomes),
        "unanswered": unanswered,
        "offered_per_second": total / (sending_ended - start),
        "answered_per_second": len(outcomes) / (ended - start),
        "p50_ms": _millis(_percentile(latencies, 50)),
        "p99_ms": _millis(_percentile(latencies, 99)),
        "max_answered_ms": _millis(max((o.latency for o in outcomes), default=0.0)),
        "service_p50_ms": _millis(_percentile(services, 50)),
        "service_p99_ms": _millis(_percentile(services, 99)),
        "failures": len(problems),
        "first_failure": problems[0] if problems else None,
    }


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    print(json.dumps(uvloop.run(run(spec))), flush=True)


if __name__ == "__main__":
    main()
