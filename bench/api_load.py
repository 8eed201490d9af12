"""Load benchmark of `POST /api/voice/session`: sessions per second and latency under load.

For each uvicorn worker count it starts a fresh stack on free loopback ports in a temporary
directory (redis-server; livekit-server using that Redis, as in production; session-api with rate
limits off and a random 40-character API secret), warms it up, then runs a closed loop of N
requests at concurrency C with wrk, capped in time. It records throughput, latency percentiles,
status codes, the CPU each process used and livekit-server's own CreateRoom times (from its log).
A last one-worker stack shows where the time goes: a request alone and each of its parts alone
(through the service's own classes), livekit-server's CreateRoom alone under the same load, and
session-api's CPU under py-spy during a load run.

    python bench/api_load.py [--requests N] [--concurrency C] [--duration-limit S]
                             [--workers 1,2] [--warmup N] [--write]

`--write` replaces the "Session API load" section of docs/benchmarks.md. Needs redis-server and
livekit-server (`make setup`) and wrk (`apt-get install wrk`); py-spy (`uv tool install py-spy`)
is optional. Every process is stopped by its pid. Nothing here gates CI.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import TypeVar

from redis.asyncio import Redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import devstack  # noqa: E402
from voice_stack import cpu_seconds, process_tree  # noqa: E402

from session_api.livekit_gateway import LiveKitGateway  # noqa: E402
from session_api.store import SessionRecord, SessionStore, utc_now  # noqa: E402

DOC = REPO / "docs" / "benchmarks.md"
START, END = "<!-- bench-api:start -->", "<!-- bench-api:end -->"
TARGET_RATE, TARGET_P99_MS = 500.0, 50.0
API_KEY = "bench-api"
AGENT = "pm-agent"
COMPONENT_SAMPLES = 300  # calls per sequential timing
WRK_TIMEOUT_S = 10  # a slower response counts as an error
BUSY_MACHINE_PERCENT = 10.0  # other processes above this share of a core disturb the figures
SETTLE_INTERVAL_S, SETTLE_IDLE_SHARE = 0.5, 0.05  # "idle": under 5% of a core over 0.5 s
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = len(os.sched_getaffinity(0))
OTHERS = "other processes"
T = TypeVar("T")

INTRO = (
    "`POST /api/voice/session` (LiveKit CreateRoom with the agent dispatch, Redis MULTI write, JWT"
    " signing; rate limits off) against a fresh redis-server, livekit-server (using that Redis, as"
    " in production) and session-api per worker count, all on this machine. Each new room also"
    " makes livekit-server send session-api a signed room_started webhook, as in production."
    " Closed loop: wrk, one thread, a Lua script giving each request a new user id, after"
    " {warmup} warm-up requests. wrk was chosen over an asyncio client because it needs far less"
    " CPU per request on a machine whose cores the API shares (see bench/README.md). Runs leave"
    " their rooms open in livekit-server (no worker joins them), as a real burst would. These"
    " figures gate nothing."
)

# One wrk thread: a closed loop over C connections. After N responses it prints BENCH_DONE and
# stops; the bench then interrupts wrk (whose main thread otherwise sleeps out -d, the time cap).
# Each request carries a new user id; done() prints one JSON line. thread:get reads Lua globals;
# the clock is CLOCK_MONOTONIC through LuaJIT's ffi.
WRK_SCRIPT = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  limit, prefix = tonumber(args[1]), args[2]
  statuses, completed, counter, started, elapsed = {}, 0, 0, nil, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  started = started or now()
  counter = counter + 1
  local body = string.format('{"user_id":"%s-%d","agent_id":"pm-agent"}', prefix, counter)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  completed = completed + 1
  elapsed = now() - started
  if completed == limit then
    io.write("BENCH_DONE\\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local thread = threads[1]
  local codes = {}
  for status, n in pairs(thread:get("statuses")) do
    table.insert(codes, string.format('"%d":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"seconds":%.6f,"mean":%.1f,"p50":%d,"p95":%d,"p99":%d,"max":%d,' ..
    '"statuses":{%s},"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\\n',
    thread:get("completed"), thread:get("elapsed"), latency.mean, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, table.concat(codes, ","),
    e.connect, e.read, e.write, e.timeout))
end
"""


