"""Agent join and time to greeting: one session at a time, from the POST that creates it to the
agent joining the room (the server's `joined_at`, and as the caller saw it) and to the first agent
audio at the caller (the greeting).

    python bench/agent_join.py [--presets local,openai,sarvam] [--join-sessions 30] [--write]

`--quick` runs three sessions. Part of `python bench/voice.py all`.
"""

from __future__ import annotations

import argparse
import copy
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from conversation import PACKAGES, WAIT, check_worker_log, run_cli
from machine import command_line
from measure import CpuMeter, CpuUse, this_program
from report import Output, header, plot_cdfs, save_raw, table, verdict
from stack import VoiceCaller, start_stack
from stats import ms, pct

from voice_agent.log_messages import JOB_STARTED
from voice_common.logs import find_log_records

MARKER = "bench-voice-join"
JOIN_P95_MS = 300.0
GREETING_P95_MS = {"openai": 700.0}  # preset -> target
LLM_GREETING = {"PREPARED_GREETING": "false"}  # the greeting as it was: written by the LLM
QUICK = {"join_sessions": 3}


@dataclass
class JoinResult:
    join_server: float | None  # POST sent -> the agent's joined_at on the server
    join_seen: float  # POST sent -> the caller saw the agent in the room
    greeting: float  # POST sent -> first agent audio at the caller
    post: float  # POST round trip
    connect: float  # POST answered -> room.connect() returned
    session_id: str = ""
    posted_wall: float = 0.0
    job_started: float | None = None  # POST sent -> the worker's "job started" log line


async def run_join(
    mode: str, sessions: int, run_dir: Path, args: argparse.Namespace
) -> tuple[list[JoinResult], CpuUse]:
    stack = start_stack(
        run_dir, preset=mode, timings=args.timings, worker_overrides=args.worker_overrides
    )
    results: list[JoinResult] = []
    try:
        meter = CpuMeter({"this run": this_program()})
        for index in range(sessions):
            user = f"bench-join-{index}-{secrets.token_hex(3)}"
            async with VoiceCaller.connect(stack.api_url, user, keep_audio=False) as caller:
                await caller.wait_for_agent(WAIT)
                first = await caller.wait_for(partial(first_sound, caller), WAIT, "greeting")
                server = (
                    caller.agent_joined_server_ms / 1000 - caller.posted_wall
                    if caller.agent_joined_server_ms
                    else None
                )
                results.append(
                    JoinResult(
                        join_server=server,
                        join_seen=(caller.agent_joined_at or 0) - caller.posted_at,
                        greeting=first - caller.posted_at,
                        post=caller.created_at - caller.posted_at,
                        connect=caller.connected_at - caller.created_at,
                        session_id=caller.session_id,
                        posted_wall=caller.posted_wall,
                    )
                )
                await caller.wait_quiet(0.3, WAIT)
            print(f"  session {index + 1}/{sessions}", flush=True)
        load = meter.stop()
        check_worker_log(stack)
        started = job_start_times(stack.worker_log())
        for result in results:
            if result.session_id in started:
                result.job_started = started[result.session_id] - result.posted_wall
    finally:
        stack.stop()
    return results, load


def first_sound(caller: VoiceCaller) -> float | None:
    """When the caller first heard the agent, if it has."""
    return caller.loud_times[0] if caller.loud_times else None


def job_start_times(log: str) -> dict[str, float]:
    """session id -> wall time of the worker's "job started" record (its timestamp)."""
    return {
        str(record["session_id"]): datetime.fromisoformat(record["ts"]).timestamp()
        for record in find_log_records(log, JOB_STARTED)
    }


@dataclass
class JoinRun:
    preset: str
    results: list[JoinResult]
    load: CpuUse

    def greeting_ms(self) -> dict[str, float]:
        values = [r.greeting for r in self.results]
        return {
            "p50_ms": round(pct(values, 50) * 1000, 1),
            "p95_ms": round(pct(values, 95) * 1000, 1),
        }


def _row(name: str, values: list[float | None]) -> list[str]:
    clean = [v for v in values if v is not None]
    if not clean:
        return [name, "n/a", "n/a", "n/a"]
    return [name, ms(pct(clean, 50)), ms(pct(clean, 95)), ms(max(clean))]


