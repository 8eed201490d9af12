"""Soak: minutes of session churn and simultaneous voice conversations against one stack on
loopback, counting every error and watching the memory of session-api and the worker.

    python bench/soak.py [--minutes 6] [--conversations 4] [--rate 5] [--write] [--doc PATH]

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
without an answer, and any ERROR line in the worker's or session-api's log. Memory (RSS) of
session-api, the worker's main process and its whole process tree, livekit-server and Redis is
sampled every few seconds; after the warm-up, the median of the first minute is compared with
the median of the last (no leak: at most 10% growth). `--quick` soaks for one minute with a
10 s warm-up and 20 s windows. Nothing here gates CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from conversation import PACKAGES, converse
from machine import command_line
from measure import rss_bytes, tree
from report import Output, add_output_arguments, header, save_raw, table, verdict
from stack import BenchStack, start_stack
from stats import median, ms, pct

MARKER = "bench-voice-soak"
SAMPLE_SECONDS = 5.0
FLAT = 0.10
QUICK = {"minutes": 1.0, "warmup": 10.0, "window": 20.0, "conversations": 1, "turns": 2,
         "rate": 2.0}  # fmt: skip
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

    def window(self, name: str, begin: float, end: float) -> float:
        return median(s[name] for t, s in self.samples if begin <= t < end)


async def sample_memory(stack: BenchStack, began: float, stop_at: float) -> MemoryTrace:
    worker = stack.pid("worker")
    trace = MemoryTrace()
    while time.monotonic() < stop_at:
        worker_tree = tree(worker)
        trace.samples.append(
            (
                time.monotonic() - began,
                {
                    "session-api": rss_bytes(tree(stack.pid("session-api"))),
                    "worker (main process)": rss_bytes(worker_tree[:1]),
                    "worker (process tree)": rss_bytes(worker_tree),
                    "livekit-server": rss_bytes(tree(stack.pid("livekit-server"))),
                    "redis": rss_bytes(tree(stack.pid("redis-server"))),
                },
            )
        )
        await asyncio.sleep(SAMPLE_SECONDS)
    return trace


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
    warmup: float  # seconds left out before the first window
    window: float  # seconds of the first and the last window compared
    tally: Tally
    memory: MemoryTrace
    log_errors: list[str]

    def memory_rows(self) -> list[tuple[str, float, float, float]]:
        """(process, MB in the first window after warm-up, MB in the last window, change)."""
        end = self.memory.samples[-1][0] if self.memory.samples else 0.0
        rows = []
        for name in self.memory.samples[0][1] if self.memory.samples else {}:
            first = self.memory.window(name, self.warmup, self.warmup + self.window)
            last = self.memory.window(name, end - self.window, end + 1)
            rows.append((name, first / 1e6, last / 1e6, last / first - 1))
        return rows


async def run_soak(args: argparse.Namespace, run_dir: Path) -> SoakResult:
    stack = start_stack(
        run_dir,
        preset="openai",
        api_overrides={"AGENTS": json.dumps(AGENTS), "LOG_LEVEL": "info"},
    )
    try:
        tally = Tally()
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
        # what the last conversations and deletions logged
        await asyncio.sleep(2.0)
        return SoakResult(
            args.minutes,
            args.rate,
            args.conversations,
            args.turns,
            args.warmup,
            args.window,
            tally,
            memory,
            log_errors(stack),
        )
    finally:
        stack.stop()


def soak_section(result: SoakResult, command: str) -> str:
    """The section, every figure (durations, rates, thresholds too) from the run."""
    tally = result.tally
    errors = tally.outcomes["errors"] + len(result.log_errors)
    rows = result.memory_rows()
    judged = [row for row in rows if row[0].startswith(("session-api", "worker"))]
    flat = all(change <= FLAT for _, _, _, change in judged)
    window = f"{result.window:g} s" if result.window != 60 else "minute"
    lines = [
        "## Soak: session churn and conversations together",
        "",
        f"{result.minutes:g} minutes against one stack on loopback (simulated cloud-class "
        f"providers): {result.rate:g} sessions a second created, read and ended (an agent no "
        f"worker serves, so no job starts for them), and {result.conversation_slots} "
        f"conversations at once with the real worker, each a greeting and {result.turns} spoken "
        "questions, one caller after another. Memory is RSS sampled every "
        f"{SAMPLE_SECONDS:g} s; the first {result.warmup:g} s are warm-up, then the median of "
        f"the first {window} is compared with the median of the last. These figures gate "
        "nothing.",
        "",
        *header(command, PACKAGES, ["livekit-server", "redis-server"]),
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
        *table(
            ["process", f"RSS first {window} (MB)", f"RSS last {window} (MB)", "change"],
            [[n, f"{a:.0f}", f"{b:.0f}", f"{c:+.1%}"] for n, a, b, c in rows],
        ),
        "",
        f"- Errors: {errors} ({verdict(errors == 0)}: zero).",
        f"- Memory of session-api and the worker grows by at most {FLAT:.0%} from the first "
        f"{window} after warm-up to the last (a leak grows; a fall is the allocator returning "
        f"memory): {verdict(flat)}. livekit-server and Redis are shown for reference; Redis "
        "grows by design, as every session record and transcript is kept for "
        "`SESSION_RETENTION_DAYS`.",
    ]
    if tally.errors or result.log_errors:
        lines += ["", "First errors:", "", "```", *tally.errors, *result.log_errors[:10], "```"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--rate", type=float, default=5.0, help="sessions churned per second")
    parser.add_argument("--conversations", type=int, default=4, help="simultaneous callers")
    parser.add_argument("--turns", type=int, default=4, help="questions per conversation")
    parser.add_argument(
        "--warmup", type=float, default=60.0, help="seconds before the first window"
    )
    parser.add_argument("--window", type=float, default=60.0, help="seconds of each memory window")
    add_output_arguments(parser, QUICK)
    args = parser.parse_args()
    if args.minutes * 60 < args.warmup + 2 * args.window:
        parser.error(f"--minutes must leave two {args.window:g} s windows after the warm-up")
    run_dir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    print(f"logs: {run_dir}", flush=True)
    result = asyncio.run(run_soak(args, run_dir))
    body = soak_section(result, command_line())
    print(body)
    out = Output.of(args)
    if out is not None:
        out.write_section(MARKER, body)
    save_raw(run_dir, "soak", {"samples": result.memory.samples, "outcomes": result.tally.outcomes})


if __name__ == "__main__":
    main()
