"""Some of a capacity level's callers, in a process of their own, and how the capacity benchmark
starts such a process and reads its answer (one JSON line: each conversation's turns or failure,
the process's event-loop stalls and its CPU time).

The rtc SDK hands every event of a process to every audio stream of that process, so the cost of
many callers in one process grows faster than linearly: the benchmark spreads them over several.
The question is pre-encoded: the benchmark synthesizes it once and every caller process reads the
PCM from a file (`--audio`), so no caller loads Piper.

A caller that starves measures late and may fail for want of CPU, not because of the product: a
lag monitor on each process's event loop records every stall, so that the benchmark can tell such
turns (a stall of `STALL_S` or more while the turn was timed) and failed conversations (stalled
for `STARVED_SHARE` of their time or more) from the product's.

    python bench/callers.py --api URL --audio question.pcm --indices 0,4 --concurrency 8 \
        --turns 3 --cycle 7 --arrival 0.5 --frame-ms 40 --start-at <unix time>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
from conversation import WAIT, converse
from stack import BENCH_QUESTION

from harness.audio import SpeechSynthesizer

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Shape:
    """How a level's callers are spread: who starts when, and for how long."""

    concurrency: int  # callers in the level, all processes together
    turns: int
    cycle: float  # seconds over which the callers' first turns are spread
    arrival: float  # seconds between two callers' arrivals
    frame_ms: int
    start_at: float  # unix time at which every caller process begins


STALL_S = 0.1  # an event-loop stall this long delays what a caller sends and times
STARVED_SHARE = 0.1  # a failed conversation's caller stalled this share of it: the harness's
LAG_PERIOD_S = 0.02


@dataclass
class Conversation:
    """One caller's conversation: its turns, or why it failed, and when (unix time)."""

    index: int
    began: float
    ended: float
    turns: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None


@dataclass
class CallerReport:
    """What one caller process saw: its conversations, the stalls of its event loop (unix time
    at which each ended, seconds late) and the CPU it used."""

    conversations: list[Conversation]
    stalls: list[tuple[float, float]]
    cpu_seconds: float
    wall: float

    @classmethod
    def failed(cls, indices: Sequence[int], why: str) -> CallerReport:
        """The process itself failed (timed out, crashed): the harness's failure, for all."""
        now = time.time()
        return cls([Conversation(i, now, now, failure=why) for i in indices], [], 0.0, 0.0)

    @classmethod
    def parse(cls, line: str) -> CallerReport:
        data = json.loads(line)
        conversations = [Conversation(**c) for c in data.pop("conversations")]
        stalls = [(at, lag) for at, lag in data.pop("stalls")]
        return cls(conversations, stalls, **data)

    def stalled(self, begin: float, end: float) -> bool:
        """Whether the event loop stalled for `STALL_S` or more between `begin` and `end`."""
        return any(lag >= STALL_S and at - lag < end and at > begin for at, lag in self.stalls)

    def stalled_seconds(self, begin: float, end: float) -> float:
        """How long the event loop was stalled between `begin` and `end`."""
        return sum(max(0.0, min(at, end) - max(at - lag, begin)) for at, lag in self.stalls)

    def starved(self, conversation: Conversation) -> bool:
        """Whether a failed conversation is the harness's: its process failed, or its event loop
        was stalled for `STARVED_SHARE` of the conversation or more (a wait that timed out
        would not have been met anyway by a caller stalled for less)."""
        if self.wall == 0:
            return True
        span = conversation.ended - conversation.began
        stalled = self.stalled_seconds(conversation.began, conversation.ended)
        return stalled >= STARVED_SHARE * span