# --- the stack under test -------------------------------------------------------------------


@dataclass
class Stack:
    """redis-server, livekit-server and session-api for one run; `stop()` stops them by pid."""

    api_secret: str
    redis_port: int
    livekit_port: int
    api_port: int
    processes: dict[str, devstack.ManagedProcess] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def livekit_url(self) -> str:
        return f"http://127.0.0.1:{self.livekit_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def stop(self) -> None:
        for proc in reversed(self.processes.values()):
            proc.stop()


def api_env(stack: Stack, workers: int) -> dict[str, str]:
    return {
        "HOST": "127.0.0.1",
        "PORT": str(stack.api_port),
        "LIVEKIT_URL": stack.livekit_url,
        "LIVEKIT_PUBLIC_URL": f"ws://127.0.0.1:{stack.livekit_port}",
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": stack.api_secret,
        "REDIS_URL": stack.redis_url,
        "RATE_LIMIT_PER_USER_PER_MINUTE": "0",
        "RATE_LIMIT_PER_IP_PER_MINUTE": "0",
        "WEB_CONCURRENCY": str(workers),
        "LOG_LEVEL": "info",
    }


def start_stack(workers: int, run_dir: Path) -> Stack:
    lk_ports = devstack.LiveKitPorts.free()
    stack = Stack(
        api_secret=secrets.token_hex(20),
        redis_port=devstack.free_port(),
        livekit_port=lk_ports.http,
        api_port=devstack.free_port(),
    )
    logs = run_dir / "logs"
    try:
        stack.processes["redis-server"] = devstack.start_redis(
            stack.redis_port, run_dir / "redis", logs
        )
        webhook = f"{stack.api_url}/api/livekit/webhook"
        config = devstack.livekit_config(lk_ports, stack.redis_port, webhook)
        stack.processes["livekit-server"] = devstack.start_livekit(
            config, API_KEY, stack.api_secret, run_dir, logs
        )
        stack.processes["session-api"] = devstack.start_session_api(api_env(stack, workers), logs)
    except BaseException:
        stack.stop()
        raise
    return stack


def with_stack(
    workers: int, run_dir: Path, warmup: Callable[[Stack], object], task: Callable[[Stack], T]
) -> T:
    """Start a fresh stack, warm it up, run `task` on it, then stop every process by pid."""
    print(f"stack: redis-server, livekit-server, session-api with {workers} worker(s)", flush=True)
    stack = start_stack(workers, run_dir)
    try:
        warmup(stack)
        settle(stack)
        return task(stack)
    finally:
        stack.stop()


# --- measurements: CPU from /proc, latency samples ------------------------------------------


def machine_busy_seconds() -> float:
    """CPU time all cores spent not idle since boot, in seconds."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLK_TCK  # minus idle and iowait


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    """This program and the children it has waited for (wrk, py-spy)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + children_cpu_seconds()


def settle(stack: Stack, limit_s: float = 10.0) -> None:
    """Wait (at most `limit_s`) until the stack is nearly idle: livekit-server delivers the
    warm-up's webhooks after the responses, and they should not land in the next measurement."""
    pids = process_tree(stack.pid("session-api")) + [stack.pid("livekit-server")]
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = cpu_seconds(pids)
        time.sleep(SETTLE_INTERVAL_S)
        if cpu_seconds(pids) - before < SETTLE_IDLE_SHARE * SETTLE_INTERVAL_S:
            return


class OthersMeter:
    """CPU the rest of the machine used since creation: busy time minus this program, its
    children and the stack's processes, in % of one core."""

    def __init__(self, stack: Stack) -> None:
        self._pids = process_tree(stack.pid("session-api"))
        self._pids += [stack.pid("livekit-server"), stack.pid("redis-server")]
        self._start = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float]:
        ours = cpu_seconds(self._pids) + own_cpu_seconds()
        return time.monotonic(), machine_busy_seconds(), ours

    def percent(self) -> float:
        (t0, busy0, ours0), (t1, busy1, ours1) = self._start, self._snapshot()
        return max(0.0, 100 * ((busy1 - busy0) - (ours1 - ours0)) / (t1 - t0))


