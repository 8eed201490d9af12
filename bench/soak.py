"""Soak: minutes of session churn and simultaneous voice conversations against one stack on
loopback, counting every error and following the memory of session-api and the worker.

    python bench/soak.py [--minutes 10] [--conversations 4] [--rate 5] [--write] [--doc PATH]

It starts its own stack on free loopback ports (`stack.py`, simulated cloud-class providers)
and runs two loads at once until the time is up, then stops by itself:

- session churn: `--rate` times a second, a client creates a session (`POST /api/voice/session`),
  reads it back and ends it (`DELETE`), up to 8 requests in flight. These sessions name an agent
  no worker serves (`soak-api`), so the churn exercises session-api, livekit-server (room,
  dispatch, deletion, webhooks) and Redis without starting a job per request;
- conversations: `--conversations` scripted callers at once, each holding a conversation with the
  real worker (greeting, then `--turns` spoken questions, each answer heard out), hanging up and
  starting the next, so job processes come and go all along.

An error is any unexpected HTTP status, a failed request, a conversation that fails or a turn
without an answer, and any ERROR line in the worker's or session-api's log.

Memory (RSS) of session-api, the worker's main process and its whole process tree,
livekit-server and Redis is sampled every few seconds. After the warm-up, a least-squares line
of each process's RSS over time gives its slope in MB per hour with a 95% confidence interval
(`stats.trend`: Student's t, the sample count shrunk for the residuals' autocorrelation). The
target: no slope distinguishable from zero (a bounded interval that holds 0) for session-api and
the worker's main process. The worker's process tree is also read idle before the soak and again
once the last conversation has hung up and its job processes have exited (`measure.tree_settled`,
bounded): the memory of the conversations is returned when it is back to its idle process count
and within 5% of its idle RSS.

`--quick` soaks for one minute with a 10 s warm-up. `--write` replaces the soak's section of
docs/benchmarks.md and its `soak` key of docs/benchmarks.json (or of `--doc`). Nothing here
gates CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from conversation import PACKAGES, converse
from machine import command_line
from measure import (
    BUSY_CORES,
    CpuMeter,
    CpuUse,
    TreeState,
    rss_bytes,
    this_program,
    tree,
    tree_settled,
)
from report import Output, add_output_arguments, header, save_raw, table, verdict
from stack import BenchStack, start_stack
from stats import Trend, median, ms, pct, trend

MARKER = "bench-voice-soak"
SAMPLE_SECONDS = 2.0
MIN_TREND_S = 30.0  # of samples after the warm-up, at least
SETTLE_S = 60.0  # bound of each wait for the worker's process tree to hold still
RETURNED = 0.05  # the worker's tree after the last conversation, at most this above idle
PROCESSES = {  # the key in docs/benchmarks.json: the name in the table
    "session_api": "session-api",
    "worker_main": "worker (main process)",
    "worker_tree": "worker (process tree)",
    "livekit_server": "livekit-server",
    "redis": "redis",
}
JUDGED = ("session_api", "worker_main")  # no slope distinguishable from zero: the target
QUICK = {"minutes": 1.0, "warmup": 10.0, "conversations": 1, "turns": 2, "rate": 2.0}
IN_FLIGHT = 8
CHURN_AGENT = "soak-api"
AGENTS = {
    "pm-agent": {"agent_name": "pm-agent"},
    CHURN_AGENT: {"agent_name": "soak-no-worker"},
}


@dataclass
class Tally:
    """What both loads did: counts of outcomes, and the errors themselves (the first few)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    request_seconds: list[float] = field(default_factory=list)
    voice_to_voice: list[float] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.outcomes["errors"] += 1
        if len(self.errors) < 20:
            self.errors.append(what)


