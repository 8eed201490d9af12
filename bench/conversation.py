"""What the voice benchmarks share: one scripted conversation and its turns, paired with the
stages the worker recorded, and their command line (`python bench/voice.py`, or each benchmark
module on its own).

A turn's voice to voice is measured by the caller (`VoiceCaller`, from the end of its speech to
the first agent audio frame it receives); the stages (end-of-turn delay, STT, LLM time to first
token, TTS time to first byte) and the worker's own voice to voice come from the session's
transcript in Redis, which the worker writes from LiveKit's per-turn metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from report import add_output_arguments
from stack import (
    BENCH_QUESTION,
    FRAME_MS,
    PRESETS,
    BenchStack,
    VoiceCaller,
    add_timing_arguments,
    timings_of,
)

from session_api.models import SessionState
from voice_common.logs import parse_log_records
from voice_common.transcript import AgentTurn, LatencyStages

WAIT = 30.0  # bound of any one wait for the agent
PACKAGES = (  # whose versions the voice benchmarks' headers name
    "livekit-agents",
    "livekit",
    "livekit-plugins-openai",
    "livekit-plugins-silero",
    "livekit-local-inference",
    "faster-whisper",
    "piper-tts",
    "openai",
)


@dataclass
class TurnResult:
    """One turn: what the caller measured and the stages the worker recorded (seconds)."""

    session: str
    measured: float
    worker_v2v: float | None = None
    end_of_turn: float | None = None
    stt: float | None = None
    llm_ttft: float | None = None
    tts_ttfb: float | None = None
    concurrency: int = 1
    speech_end_wall: float = 0.0  # unix time the caller's speech ended: where the turn sits
    talk: float = 0.0  # seconds someone spoke in the turn: the caller's question, the reply
    cycle: float = 0.0  # seconds from the question's start to the next one's (or the reply's end)
    # The turn's moments (`voice_common.transcript.TurnTimeline`, and the caller's own
    # `caller_heard`), in seconds after the caller's last voiced frame was sent.
    timeline: dict[str, float] = field(default_factory=dict)

    @property
    def stages(self) -> float | None:
        parts = (self.end_of_turn, self.llm_ttft, self.tts_ttfb)
        return None if None in parts else sum(p for p in parts if p is not None)

    @property
    def rest(self) -> float | None:
        """Transport and framework: what the stages do not explain."""
        return None if self.stages is None else self.measured - self.stages

    @property
    def inside_worker(self) -> float | None:
        if self.stages is None or self.worker_v2v is None:
            return None
        return self.worker_v2v - self.stages

    @property
    def outside_worker(self) -> float | None:
        return None if self.worker_v2v is None else self.measured - self.worker_v2v


# The stages a turn is split into, in the order they happen, with how to read each.
STAGES: dict[str, Callable[[TurnResult], float | None]] = {
    "end of turn": lambda t: t.end_of_turn,
    "LLM TTFT": lambda t: t.llm_ttft,
    "TTS TTFB": lambda t: t.tts_ttfb,
    "inside the worker": lambda t: t.inside_worker,
    "outside the worker": lambda t: t.outside_worker,
}


def agent_turns(record: dict[str, Any]) -> list[AgentTurn]:
    """The agent's entries of a session record as the API serves it, typed."""
    state = SessionState.model_validate(record)
    return [entry for entry in state.transcript if isinstance(entry, AgentTurn)]


def pair_turns(
    caller: VoiceCaller,
    record: dict[str, Any],
    concurrency: int,
    reply_ends: dict[int, float] | None = None,
) -> list[TurnResult]:
    """Each of the caller's turns with the worker's agent entry that answered it (by time);
    `reply_ends` (a turn's id -> the last sound of its reply, monotonic) gives the turns their
    talk and cycle."""
    offset = caller.posted_wall - caller.posted_at  # monotonic -> wall clock, this process
    answers = [e for e in agent_turns(record) if e.latency.voice_to_voice is not None]
    results = []
    turns = [t for t in caller.turns if t.voice_to_voice is not None]
    for index, turn in enumerate(turns):
        begin = turn.speech_ended_at + offset
        end = turns[index + 1].started_at + offset if index + 1 < len(turns) else float("inf")
        entry = next((e for e in answers if begin < e.at.timestamp() < end), None)
        latency = entry.latency if entry else LatencyStages()
        marks = entry.timeline.marks() if entry else {}
        timeline = {name: at - begin for name, at in marks.items()}
        timeline["caller_heard"] = turn.voice_to_voice or 0.0
        reply_end = (reply_ends or {}).get(id(turn))
        after = turns[index + 1].started_at if index + 1 < len(turns) else reply_end
        talk = turn.speech_ended_at - turn.started_at
        if reply_end is not None and turn.reply_started_at is not None:
            talk += reply_end - turn.reply_started_at
        results.append(
            TurnResult(
                session=caller.session_id,
                measured=turn.voice_to_voice or 0.0,
                worker_v2v=latency.voice_to_voice,
                end_of_turn=latency.end_of_turn_delay,
                stt=latency.stt_delay,
                llm_ttft=latency.llm_ttft,
                tts_ttfb=latency.tts_ttfb,
                concurrency=concurrency,
                speech_end_wall=begin,
                talk=talk if reply_end is not None else 0.0,
                cycle=(after - turn.started_at) if after is not None else 0.0,
                timeline=timeline,
            )
        )
    return results