@dataclass
class Timing:
    """Latency samples of one kind of call, in seconds."""

    name: str
    samples: list[float]

    @property
    def mean_ms(self) -> float:
        return 1000 * fmean(self.samples)

    def ms(self, percentile: float) -> float:
        ordered = sorted(self.samples)
        return 1000 * ordered[min(len(ordered) - 1, int(percentile / 100 * len(ordered)))]


def livekit_create_room_times(log: Path, offset: int) -> Timing:
    """CreateRoom handling times livekit-server logged after byte `offset` of its log."""
    with log.open("rb") as file:
        file.seek(offset)
        lines = file.read().decode(errors="replace").splitlines()
    samples = [json.loads(ln)["duration"] for ln in lines if '"method":"CreateRoom"' in ln]
    return Timing("CreateRoom inside livekit-server", samples)


# --- load with wrk --------------------------------------------------------------------------


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


def run_wrk(
    stack: Stack, script: Path, requests: int, concurrency: int, limit_s: float
) -> LoadResult:
    """A closed loop of `requests` POSTs over `concurrency` connections, at most `limit_s`."""
    cmd = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(limit_s))}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        f"--script={script}",
        f"{stack.api_url}/api/voice/session",
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


def measured_load(
    stack: Stack, script: Path, requests: int, concurrency: int, limit_s: float
) -> LoadResult:
    """`run_wrk`, plus the CPU each process used (and the rest of the machine) and
    livekit-server's CreateRoom times during the run."""
    groups = {
        "session-api": process_tree(stack.pid("session-api")),
        "livekit-server": [stack.pid("livekit-server")],
        "redis-server": [stack.pid("redis-server")],
    }
    livekit_log = stack.processes["livekit-server"].log_path
    log_offset = livekit_log.stat().st_size
    before = {name: cpu_seconds(pids) for name, pids in groups.items()}
    wrk_before, busy_before = children_cpu_seconds(), machine_busy_seconds()
    started = time.monotonic()
    result = run_wrk(stack, script, requests, concurrency, limit_s)
    wall = time.monotonic() - started
    used = {name: cpu_seconds(pids) - before[name] for name, pids in groups.items()}
    used["wrk"] = children_cpu_seconds() - wrk_before
    used[OTHERS] = machine_busy_seconds() - busy_before - sum(used.values())
    result.cpu_seconds = {name: max(0.0, s) for name, s in used.items()}
    result.wall_seconds = wall
    result.livekit_create_room = livekit_create_room_times(livekit_log, log_offset)
    return result


# --- where the time goes: py-spy ------------------------------------------------------------

# A py-spy stack belongs to the first category one of whose markers it contains.
PROFILE_RULES = [
    ("sync dependency run in a worker thread", ("run_in_threadpool", "WorkerThread.run")),
    ("webhooks from livekit-server (room_started)", ("receive_webhook",)),
    ("LiveKit CreateRoom client (livekit-api, aiohttp)", ("create_room", "aiohttp/")),
    ("Redis session write (redis-py)", ("SessionStore.create", "redis/")),
    ("participant token (JWT signing)", ("participant_token",)),
    ("logging", ("(logging/",)),
]
EVENT_LOOP = "event loop and sockets (uvloop, native code)"
FRAMEWORK = "HTTP framework and the rest (uvicorn, Starlette, FastAPI, pydantic)"


def classify(stack: str) -> str:
    for name, markers in PROFILE_RULES:
        if any(marker in stack for marker in markers):
            return name
    if stack.rsplit(";", 1)[-1].startswith("Runner.run "):  # uvloop's C code below this frame
        return EVENT_LOOP
    return FRAMEWORK