def join_rows(results: list[JoinResult]) -> list[list[str]]:
    return [
        _row("its answer (201)", [r.post for r in results]),
        _row("the caller connected to the room (from the 201)", [r.connect for r in results]),
        _row(
            "the job started in a worker process (its log line)", [r.job_started for r in results]
        ),  # fmt: skip
        _row("**agent joined** (server's joined_at)", [r.join_server for r in results]),
        _row("agent seen by the caller", [r.join_seen for r in results]),
        _row("**first agent audio at the caller** (greeting)", [r.greeting for r in results]),
    ]


def join_section(runs: list[JoinRun], command: str, plot: str | None) -> str:
    lines = [
        "## Agent join and time to greeting",
        "",
        "One session at a time: the caller POSTs `/api/voice/session`, joins with the token at "
        "once, and waits for the agent's greeting; it leaves once the greeting has played. "
        "Times from the moment the POST was sent. The agent's join is read from the server's "
        "`joined_at` of the agent participant (millisecond wall clock, same machine) and from "
        "when the caller first saw it (a participant update that reaches the caller after the "
        "agent's own join completes). The worker runs in production mode (`start`), which keeps "
        "one prewarmed idle job process per CPU. These figures gate nothing.",
        "",
        *header(command, PACKAGES, ["livekit-server"]),
    ]
    for run in runs:
        lines.append(
            f"- `{run.preset}`: {len(run.results)} sessions, a new user each. During the run the "
            f"machine was busy {run.load.machine_cores:.2f} cores, "
            f"{run.load.cores('this run'):.2f} of them this run's processes"
        )
    for run in runs:
        lines += ["", f"`{run.preset}`, from the POST to:", ""]
        lines += table(["", "p50 ms", "p95 ms", "max ms"], join_rows(run.results))
    if plot:
        lines += ["", f"![join and greeting latency]({plot})"]
    lines += ["", "### Against the targets", ""]
    for run in runs:
        join95 = pct((r.join_server for r in run.results), 95)
        greet95 = pct((r.greeting for r in run.results), 95)
        target = GREETING_P95_MS.get(run.preset)
        text = (
            f"- `{run.preset}`: agent join p95 {ms(join95)} ms against {JOIN_P95_MS:.0f} ms: "
            f"{verdict(join95 * 1000 < JOIN_P95_MS)}; time to greeting p95 {ms(greet95)} ms"
        )
        if target is not None:
            text += f" against {target:.0f} ms: {verdict(greet95 * 1000 <= target)}"
        lines.append(text + ".")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("join")
    group.add_argument("--join-sessions", type=int, default=30, help="sessions, one at a time")


async def run(args: argparse.Namespace, run_dir: Path) -> None:
    runs = []
    for preset in args.presets.split(","):
        print(f"join, {preset} preset", flush=True)
        results, load = await run_join(preset, args.join_sessions, run_dir / f"join-{preset}", args)
        runs.append(JoinRun(preset, results, load))
    if "openai" in args.presets.split(","):  # what the prepared greeting buys
        print("join, openai preset, the LLM writing the greeting", flush=True)
        llm_args = copy.copy(args)
        llm_args.worker_overrides = {**args.worker_overrides, **LLM_GREETING}
        results, load = await run_join(
            "openai", args.join_sessions, run_dir / "join-openai-llm-greeting", llm_args
        )
        runs.append(JoinRun("openai, LLM greeting", results, load))
    save_raw(run_dir, "join", runs)
    command = command_line()
    out = Output.of(args)
    plot = None
    if out is not None:
        path, link = out.image("voice-join.png")
        series = {f"{run.preset}: greeting heard": [r.greeting * 1000 for r in run.results]
                  for run in runs}  # fmt: skip
        for run in runs[:1]:
            series["agent joined (server)"] = [
                r.join_server * 1000 for r in run.results if r.join_server
            ]
        targets = {"agent joined (server)": JOIN_P95_MS}
        targets |= {f"{p}: greeting heard": t for p, t in GREETING_P95_MS.items()}
        plotted = plot_cdfs(series, targets, "ms after POST /api/voice/session", path)
        plot = link if plotted else None
    body = join_section(runs, command, plot)
    print(body)
    if out is not None:
        out.write_section(MARKER, body)
        greeting = {
            run.preset.replace(", LLM greeting", "_llm_greeting"): {
                "command": command,
                "sessions": len(run.results),
                "machine_busy_cores": round(run.load.machine_cores, 2),
                **run.greeting_ms(),
            }
            for run in runs
        }
        out.merge_json("greeting", greeting)


if __name__ == "__main__":
    import sys

    run_cli({"join": sys.modules[__name__]})
