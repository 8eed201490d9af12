"""Load on `POST /api/voice/session` with wrk (`wrk_post.lua`), and the CPU each process used
meanwhile.

wrk only bounds a run by time; its script counts the responses and prints BENCH_DONE once the
requested count is reached, and wrk is then interrupted (it prints its summary and exits); the
`-d` duration stays as the time cap. See bench/README.md for why wrk.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from measure import CpuMeter, of_tree, reaped_children_seconds
from stack import BenchStack
from stats import Timing

SCRIPT = Path(__file__).resolve().parent / "wrk_post.lua"
TIMEOUT_S = 10  # a slower response counts as an error
OTHERS = "other processes"
# session-api's dispatch watchdog re-dispatching an agent, as livekit-server logs the calls
DISPATCH_METHODS = ('"method":"ListDispatch"', '"method":"CreateDispatch"')


@dataclass
class LoadResult:
    requests: int
    seconds: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per process, over the run
    wall_seconds: float = 0.0  # of the CPU measurement
    livekit_create_room: Timing | None = None
    dispatch_calls: int = 0  # ListDispatch and CreateDispatch livekit-server handled: re-dispatches

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_percent(self) -> dict[str, float]:
        """CPU used by each process, in % of one core."""
        return {name: 100 * s / self.wall_seconds for name, s in self.cpu_seconds.items()}

    def cpu_ms_per_session(self, name: str) -> float:
        return 1000 * self.cpu_seconds[name] / self.requests

    @property
    def errors(self) -> int:
        not_created = sum(n for status, n in self.statuses.items() if status != "201")
        return not_created + sum(self.socket_errors.values())


def run_wrk(api_url: str, requests: int, concurrency: int, limit_s: float) -> LoadResult:
    """A closed loop of `requests` POSTs over `concurrency` connections, at most `limit_s`."""
    cmd = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(limit_s))}s",
        f"--timeout={TIMEOUT_S}s",
        f"--script={SCRIPT}",
        f"{api_url}/api/voice/session",
        "--",
        str(requests),
        secrets.token_hex(4),
    ]
    wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert wrk.stdout is not None
    seen = []
    for line in wrk.stdout:  # ends at wrk's exit if the count is not reached within -d
        seen.append(line)
        if line.startswith("BENCH_DONE"):
            wrk.send_signal(signal.SIGINT)  # wrk then prints its summary and exits
            break
    out = "".join(seen) + wrk.communicate(timeout=30)[0]
    result = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if result is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    raw = json.loads(result.removeprefix("BENCH_JSON "))
    return LoadResult(
        requests=raw["requests"],
        seconds=raw["seconds"],
        mean_ms=raw["mean"] / 1000,
        p50_ms=raw["p50"] / 1000,
        p95_ms=raw["p95"] / 1000,
        p99_ms=raw["p99"] / 1000,
        max_ms=raw["max"] / 1000,
        statuses=raw["statuses"],
        socket_errors=raw["socket_errors"],
    )


def measured_load(stack: BenchStack, requests: int, concurrency: int, limit_s: float) -> LoadResult:
    """`run_wrk`, plus the CPU each process used (and the rest of the machine) and
    livekit-server's CreateRoom times during the run."""
    roles = ("session-api", "livekit-server", "redis-server")
    meter = CpuMeter(
        {**{role: of_tree(stack.pid(role)) for role in roles}, "wrk": reaped_children_seconds}
    )
    assert stack.livekit is not None
    livekit_log = stack.livekit.log_path
    log_offset = livekit_log.stat().st_size
    result = run_wrk(stack.api_url, requests, concurrency, limit_s)
    use = meter.stop()
    result.cpu_seconds = {name: max(0.0, s) for name, s in use.seconds.items()}
    result.cpu_seconds[OTHERS] = use.others_cores * use.wall
    result.wall_seconds = use.wall
    lines = log_lines_after(livekit_log, log_offset)
    samples = [json.loads(ln)["duration"] for ln in lines if '"method":"CreateRoom"' in ln]
    result.livekit_create_room = Timing("CreateRoom inside livekit-server", samples)
    result.dispatch_calls = sum(any(m in ln for m in DISPATCH_METHODS) for ln in lines)
    return result


def log_lines_after(log: Path, offset: int) -> list[str]:
    """The lines a process logged after byte `offset` of its log."""
    with log.open("rb") as file:
        file.seek(offset)
        return file.read().decode(errors="replace").splitlines()


def wait_idle(stack: BenchStack, limit_s: float = 10.0) -> None:
    """Wait (at most `limit_s`) until session-api and livekit-server are nearly idle (under 5%
    of a core over 0.5 s): livekit-server delivers the warm-up's webhooks after the responses,
    and they should not land in the next measurement."""
    meter_of = {role: of_tree(stack.pid(role)) for role in ("session-api", "livekit-server")}
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        meter = CpuMeter(meter_of)
        time.sleep(0.5)
        if sum(meter.stop().seconds.values()) < 0.05 * 0.5:
            return
