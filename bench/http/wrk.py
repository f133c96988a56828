"""Running wrk on the load generator's core, with a Lua script that checks every response."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.http.workloads import Workload
from bench.notifications import BenchError

CONNECTIONS = 32
LOAD_CORE = "1"
RESULT_PREFIX = "BENCH-RESULT "

# wrk keeps one Lua state per thread: setup() collects them so done() can add up what
# every thread's response() counted.
_LUA = """
wrk.method = {method}
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
local pattern = {pattern}
local expected = {expected}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  checked, bad_status, with_errors, wrong_count = 0, 0, 0, 0
end

function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 then
    bad_status = bad_status + 1
  elseif string.find(body, '"errors"', 1, true) then
    with_errors = with_errors + 1
  else
    local _, n = string.gsub(body, pattern, "")
    if n ~= expected then wrong_count = wrong_count + 1 end
  end
end

function done(summary, latency, requests)
  local c = {{checked = 0, bad_status = 0, with_errors = 0, wrong_count = 0}}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(c) do c[k] = c[k] + thread:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    '{prefix}{{"requests": %d, "micros": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"checked": %d, "bad_status": %d, "with_errors": %d, "wrong_count": %d, ' ..
    '"socket_errors": %d, "non_2xx": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    c.checked, c.bad_status, c.with_errors, c.wrong_count,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def _lua_string(text: str) -> str:
    """A Lua long-bracket string literal holding ``text`` unchanged."""
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


@dataclass
class WrkRun:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    checked: int
    bad_status: int
    with_errors: int
    wrong_count: int
    socket_errors: int
    non_2xx: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        """Responses that were wrong, and requests that got none."""
        return self.bad_status + self.with_errors + self.wrong_count + self.socket_errors


def wrk_binary() -> str:
    """wrk's path; installs Debian's wrk when it is missing and apt-get can."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise BenchError("wrk is not on PATH (apt-get install wrk)")
    print("wrk is missing: apt-get install -y wrk ...", flush=True)
    done = subprocess.run(
        [apt, "install", "-y", "wrk"], capture_output=True, text=True, check=False
    )
    found = shutil.which("wrk")
    if done.returncode != 0 or found is None:
        raise BenchError(f"could not install wrk (apt-get install wrk): {done.stderr[-500:]}")
    return found


def write_script(path: Path, workload: Workload, token: str | None) -> Path:
    payload = workload.payload
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    path.write_text(
        _LUA.format(
            method='"POST"' if payload is not None else '"GET"',
            body=_lua_string(payload.decode()) if payload is not None else "nil",
            auth=auth,
            pattern=_lua_string(workload.lua_pattern),
            expected=workload.expected,
            prefix=RESULT_PREFIX,
        )
    )
    return path


def parse_output(text: str) -> WrkRun:
    for line in text.splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line.removeprefix(RESULT_PREFIX))
            return WrkRun(
                requests=data["requests"],
                seconds=data["micros"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                checked=data["checked"],
                bad_status=data["bad_status"],
                with_errors=data["with_errors"],
                wrong_count=data["wrong_count"],
                socket_errors=data["socket_errors"],
                non_2xx=data["non_2xx"],
            )
    raise BenchError(f"could not read wrk's output: {text[-800:]!r}")


async def run_wrk(url: str, script: Path, seconds: float, log: Path) -> WrkRun:
    """wrk -t1 -c32 --latency on the load generator's core; its output is appended to log."""
    args = [
        "taskset", "-c", LOAD_CORE, wrk_binary(),
        "-t", "1", "-c", str(CONNECTIONS), "-d", f"{seconds:g}s", "--timeout", "30s",
        "--latency", "-s", str(script), url,
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), seconds + 60)
    except TimeoutError as exc:
        process.kill()
        await process.wait()
        raise BenchError(f"wrk did not finish within {seconds + 60:.0f} s") from exc
    text = output.decode(errors="replace")
    with log.open("a") as out:
        out.write(f"$ {' '.join(args)}\n{text}\n")
    if process.returncode != 0:
        raise BenchError(f"wrk exited with {process.returncode}: {text[-800:]}")
    return parse_output(text)