def profile_shares(raw_file: Path) -> dict[str, float]:
    """Share (%) of py-spy's on-CPU samples per category, from its `--format raw` output."""
    counts: Counter[str] = Counter()
    for line in raw_file.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[classify(stack)] += int(n)
    total = sum(counts.values())
    return {name: 100 * n / total for name, n in counts.most_common()} if total else {}


def py_spy_binary() -> str | None:
    return shutil.which("py-spy") or shutil.which("py-spy", path=str(REPO / ".venv" / "bin"))


def profiled_load(
    stack: Stack, script: Path, args: argparse.Namespace, out_dir: Path, py_spy: str
) -> tuple[LoadResult, dict[str, float]]:
    """A load run with py-spy sampling session-api (non-blocking, 100 Hz, on-CPU samples)."""
    raw_file = out_dir / "py-spy.txt"
    cmd = [
        py_spy,
        "record",
        f"--pid={stack.pid('session-api')}",
        "--rate=100",
        "--nonblocking",
        "--format=raw",
        f"--duration={round(args.duration_limit) + 5}",
        f"--output={raw_file}",
    ]
    with (out_dir / "py-spy.log").open("wb") as log:
        spy = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(1)  # let it attach
        result = run_wrk(stack, script, args.requests, args.concurrency, args.duration_limit)
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        spy.wait(30)
    return result, profile_shares(raw_file)


# --- where the time goes: each part alone ---------------------------------------------------


async def time_calls(
    call: Callable[[int], Awaitable[object]], count: int, concurrency: int, limit_s: float
) -> tuple[list[float], float]:
    """Latencies of up to `count` calls made by `concurrency` loops within `limit_s`, and the
    elapsed time."""
    latencies: list[float] = []
    numbers = iter(range(count))
    deadline = time.perf_counter() + limit_s

    async def loop() -> None:
        for i in numbers:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def session_record(i: int) -> SessionRecord:
    sid = f"{secrets.token_hex(12)}{i:08x}"
    now = utc_now()
    return SessionRecord(
        session_id=sid,
        user_id=f"part-{i}",
        agent_id=AGENT,
        room=f"voice-{sid}",
        identity=f"user-part-{i}-{sid[:12]}",
        language="en-US",
        created_at=now,
        expires_at=now + timedelta(minutes=15),
    )


async def create_room(gateway: LiveKitGateway, i: int) -> None:
    """CreateRoom as `SessionService.create` sends it, agent dispatch included."""
    await gateway.create_room(
        f"part-{secrets.token_hex(8)}-{i}",
        agent_name=AGENT,
        dispatch_metadata={"session_id": f"part-{i}", "user_id": f"part-{i}"},
        empty_timeout_seconds=300,
    )


async def time_parts(stack: Stack, limit_s: float) -> list[Timing]:
    """Each part of a request alone, one call at a time, through the service's own classes."""
    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    store = SessionStore(redis, retention_seconds=3600)
    gateway = LiveKitGateway(stack.livekit_url, API_KEY, stack.api_secret, 5.0)

    async def room(i: int) -> None:
        await create_room(gateway, i)

    async def write(i: int) -> None:
        await store.create(session_record(i))

    async def sign(i: int) -> None:
        gateway.participant_token(
            room=f"voice-{i}", identity=f"user-{i}", name="bench", ttl=timedelta(minutes=15)
        )

    parts = [
        ("LiveKit CreateRoom with agent dispatch", room),
        ("Redis session write (MULTI/EXEC)", write),
        ("participant token (JWT signing)", sign),
    ]
    try:
        timings = []
        for name, call in parts:
            samples, _ = await time_calls(call, COMPONENT_SAMPLES, 1, limit_s)
            timings.append(Timing(name, samples))
        return timings
    finally:
        await gateway.aclose()
        await redis.aclose()


async def livekit_alone(
    stack: Stack, count: int, concurrency: int, limit_s: float
) -> tuple[Timing, float]:
    """CreateRoom straight to livekit-server at the benchmark's concurrency, and rooms/s."""
    gateway = LiveKitGateway(stack.livekit_url, API_KEY, stack.api_secret, 5.0)
    try:
        samples, elapsed = await time_calls(
            lambda i: create_room(gateway, i), count, concurrency, limit_s
        )
    finally:
        await gateway.aclose()
    return Timing("CreateRoom alone", samples), len(samples) / elapsed