async def converse(
    api_url: str,
    user_id: str,
    turns: int,
    *,
    concurrency: int = 1,
    connect_delay: float = 0.0,
    start_delay: float = 0.0,
    frame_ms: int = FRAME_MS,
) -> list[TurnResult]:
    """One session: greeting, then `turns` times the bench question, each reply heard out."""
    await asyncio.sleep(connect_delay)  # load shaping: arrivals spread in time
    async with VoiceCaller.connect(api_url, user_id, keep_audio=False, frame_ms=frame_ms) as caller:
        await caller.wait_for_greeting(WAIT)
        await asyncio.sleep(start_delay)  # load shaping: spread the turns of many callers
        reply_ends: dict[int, float] = {}
        for _ in range(turns):
            turn = await caller.say(BENCH_QUESTION, within=WAIT)
            reply_ends[id(turn)] = await caller.wait_reply_end(turn, WAIT)
        record = await _record_with_answers(caller, turns)
    return pair_turns(caller, record, concurrency, reply_ends)


async def _record_with_answers(caller: VoiceCaller, turns: int) -> dict[str, Any]:
    """The session record once the worker has stored an answer for every turn (bounded)."""
    deadline = time.monotonic() + WAIT
    while True:
        record = await caller.fetch_session()
        if len(agent_turns(record)) > turns or time.monotonic() > deadline:
            return record
        await caller.next_change(0.2)


def check_worker_log(stack: BenchStack) -> None:
    """Say so when the worker logged errors during the run: its figures may be off."""
    errors = [r for r in parse_log_records(stack.worker_log()) if r.get("level") == "ERROR"]
    if errors:
        first = f"{errors[0].get('logger')}: {errors[0].get('message')}"[:300]
        print(f"  worker logged {len(errors)} ERROR records, first: {first}", flush=True)


# --- command line -----------------------------------------------------------------------------


class VoiceBenchmark(Protocol):
    """A voice benchmark module: its options, their `--quick` values, and its run."""

    QUICK: dict[str, Any]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, run_dir: Path) -> Awaitable[None]: ...


def run_cli(benchmarks: dict[str, VoiceBenchmark], argv: list[str] | None = None) -> None:
    """Parse the options of these benchmarks (a command picks one, or "all" when there are
    several) and run them, each on a stack of its own, in a fresh temporary run directory."""
    parser = argparse.ArgumentParser(description="Voice benchmarks against the whole stack.")
    choices = [*benchmarks, "all"] if len(benchmarks) > 1 else list(benchmarks)
    if len(choices) > 1:
        parser.add_argument("command", choices=choices)
    parser.add_argument("--worker-env", action="append", default=[], metavar="KEY=VALUE",
                        help="change a worker setting for the run (repeatable)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="the smallest counts that still exercise every step")  # fmt: skip
    parser.add_argument("--mode", default="openai", choices=PRESETS,
                        help="provider preset of capacity")  # fmt: skip
    parser.add_argument("--presets", default=",".join(PRESETS),
                        help="provider presets of latency and join, in turn")  # fmt: skip
    add_timing_arguments(parser)
    add_output_arguments(parser)
    for module in benchmarks.values():
        module.add_arguments(parser)
    argv = sys.argv[1:] if argv is None else argv
    if "--quick" in argv:
        for module in benchmarks.values():
            parser.set_defaults(**module.QUICK)
    args = parser.parse_args(argv)
    args.worker_overrides = dict(item.split("=", 1) for item in args.worker_env)
    args.timings = timings_of(args)
    command = getattr(args, "command", choices[0])
    chosen = list(benchmarks.values()) if command == "all" else [benchmarks[command]]
    run_dir = Path(tempfile.mkdtemp(prefix=f"bench-voice-{command}-"))
    print(f"logs and raw figures: {run_dir}", flush=True)

    async def run_all() -> None:
        for module in chosen:
            await module.run(args, run_dir)

    asyncio.run(run_all())