async def churn_one(client: httpx.AsyncClient, tally: Tally, index: int) -> None:
    """Create, read and end one session; any other status than expected is an error."""
    started = time.monotonic()
    body = {"user_id": f"soak-{index % 50}", "agent_id": CHURN_AGENT}
    try:
        created = await client.post("/api/voice/session", json=body)
        if created.status_code != 201:
            tally.error(f"POST {created.status_code} {created.text[:200]}")
            return
        session_id = created.json()["session_id"]
        read = await client.get(f"/api/voice/session/{session_id}")
        ended = await client.delete(f"/api/voice/session/{session_id}")
    except httpx.HTTPError as exc:
        tally.error(f"request failed: {exc!r}")
        return
    for response, expected in ((read, 200), (ended, 200)):
        if response.status_code != expected:
            tally.error(f"{response.request.method} {response.status_code} {response.text[:200]}")
            return
    tally.outcomes["sessions churned"] += 1
    tally.request_seconds.append(time.monotonic() - started)


async def churn(api_url: str, rate: float, stop_at: float, tally: Tally) -> None:
    """`rate` churns a second, paced by the clock, never more than IN_FLIGHT at once."""
    limit = asyncio.Semaphore(IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()

    async def bounded(index: int) -> None:
        async with limit:
            await churn_one(client, tally, index)

    async with httpx.AsyncClient(base_url=api_url, timeout=10.0) as client:
        index, begin = 0, time.monotonic()
        while time.monotonic() < stop_at:
            if limit.locked():
                tally.outcomes[f"churn ticks skipped ({IN_FLIGHT} in flight)"] += 1
            else:
                task = asyncio.create_task(bounded(index))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            index += 1
            await asyncio.sleep(max(0.0, begin + index / rate - time.monotonic()))
        await asyncio.gather(*tasks)


async def conversations(
    stack: BenchStack, slot: int, turns: int, stop_at: float, tally: Tally
) -> None:
    """One caller after another in this slot until the time is up."""
    number = 0
    while time.monotonic() < stop_at:
        number += 1
        user = f"soak-caller-{slot}-{number}-{secrets.token_hex(2)}"
        try:
            results = await converse(
                stack.api_url, user, turns, start_delay=slot * 1.5, frame_ms=40
            )
        except Exception as exc:  # a failed conversation is counted, and the next one starts
            tally.error(f"conversation {user}: {exc!r}"[:300])
            continue
        answered = [r for r in results if r.worker_v2v is not None]
        if len(results) < turns or len(answered) < turns:
            tally.error(f"conversation {user}: {len(answered)} of {turns} turns answered")
        tally.outcomes["conversations"] += 1
        tally.outcomes["turns"] += len(results)
        tally.voice_to_voice += [r.measured for r in results]


@dataclass
class MemoryTrace:
    """RSS samples: (seconds since the start, {process: bytes})."""

    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)

    def trend(self, name: str, after: float) -> Trend:
        """The line of `name`'s RSS over the samples from `after` on, in MB per hour."""
        kept = [(t, s[name]) for t, s in self.samples if t >= after]
        return trend([t for t, _ in kept], [b for _, b in kept]).scaled(3600 / 1e6)

    def median_mb(self, name: str, after: float) -> float:
        return median(s[name] for t, s in self.samples if t >= after) / 1e6


async def sample_memory(stack: BenchStack, began: float, stop_at: float) -> MemoryTrace:
    worker = stack.pid("worker")
    trace = MemoryTrace()
    while time.monotonic() < stop_at:
        worker_tree = tree(worker)
        trace.samples.append(
            (
                time.monotonic() - began,
                {
                    "session_api": rss_bytes(tree(stack.pid("session-api"))),
                    "worker_main": rss_bytes(worker_tree[:1]),
                    "worker_tree": rss_bytes(worker_tree),
                    "livekit_server": rss_bytes(tree(stack.pid("livekit-server"))),
                    "redis": rss_bytes(tree(stack.pid("redis-server"))),
                },
            )
        )
        await asyncio.sleep(SAMPLE_SECONDS)
    return trace


@dataclass
class WorkerReturn:
    """The worker's process tree idle before the soak, and once more after the last
    conversation hung up and its job processes exited."""

    idle: TreeState
    idle_main: int
    end: TreeState
    end_main: int

    @property
    def change(self) -> float:
        return self.end.rss / self.idle.rss - 1 if self.idle.rss else float("nan")

    @property
    def returned(self) -> bool:
        back = self.end.settled and len(self.end.procs) <= len(self.idle.procs)
        return back and self.change <= RETURNED