@dataclass
class Profile:
    request_alone: LoadResult
    parts: list[Timing]
    livekit_alone: Timing
    livekit_alone_rate: float
    livekit_alone_cpu_ms: float  # livekit-server's CPU per room, session-api not in the path
    under_py_spy: LoadResult | None
    cpu_shares: dict[str, float]
    others_percent: float  # other processes' CPU during all of the above, % of one core


def livekit_alone_with_cpu(stack: Stack, args: argparse.Namespace) -> tuple[Timing, float, float]:
    """`livekit_alone`, plus livekit-server's CPU per room (ms) meanwhile."""
    pid = [stack.pid("livekit-server")]
    before = cpu_seconds(pid)
    timing, rate = asyncio.run(
        livekit_alone(stack, args.requests, args.concurrency, args.duration_limit)
    )
    return timing, rate, 1000 * (cpu_seconds(pid) - before) / len(timing.samples)


def where_time_goes(stack: Stack, script: Path, args: argparse.Namespace, out: Path) -> Profile:
    """Each measurement in turn, letting the stack settle (webhooks) between them."""
    others = OthersMeter(stack)
    request_alone = run_wrk(stack, script, COMPONENT_SAMPLES, 1, args.duration_limit)
    parts = asyncio.run(time_parts(stack, args.duration_limit))
    settle(stack)
    loaded: LoadResult | None = None
    shares: dict[str, float] = {}
    py_spy = py_spy_binary()
    if py_spy is None:
        print("py-spy not found (uv tool install py-spy): no CPU profile of session-api")
    else:
        loaded, shares = profiled_load(stack, script, args, out, py_spy)
        settle(stack)
    alone, alone_rate, alone_cpu_ms = livekit_alone_with_cpu(stack, args)
    return Profile(
        request_alone, parts, alone, alone_rate, alone_cpu_ms, loaded, shares, others.percent()
    )


# --- machine and versions -------------------------------------------------------------------


def first_line(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    return (out.stdout or out.stderr).strip().splitlines()[0]


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem_kb = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])  # MemTotal
    return (
        f"{CORES} CPUs (nproc), {model[1] if model else 'unknown CPU'}, "
        f"{mem_kb / 1024**2:.1f} GiB RAM, Linux {platform.release()}"
    )


def versions() -> str:
    livekit = first_line([str(devstack.find_binary("livekit-server")), "--version"]).split()[-1]
    redis = first_line(["redis-server", "--version"]).split()[2].removeprefix("v=")
    wrk = first_line(["wrk", "--version"]).split()[1]
    packages = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("uvicorn", "fastapi", "redis")
    )
    return (
        f"livekit-server {livekit}, redis-server {redis}, Python {platform.python_version()}, "
        f"{packages} (redis-py), wrk {wrk}"
    )


def command_line() -> str:
    python = Path(sys.executable)
    shown = python.relative_to(REPO) if python.is_relative_to(REPO) else python.name
    return shlex.join([str(shown), *sys.argv])


# --- report ---------------------------------------------------------------------------------


@dataclass
class Report:
    command: str
    date: str
    machine: str
    versions: str
    args: argparse.Namespace
    runs: dict[int, LoadResult]
    profile: Profile


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table: first column left-aligned, the figures right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def results_table(runs: dict[int, LoadResult]) -> list[str]:
    header = ["uvicorn workers", "requests", "sessions/s", "p50 ms", "p95 ms", "p99 ms"]
    header += ["max ms", "errors", "CreateRoom inside livekit-server p50 / p99 ms"]
    rows = []
    for workers, r in runs.items():
        lk = r.livekit_create_room
        inside = f"{lk.ms(50):.1f} / {lk.ms(99):.1f}" if lk and lk.samples else "n/a"
        rows.append(
            [str(workers), str(r.requests), f"{r.rate:.0f}"]
            + [f"{v:.1f}" for v in (r.p50_ms, r.p95_ms, r.p99_ms, r.max_ms)]
            + [str(r.errors), inside]
        )
    return table(header, rows)