async def caller_process(
    api_url: str, audio: Path, indices: list[int], shape: Shape
) -> CallerReport:
    """Run this program for these caller indices; its report, or a harness failure for all of
    them when it times out or exits without one."""
    cmd = [sys.executable, str(HERE / "callers.py"), "--api", api_url, "--audio", str(audio)]
    cmd += ["--indices", ",".join(map(str, indices))]
    for name, value in asdict(shape).items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    bound = (
        max(0.0, shape.start_at - time.time())
        + shape.arrival * shape.concurrency
        + shape.cycle
        + shape.turns * 3 * WAIT
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), bound)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return CallerReport.failed(indices, f"caller process {indices} timed out")
    except asyncio.CancelledError:  # the benchmark was interrupted: no caller outlives it
        proc.kill()
        raise
    lines = [x for x in stdout.decode().strip().splitlines() if x.startswith("{")]
    if not lines:
        tail = stderr.decode(errors="replace")[-500:]
        return CallerReport.failed(
            indices, f"caller process {indices} exited {proc.returncode}: {tail}"
        )
    return CallerReport.parse(lines[-1])


async def watch_lag(stalls: list[tuple[float, float]]) -> None:
    """Record every wake-up of this event loop that came `LAG_PERIOD_S` or more late."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(LAG_PERIOD_S)
        late = loop.time() - before - LAG_PERIOD_S
        if late >= LAG_PERIOD_S:
            stalls.append((time.time(), late))


async def call(api_url: str, indices: list[int], shape: Shape) -> CallerReport:
    """These callers' conversations, started together at `shape.start_at`."""
    me = psutil.Process()
    await asyncio.sleep(max(0.0, shape.start_at - time.time()))
    cpu_before, began = sum(me.cpu_times()[:2]), time.monotonic()
    stalls: list[tuple[float, float]] = []
    monitor = asyncio.create_task(watch_lag(stalls))

    async def one(index: int) -> Conversation:
        await asyncio.sleep(shape.arrival * index)  # load shaping: arrivals spread in time
        conversation = Conversation(index, time.time(), 0.0)
        try:
            turns = await converse(
                api_url,
                f"bench-capacity-{shape.concurrency}-{index}-{secrets.token_hex(2)}",
                shape.turns,
                concurrency=shape.concurrency,
                start_delay=shape.cycle * index / shape.concurrency,
                frame_ms=shape.frame_ms,
            )
            conversation.turns = [asdict(t) for t in turns]
        except Exception as exc:  # a failed conversation is a figure, not the end of the run
            conversation.failure = repr(exc)
        conversation.ended = time.time()
        return conversation

    conversations = await asyncio.gather(*(one(i) for i in indices))
    monitor.cancel()
    cpu = sum(me.cpu_times()[:2]) - cpu_before
    return CallerReport(list(conversations), stalls, cpu, time.monotonic() - began)


CALLER_NICE = -10


def prioritize() -> None:
    """Run ahead of the stack on the shared cores, as a caller on a machine of its own would: a
    saturated machine then shows as the product's latency and failures, not as callers that
    starve. Without the privilege to raise its priority the process runs as it is (its stalls
    are still timed and classified)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, CALLER_NICE)
    except PermissionError:
        print("callers: could not raise their priority; running at the default", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--audio", type=Path, required=True, help="the question as raw PCM")
    parser.add_argument("--indices", required=True)
    for name, kind in (
        ("concurrency", int),
        ("turns", int),
        ("cycle", float),
        ("arrival", float),
        ("frame-ms", int),
        ("start-at", float),
    ):
        parser.add_argument(f"--{name}", type=kind, required=True)
    args = parser.parse_args()
    shape = Shape(args.concurrency, args.turns, args.cycle, args.arrival, args.frame_ms,
                  args.start_at)  # fmt: skip
    indices = [int(i) for i in args.indices.split(",")]
    SpeechSynthesizer.load(BENCH_QUESTION, args.audio)
    prioritize()
    print(json.dumps(asdict(asyncio.run(call(args.api, indices, shape)))), flush=True)
    # The report is out: skip the interpreter's teardown, where the rtc runtime has been seen
    # to abort the process ("panic in a function that cannot unwind") after its rooms closed.
    os._exit(0)


if __name__ == "__main__":
    main()
