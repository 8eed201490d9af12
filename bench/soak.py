"""Soak: minutes of session churn and simultaneous voice conversations against one stack on
loopback, counting every error and watching the memory of session-api and the worker.

    python bench/soak.py [--minutes 6] [--conversations 4] [--rate 5] [--write]

It starts its own stack on free loopback ports (`voice_stack.py`, simulated cloud-class
providers) and runs two loads at once until the time is up, then stops by itself:

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
the median of the last (no leak: at most 10% growth). Nothing here gates CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from voice import converse, header, pct, write_section  # noqa: E402
from voice_stack import VoiceStack, process_tree, rss_bytes, start_voice_stack  # noqa: E402

SAMPLE_SECONDS = 5.0
WARMUP_SECONDS = 60.0
WINDOW_SECONDS = 60.0  # the first and the last minute after warm-up are compared
FLAT = 0.10
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
                tally.outcomes["churn ticks skipped (8 in flight)"] += 1
            else:
                task = asyncio.create_task(bounded(index))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            index += 1
            await asyncio.sleep(max(0.0, begin + index / rate - time.monotonic()))
        await asyncio.gather(*tasks)


async def conversations(
    stack: VoiceStack, slot: int, turns: int, stop_at: float, tally: Tally
) -> None:
    """One caller after another in this slot until the time is up."""
    number = 0
    while time.monotonic() < stop_at:
        number += 1
        user = f"soak-caller-{slot}-{number}-{secrets.token_hex(2)}"
        try:
            results = await converse(stack, user, turns, start_delay=slot * 1.5, frame_ms=40)
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
        values = [s[name] for t, s in self.samples if begin <= t < end]
        return statistics.median(values) if values else float("nan")


async def sample_memory(stack: VoiceStack, began: float, stop_at: float) -> MemoryTrace:
    assert stack.worker is not None
    named = {p.name: p.pid for p in stack.processes if p is not stack.worker}
    api = next(pid for name, pid in named.items() if name.startswith("session-api"))
    livekit = next(pid for name, pid in named.items() if name.startswith("livekit"))
    redis = next(pid for name, pid in named.items() if name.startswith("redis"))
    trace = MemoryTrace()
    while time.monotonic() < stop_at:
        trace.samples.append(
            (
                time.monotonic() - began,
                {
                    "session-api": rss_bytes(process_tree(api)),
                    "worker (main process)": rss_bytes([stack.worker.pid]),
                    "worker (process tree)": rss_bytes(process_tree(stack.worker.pid)),
                    "livekit-server": rss_bytes([livekit]),
                    "redis": rss_bytes([redis]),
                },
            )
        )
        await asyncio.sleep(SAMPLE_SECONDS)
    return trace


def log_errors(stack: VoiceStack) -> list[str]:
    """ERROR lines (JSON logs) of the worker and session-api, and tracebacks."""
    found = []
    for proc in stack.processes:
        if not (proc.name.startswith("worker") or proc.name.startswith("session-api")):
            continue
        for line in proc.log_text().splitlines():
            try:
                level = str(json.loads(line).get("level", "")).upper()
            except (json.JSONDecodeError, AttributeError):
                level = "TRACEBACK" if line.startswith("Traceback") else ""
            if level in ("ERROR", "CRITICAL", "TRACEBACK"):
                found.append(f"{proc.name}: {line[:300]}")
    return found


@dataclass
class SoakResult:
    minutes: float
    rate: float
    conversation_slots: int
    turns: int
    tally: Tally
    memory: MemoryTrace
    log_errors: list[str]

    def memory_rows(self) -> list[tuple[str, float, float, float]]:
        """(process, MB in the first minute after warm-up, MB in the last minute, change)."""
        end = self.memory.samples[-1][0] if self.memory.samples else 0.0
        rows = []
        for name in self.memory.samples[0][1] if self.memory.samples else {}:
            first = self.memory.window(name, WARMUP_SECONDS, WARMUP_SECONDS + WINDOW_SECONDS)
            last = self.memory.window(name, end - WINDOW_SECONDS, end + 1)
            rows.append((name, first / 1e6, last / 1e6, last / first - 1))
        return rows


async def run_soak(args: argparse.Namespace, run_dir: Path) -> SoakResult:
    stack = start_voice_stack(
        "cloud",
        run_dir,
        transcript="How are the projects going?",
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
            tally,
            memory,
            log_errors(stack),
        )
    finally:
        stack.stop()


def soak_section(result: SoakResult, command: str) -> str:
    tally = result.tally
    errors = tally.outcomes["errors"] + len(result.log_errors)
    rows = result.memory_rows()
    judged = [row for row in rows if row[0].startswith(("session-api", "worker"))]
    flat = all(change <= FLAT for _, _, _, change in judged)
    requests = tally.request_seconds
    lines = [
        "## Soak: session churn and conversations together",
        "",
        f"{result.minutes:g} minutes against one stack on loopback (simulated cloud-class "
        f"providers): {result.rate:g} sessions a second created, read and ended (an agent no "
        f"worker serves, so no job starts for them), and {result.conversation_slots} "
        f"conversations at once with the real worker, each a greeting and {result.turns} spoken "
        "questions, one caller after another. Memory is RSS sampled every "
        f"{SAMPLE_SECONDS:g} s; the first {WARMUP_SECONDS:g} s are warm-up, then the median of "
        "the first minute is compared with the median of the last. These figures gate nothing.",
        "",
        *header(command),
        "",
        "| outcome | count |",
        "|---|---:|",
        *(f"| {name} | {count} |" for name, count in sorted(tally.outcomes.items())),
        f"| ERROR lines in the worker's and session-api's logs | {len(result.log_errors)} |",
        "",
        f"Churn: create + read + end p50 {pct(requests, 50) * 1000:.0f} ms, p99 "
        f"{pct(requests, 99) * 1000:.0f} ms. Conversations: voice to voice p50 "
        f"{pct(tally.voice_to_voice, 50) * 1000:.0f} ms, p95 "
        f"{pct(tally.voice_to_voice, 95) * 1000:.0f} ms.",
        "",
        "| process | RSS first minute (MB) | RSS last minute (MB) | change |",
        "|---|---:|---:|---:|",
        *(f"| {n} | {a:.0f} | {b:.0f} | {c:+.1%} |" for n, a, b, c in rows),
        "",
        f"- Errors: {errors} ({'met' if errors == 0 else '**not met**'}: zero).",
        f"- Memory of session-api and the worker grows by at most {FLAT:.0%} from the first "
        f"minute after warm-up to the last (a leak grows; a fall is the allocator returning "
        f"memory): {'met' if flat else '**not met**'}. livekit-server and Redis are shown for "
        "reference; Redis grows by design, as every session record and transcript is kept for "
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
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if args.minutes * 60 < WARMUP_SECONDS + 2 * WINDOW_SECONDS:
        parser.error(f"--minutes must leave two {WINDOW_SECONDS:g} s windows after the warm-up")
    run_dir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    print(f"logs: {run_dir}", flush=True)
    result = asyncio.run(run_soak(args, run_dir))
    body = soak_section(result, "python bench/soak.py " + " ".join(sys.argv[1:]))
    print(body)
    if args.write:
        write_section("soak", body)
    (run_dir / "soak.json").write_text(
        json.dumps({"samples": result.memory.samples, "outcomes": result.tally.outcomes})
    )


if __name__ == "__main__":
    main()