def cpu_table(runs: dict[int, LoadResult]) -> list[str]:
    names = list(next(iter(runs.values())).cpu_seconds)
    rows = [
        [
            str(w),
            *(f"{r.cpu_percent[n]:.0f}%" for n in names),
            f"{sum(r.cpu_percent.values()):.0f}%",
        ]
        for w, r in runs.items()
    ]
    return table(["uvicorn workers", *names, "all"], rows)


def cpu_per_session_table(runs: dict[int, LoadResult]) -> list[str]:
    names = [n for n in next(iter(runs.values())).cpu_seconds if n != OTHERS]
    rows = []
    for w, r in runs.items():
        per_session = [r.cpu_ms_per_session(n) for n in names]
        rows.append(
            [str(w), *(f"{ms:.2f}" for ms in per_session), f"{sum(per_session):.2f}"]
            + [f"{CORES * 1000 / sum(per_session):.0f}"]
        )
    header = ["uvicorn workers", *names, "sum", f"sessions/s {CORES} cores could give"]
    return table(header, rows)


def error_lines(runs: dict[int, LoadResult]) -> list[str]:
    return [
        f"- {w} worker(s): status codes {r.statuses}, socket errors {r.socket_errors}"
        for w, r in runs.items()
        if r.errors
    ]


def ms_row(name: str, *values: float) -> list[str]:
    return [name, *(f"{v:.2f}" for v in values)]


def parts_table(p: Profile) -> list[str]:
    r = p.request_alone
    rows = [ms_row("whole request through session-api", r.p50_ms, r.mean_ms, r.p99_ms)]
    rows += [ms_row(t.name, t.ms(50), t.mean_ms, t.ms(99)) for t in p.parts]
    rest = r.p50_ms - sum(t.ms(50) for t in p.parts)
    rows.append([*ms_row("the rest: HTTP, framework, log line (p50 by difference)", rest), "", ""])
    return table(["one call at a time", "p50 ms", "mean ms", "p99 ms"], rows)


def profile_lines(p: Profile, concurrency: int) -> list[str]:
    alone, lk = p.request_alone, p.livekit_alone
    lines = [
        f"On a fresh one-worker stack; other processes used {p.others_percent:.0f}% of a core"
        " meanwhile.",
        "",
        f"A request alone (wrk, 1 connection, {alone.requests} requests), and each of its parts"
        f" alone ({COMPONENT_SAMPLES} calls through the service's own classes):",
        "",
        *parts_table(p),
        "",
        f"livekit-server alone: CreateRoom with dispatch from an asyncio client (this program) at"
        f" concurrency {concurrency}, {len(lk.samples)} rooms (session-api only gets their"
        f" webhooks): {p.livekit_alone_rate:.0f} rooms/s, p50 {lk.ms(50):.1f} ms, p99"
        f" {lk.ms(99):.1f} ms; livekit-server used {p.livekit_alone_cpu_ms:.2f} ms of CPU per"
        " room.",
        "",
    ]
    if p.under_py_spy is None:
        return [*lines, "py-spy was not installed: no CPU profile of session-api."]
    lines += [
        f"session-api (1 worker) under py-spy during a load run ({p.under_py_spy.requests} "
        f"requests, {p.under_py_spy.rate:.0f} sessions/s while sampled); on-CPU samples by what "
        "the stack was doing:",
        "",
    ]
    rows = [[name, f"{share:.0f}%"] for name, share in p.cpu_shares.items()]
    return lines + table(["where session-api's CPU goes", "share"], rows)


def workers_line(runs: dict[int, LoadResult], best_workers: int) -> str:
    figures = "; ".join(
        f"{w}: {r.rate:.0f} sessions/s, session-api {r.cpu_ms_per_session('session-api'):.2f} ms"
        " of CPU per session"
        for w, r in runs.items()
    )
    verdict = "" if best_workers == max(runs) else " More workers did not raise the rate here."
    return f"- By worker count: {figures}.{verdict}"