def log_errors(stack: BenchStack) -> list[str]:
    """ERROR lines (JSON logs) of the worker and session-api, and tracebacks."""
    found = []
    for role, proc in stack.roles().items():
        if role not in ("worker", "session-api"):
            continue
        for line in proc.log_text().splitlines():
            try:
                level = str(json.loads(line).get("level", "")).upper()
            except (json.JSONDecodeError, AttributeError):
                level = "TRACEBACK" if line.startswith("Traceback") else ""
            if level in ("ERROR", "CRITICAL", "TRACEBACK"):
                found.append(f"{role}: {line[:300]}")
    return found


@dataclass
class SoakResult:
    minutes: float
    rate: float
    conversation_slots: int
    turns: int
    warmup: float  # seconds left out of the memory trends
    tally: Tally
    memory: MemoryTrace
    worker: WorkerReturn
    load: CpuUse  # "this run": this program, the stack and the job processes
    log_errors: list[str]
    date: str = field(default_factory=lambda: f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")

    def trends(self) -> dict[str, Trend]:
        """Each process's RSS over time after the warm-up, MB per hour."""
        return {name: self.memory.trend(name, self.warmup) for name in PROCESSES}

    @property
    def busy(self) -> bool:
        return self.load.others_cores > BUSY_CORES


async def run_soak(args: argparse.Namespace, run_dir: Path) -> SoakResult:
    stack = start_stack(
        run_dir,
        preset="openai",
        api_overrides={"AGENTS": json.dumps(AGENTS), "LOG_LEVEL": "info"},
    )
    try:
        worker = stack.pid("worker")
        idle = await tree_settled(worker, limit_s=SETTLE_S)
        idle_main = rss_bytes(idle.procs[:1])
        tally = Tally()
        meter = CpuMeter({"this run": this_program()})
        began = time.monotonic()
        stop_at = began + args.minutes * 60
        print(f"soak for {args.minutes} min: {stack.api_url}", flush=True)
        memory_task = asyncio.create_task(sample_memory(stack, began, stop_at))
        await asyncio.gather(
            churn(stack.api_url, args.rate, stop_at, tally),
            *(
                conversations(stack, slot, args.turns, stop_at, tally)
                for slot in range(args.conversations)
            ),
        )
        memory = await memory_task
        load = meter.stop()
        # the last conversation has hung up: its job process exits, the pool refills
        end = await tree_settled(worker, most=len(idle.procs), limit_s=SETTLE_S)
        returned = WorkerReturn(idle, idle_main, end, rss_bytes(end.procs[:1]))
        return SoakResult(
            args.minutes,
            args.rate,
            args.conversations,
            args.turns,
            args.warmup,
            tally,
            memory,
            returned,
            load,
            log_errors(stack),
        )
    finally:
        stack.stop()


def mb_per_hour(value: float, unit: str = "") -> str:
    """A slope or a bound of its interval; an infinite bound (too few independent samples) as
    "unbounded"."""
    return f"{value:+.1f}{unit}" if math.isfinite(value) else "unbounded"


def slope_verdict(t: Trend) -> str:
    if not t.bounded:
        return "too few independent samples to tell"
    if t.flat:
        return "no slope distinguishable from zero"
    return "grows" if t.slope > 0 else "shrinks"


def no_slope(t: Trend) -> bool:
    """The target: a bounded interval that holds 0."""
    return t.bounded and t.flat


def memory_table(result: SoakResult) -> list[str]:
    rows = [
        [
            label,
            f"{result.memory.median_mb(name, result.warmup):.0f}",
            mb_per_hour(t.slope),
            f"{mb_per_hour(t.low)} to {mb_per_hour(t.high)}",
            f"{t.samples} ({t.effective_samples:.0f})",
            slope_verdict(t),
        ]
        for (name, label), t in zip(PROCESSES.items(), result.trends().values(), strict=True)
    ]
    head = ["process", "RSS median (MB)", "slope (MB/h)", "95% CI (MB/h)"]
    return table([*head, "samples (effective)", "verdict"], rows)


def memory_lines(result: SoakResult) -> list[str]:
    """What holds of the trends and of the worker's memory after the last conversation."""
    trends, w = result.trends(), result.worker
    judged = {PROCESSES[name]: trends[name] for name in JUDGED}
    moving = [f"{name} {mb_per_hour(t.slope, ' MB/h')} ({mb_per_hour(t.low)} to "
              f"{mb_per_hour(t.high)}, {slope_verdict(t)})" for name, t in judged.items()
              if not no_slope(t)]  # fmt: skip
    bounds = ", ".join(f"{name} {mb_per_hour(t.high, ' MB/h')}" for name, t in judged.items())
    names = " and ".join(judged)
    lines = [
        f"- Memory: no slope distinguishable from zero for {names}: "
        f"{verdict(not moving)}{'' if not moving else ' (' + '; '.join(moving) + ')'}. "
        f"The upper bounds of their intervals are the fastest growth this run could have "
        f"missed: {bounds}.",
    ]
    back = (
        f"was back to {len(w.end.procs)} processes (idle: {len(w.idle.procs)}) and holding "
        f"still {w.end.waited:.0f} s later"
        if w.end.settled
        else f"still had {len(w.end.procs)} processes (idle: {len(w.idle.procs)}) or was still "
        f"moving {w.end.waited:.0f} s later"
    )
    lines.append(
        f"- Memory of the conversations returned: after the last of "
        f"{result.tally.outcomes['conversations']} conversations hung up, the worker's process "
        f"tree {back}, at {w.end.rss / 1e6:.0f} MB against {w.idle.rss / 1e6:.0f} MB idle before "
        f"the soak ({w.change:+.1%}; at most {RETURNED:+.0%} and back to the idle process count): "
        f"{verdict(w.returned)}. Its main process: {w.idle_main / 1e6:.0f} MB idle before, "
        f"{w.end_main / 1e6:.0f} MB after."
    )
    return lines


def soak_section(result: SoakResult, command: str) -> str:
    """The section, every figure (durations, rates, thresholds too) from the run."""
    tally = result.tally
    errors = tally.outcomes["errors"] + len(result.log_errors)
    busy = " **A busy machine: other work took CPU during the soak.**" if result.busy else ""
    lines = [
        "## Soak: session churn and conversations together",
        "",
        f"{result.minutes:g} minutes against one stack on loopback (simulated cloud-class "
        f"providers): {result.rate:g} sessions a second created, read and ended (an agent no "
        f"worker serves, so no job starts for them), and {result.conversation_slots} "
        f"conversations at once with the real worker, each a greeting and {result.turns} spoken "
        "questions, one caller after another. Memory is RSS sampled every "
        f"{SAMPLE_SECONDS:g} s. After {result.warmup:g} s of warm-up, a least-squares line of "
        "each process's RSS over time gives its slope, with a 95% confidence interval (Student's "
        "t; the sample count shrunk for the residuals' lag-1 autocorrelation, as memory moves in "
        "steps and stays there: the effective count is shown). A slope whose interval holds "
        "zero is not distinguishable from zero; too few effective samples leave the interval "
        "unbounded, and then the run tells nothing about that process. The worker's process "
        "tree is also read idle before the soak and once more after the last conversation hung "
        "up, once its job processes have exited and it holds still (at most "
        f"{SETTLE_S:g} s). These figures gate nothing.",
        "",
        *header(command, PACKAGES, ["livekit-server", "redis-server"]),
        f"- Machine load during the soak: {result.load.machine_cores:.2f} cores busy, "
        f"{result.load.cores('this run'):.2f} of them this run's processes, "
        f"{result.load.others_cores:.2f} other work.{busy}",
        "",
        *table(
            ["outcome", "count"],
            [[name, str(count)] for name, count in sorted(tally.outcomes.items())]
            + [["ERROR lines in the worker's and session-api's logs", str(len(result.log_errors))]],
        ),
        "",
        f"Churn: create + read + end p50 {ms(pct(tally.request_seconds, 50))} ms, p99 "
        f"{ms(pct(tally.request_seconds, 99))} ms. Conversations: voice to voice p50 "
        f"{ms(pct(tally.voice_to_voice, 50))} ms, p95 {ms(pct(tally.voice_to_voice, 95))} ms.",
        "",
        *memory_table(result),
        "",
        f"- Errors: {errors} ({verdict(errors == 0)}: zero).",
        *memory_lines(result),
        "- livekit-server and Redis are shown for reference; Redis grows by design, as every "
        "session record and transcript is kept for `SESSION_RETENTION_DAYS`.",
    ]
    if tally.errors or result.log_errors:
        lines += ["", "First errors:", "", "```", *tally.errors, *result.log_errors[:10], "```"]
    return "\n".join(lines)


def bound(value: float) -> float | None:
    """JSON has no infinity: an unbounded end is null."""
    return round(value, 2) if math.isfinite(value) else None


def figures(result: SoakResult, command: str) -> dict[str, Any]:
    """What docs/benchmarks.json keeps of the soak (MB, MB per hour, milliseconds)."""
    trends, w = result.trends(), result.worker
    tally = result.tally
    return {
        "command": command,
        "date": result.date,
        "minutes": result.minutes,
        "churn_sessions_per_second": result.rate,
        "conversation_slots": result.conversation_slots,
        "turns_per_conversation": result.turns,
        "warmup_s": result.warmup,
        "sample_s": SAMPLE_SECONDS,
        "machine_load": {
            "busy_cores": round(result.load.machine_cores, 2),
            "this_run_cores": round(result.load.cores("this run"), 2),
            "other_work_cores": round(result.load.others_cores, 2),
            "busy_machine": result.busy,
        },
        "outcomes": dict(tally.outcomes),
        "errors": tally.outcomes["errors"] + len(result.log_errors),
        "churn_ms": {f"p{q}": bound(1000 * pct(tally.request_seconds, q)) for q in (50, 99)},
        "voice_to_voice_ms": {
            f"p{q}": bound(1000 * pct(tally.voice_to_voice, q)) for q in (50, 95)
        },
        "slope_mb_per_hour": {name: bound(t.slope) for name, t in trends.items()},
        "slope_ci95_mb_per_hour": {
            name: [bound(t.low), bound(t.high)] for name, t in trends.items()
        },
        "slope_samples": {
            name: {"samples": t.samples, "effective": round(t.effective_samples, 1)}
            for name, t in trends.items()
        },
        "slope_verdict": {name: slope_verdict(t) for name, t in trends.items()},
        "no_slope": {name: no_slope(t) for name, t in trends.items()},
        "no_slope_target": list(JUDGED),
        "no_slope_target_met": all(no_slope(trends[name]) for name in JUDGED),
        "worker_after_last_conversation": {
            "idle_processes": len(w.idle.procs),
            "idle_rss_mb": round(w.idle.rss / 1e6, 1),
            "idle_main_rss_mb": round(w.idle_main / 1e6, 1),
            "end_processes": len(w.end.procs),
            "end_rss_mb": round(w.end.rss / 1e6, 1),
            "end_main_rss_mb": round(w.end_main / 1e6, 1),
            "waited_s": round(w.end.waited, 1),
            "settled": w.end.settled,
            "change": round(w.change, 4),
            "returned": w.returned,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="minutes of load (a slope needs many samples)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=5.0, help="sessions churned per second")
    parser.add_argument("--conversations", type=int, default=4, help="simultaneous callers")
    parser.add_argument("--turns", type=int, default=4, help="questions per conversation")
    parser.add_argument(
        "--warmup", type=float, default=60.0, help="seconds left out of the memory trends"
    )
    add_output_arguments(parser, QUICK)
    args = parser.parse_args()
    if args.minutes * 60 < args.warmup + MIN_TREND_S:
        parser.error(f"--minutes must leave {MIN_TREND_S:g} s of samples after the warm-up")
    run_dir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    print(f"logs: {run_dir}", flush=True)
    result = asyncio.run(run_soak(args, run_dir))
    command = command_line()
    body, figs = soak_section(result, command), figures(result, command)
    print(body)
    out = Output.of(args)
    if out is not None:
        out.write_section(MARKER, body)
        out.write_json("soak", figs)
    save_raw(run_dir, "soak", {"samples": result.memory.samples, "figures": figs})


if __name__ == "__main__":
    main()
