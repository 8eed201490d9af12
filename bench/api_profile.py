"""Where the time of `POST /api/voice/session` goes, on a one-worker stack: a request alone, each
of its parts alone (through the service's own classes), livekit-server's CreateRoom alone under
the benchmark's concurrency, and session-api's CPU under py-spy during a load run.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import profiling
from measure import CpuMeter, of_tree, this_program
from redis.asyncio import Redis
from stack import BenchStack
from stats import Timing
from wrk import LoadResult, run_wrk, wait_idle

from session_api.livekit_gateway import LiveKitGateway
from session_api.store import SessionRecord, SessionStore, utc_now
from voice_common.dispatch import DispatchMetadata

AGENT = "pm-agent"

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
by_rule = profiling.first_rule(PROFILE_RULES, FRAMEWORK)


@dataclass(frozen=True)
class Load:
    """The load of every run: requests, connections, time cap; `samples` calls per part."""

    requests: int
    concurrency: int
    limit_s: float
    samples: int


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


def where_time_goes(stack: BenchStack, load: Load, out: Path) -> Profile:
    """Each measurement in turn, letting the stack settle (webhooks) between them."""
    meter = CpuMeter({"this program": this_program()})
    request_alone = run_wrk(stack.api_url, load.samples, 1, load.limit_s)
    parts = asyncio.run(time_parts(stack, load))
    wait_idle(stack)
    loaded: LoadResult | None = None
    shares: dict[str, float] = {}
    py_spy = profiling.find_py_spy()
    if py_spy is None:
        print(f"py-spy not found ({profiling.INSTALL}): no CPU profile of session-api")
    else:
        loaded, shares = profiled_load(stack, load, out, py_spy)
        wait_idle(stack)
    livekit = CpuMeter({"livekit-server": of_tree(stack.pid("livekit-server"))})
    alone, alone_rate = asyncio.run(livekit_alone(stack, load))
    alone_cpu_ms = 1000 * livekit.stop().seconds["livekit-server"] / max(1, len(alone.samples))
    others = 100 * meter.stop().others_cores
    return Profile(request_alone, parts, alone, alone_rate, alone_cpu_ms, loaded, shares, others)


# --- py-spy -----------------------------------------------------------------------------------


def classify(stack: str) -> str:
    if (name := by_rule(stack)) != FRAMEWORK:
        return name
    if stack.rsplit(";", 1)[-1].startswith("Runner.run "):  # uvloop's C code below this frame
        return EVENT_LOOP
    return FRAMEWORK


def profiled_load(
    stack: BenchStack, load: Load, out_dir: Path, py_spy: str
) -> tuple[LoadResult, dict[str, float]]:
    """A load run with py-spy sampling session-api (non-blocking, 100 Hz, on-CPU samples)."""
    with profiling.recording(
        py_spy, stack.pid("session-api"), out_dir / "py-spy.txt", limit_s=round(load.limit_s) + 5
    ) as raw_file:
        time.sleep(1)  # let it attach
        result = run_wrk(stack.api_url, load.requests, load.concurrency, load.limit_s)
    return result, profiling.shares(profiling.samples(raw_file, classify))


# --- each part alone --------------------------------------------------------------------------


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
        dispatch_metadata=DispatchMetadata(session_id=f"part-{i}", user_id=f"part-{i}"),
        empty_timeout_seconds=300,
    )


def _gateway(stack: BenchStack) -> LiveKitGateway:
    return LiveKitGateway(stack.livekit_http_url, stack.api_key, stack.api_secret, 5.0)


async def time_parts(stack: BenchStack, load: Load) -> list[Timing]:
    """Each part of a request alone, one call at a time, through the service's own classes."""
    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    store = SessionStore(redis, retention_seconds=3600)
    gateway = _gateway(stack)

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
            samples, _ = await time_calls(call, load.samples, 1, load.limit_s)
            timings.append(Timing(name, samples))
        return timings
    finally:
        await gateway.aclose()
        await redis.aclose()


async def livekit_alone(stack: BenchStack, load: Load) -> tuple[Timing, float]:
    """CreateRoom straight to livekit-server at the benchmark's concurrency, and rooms/s."""
    gateway = _gateway(stack)
    try:
        samples, elapsed = await time_calls(
            lambda i: create_room(gateway, i), load.requests, load.concurrency, load.limit_s
        )
    finally:
        await gateway.aclose()
    return Timing("CreateRoom alone", samples), len(samples) / elapsed