def verdict_lines(report: Report) -> list[str]:
    """The best run against the target, in the run's own figures."""
    workers, best = max(report.runs.items(), key=lambda item: item[1].rate)
    met = best.rate >= TARGET_RATE and best.p99_ms < TARGET_P99_MS and best.errors == 0
    concurrency, p = report.args.concurrency, report.profile
    lines = [
        f"Target: at least {TARGET_RATE:.0f} sessions/s with p99 under {TARGET_P99_MS:.0f} ms. "
        f"Best run: {workers} worker(s), {best.rate:.0f} sessions/s, p99 {best.p99_ms:.1f} ms, "
        f"{best.errors} errors: **{'met' if met else 'not met'}**.",
        "",
    ]
    if best.rate < TARGET_RATE:
        lines.append(
            f"- Throughput is {100 * best.rate / TARGET_RATE:.0f}% of the target: "
            f"{TARGET_RATE - best.rate:.0f} sessions/s short "
            f"({TARGET_RATE / best.rate:.1f}x needed)."
        )
    if best.p99_ms >= TARGET_P99_MS:
        lines.append(
            f"- p99 is {best.p99_ms / TARGET_P99_MS:.1f}x the bound. In a closed loop the mean "
            f"latency is concurrency / throughput (Little's law): {concurrency} requests in flight"
            f" at {TARGET_RATE:.0f}/s average {1000 * concurrency / TARGET_RATE:.0f} ms, so the"
            f" bound also needs fewer than {TARGET_RATE * TARGET_P99_MS / 1000:.0f} in flight."
        )
    per_session = {n: best.cpu_ms_per_session(n) for n in best.cpu_seconds if n != OTHERS}
    total, budget = sum(per_session.values()), CORES * 1000 / TARGET_RATE
    heaviest = max(per_session, key=per_session.__getitem__)
    lines.append(
        f"- CPU is the budget: {TARGET_RATE:.0f} sessions/s on {CORES} cores leaves {budget:.1f} ms"
        f" of CPU per session for every process together. This run spent {total:.2f} ms ("
        + ", ".join(f"{name} {ms:.2f}" for name, ms in per_session.items())
        + f"), {total / budget:.1f}x the budget; the largest share is {heaviest}'s "
        f"({100 * per_session[heaviest] / total:.0f}%)."
    )
    if len(report.runs) > 1:
        lines.append(workers_line(report.runs, workers))
    disturbed = [
        f"{w} worker(s) {r.cpu_percent[OTHERS]:.0f}%"
        for w, r in report.runs.items()
        if r.cpu_percent[OTHERS] > BUSY_MACHINE_PERCENT
    ]
    if p.others_percent > BUSY_MACHINE_PERCENT:
        disturbed.append(f"where the time goes {p.others_percent:.0f}%")
    if disturbed:
        lines.append(
            "- The machine was not quiet; other processes used, in % of a core: "
            + ", ".join(disturbed)
            + ". Rates and latencies there are worse than a quiet machine would give (CPU per"
            " session much less so)."
        )
    lk = best.livekit_create_room
    if lk and lk.samples:
        lines.append(
            f"- Under that load, livekit-server itself took p50 {lk.ms(50):.1f} ms / p99 "
            f"{lk.ms(99):.1f} ms to handle CreateRoom, of the request's p50 {best.p50_ms:.1f} ms /"
            f" p99 {best.p99_ms:.1f} ms."
        )
    biggest, alone_p50 = max(p.parts, key=lambda t: t.ms(50)), p.request_alone.p50_ms
    lines.append(
        f"- Alone, a request takes p50 {alone_p50:.1f} ms, of which {biggest.name} "
        f"{biggest.ms(50):.1f} ms ({100 * biggest.ms(50) / alone_p50:.0f}%)."
    )
    lines.append(
        f"- livekit-server alone (CreateRoom from this program, concurrency {concurrency}) made "
        f"{p.livekit_alone_rate:.0f} rooms/s, "
        + ("at or above" if p.livekit_alone_rate >= TARGET_RATE else "below")
        + f" the target rate without session-api in the path, at {p.livekit_alone_cpu_ms:.2f} ms of"
        " its own CPU per room."
    )
    if p.cpu_shares:
        top = list(p.cpu_shares.items())[:3]
        lines.append(
            "- session-api's own CPU (py-spy) goes first to: "
            + "; ".join(f"{name} {share:.0f}%" for name, share in top)
            + "."
        )
    return lines


def markdown(report: Report) -> str:
    a = report.args
    lines = [
        START,
        "## Session API load",
        "",
        INTRO.format(warmup=a.warmup),
        "",
        f"- Command: `{report.command}`",
        f"- Date: {report.date}",
        f"- Machine: {report.machine}",
        f"- Versions: {report.versions}",
        f"- Load: {a.requests} requests per run, {a.concurrency} connections, at most "
        f"{a.duration_limit:.0f} s per run",
        "",
        *results_table(report.runs),
        "",
        f"An error is any status other than 201, a socket error, or no answer in {WRK_TIMEOUT_S} s."
        ' "Inside livekit-server" is the CreateRoom duration the server logs for its own handling.',
        *error_lines(report.runs),
        "",
        "CPU used during each run, % of one core (utime + stime from /proc; other processes is the"
        " rest of the machine's busy time):",
        "",
        *cpu_table(report.runs),
        "",
        "CPU time per session, ms (the same figures divided by the requests served), and the rate"
        f" all {CORES} cores could sustain at that cost if nothing else ran:",
        "",
        *cpu_per_session_table(report.runs),
        "",
        "### Where the time goes",
        "",
        *profile_lines(report.profile, a.concurrency),
        "",
        "### Against the target",
        "",
        *verdict_lines(report),
        END,
    ]
    return "\n".join(lines) + "\n"


def write_doc(section: str) -> None:
    """Replace the text between the markers, or append the section; keep everything else."""
    if DOC.exists():
        text = DOC.read_text()
    else:
        text = (
            "# Benchmarks\n\nFigures measured by the programs in `bench/`, each section on the"
            " machine it names. They describe one run; they are not tests and gate nothing.\n"
        )
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


# --- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per run")
    parser.add_argument("--concurrency", type=int, default=32, help="connections in flight")
    parser.add_argument(
        "--duration-limit", type=float, default=60.0, help="time cap of each run, seconds"
    )
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts, comma-separated")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per stack")
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md's section")
    args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    return args


def print_run(workers: int, r: LoadResult) -> None:
    cpu = ", ".join(f"{name} {share:.0f}%" for name, share in r.cpu_percent.items())
    print(
        f"  {workers} worker(s): {r.requests} requests in {r.seconds:.1f} s = {r.rate:.0f} "
        f"sessions/s; p50 {r.p50_ms:.1f} ms, p95 {r.p95_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
        f"max {r.max_ms:.1f} ms; errors {r.errors} (statuses {r.statuses}, "
        f"socket {r.socket_errors})\n  CPU, % of one core: {cpu}",
        flush=True,
    )


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 1
    header = {
        "command": command_line(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
    }
    for key, value in header.items():
        print(f"{key}: {value}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        work = Path(tmp)
        script = work / "post.lua"
        script.write_text(WRK_SCRIPT)

        def warmup(stack: Stack) -> None:
            run_wrk(stack, script, args.warmup, args.concurrency, args.duration_limit)

        def load(stack: Stack) -> LoadResult:
            return measured_load(
                stack, script, args.requests, args.concurrency, args.duration_limit
            )

        runs = {}
        for workers in args.workers:
            runs[workers] = with_stack(workers, work / f"w{workers}", warmup, load)
            print_run(workers, runs[workers])
        profile = with_stack(
            1, work / "profile", warmup, lambda s: where_time_goes(s, script, args, work)
        )
    section = markdown(Report(**header, args=args, runs=runs, profile=profile))
    print(section)
    if args.write:
        write_doc(section)
        print(f"wrote {DOC.relative_to(REPO)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
