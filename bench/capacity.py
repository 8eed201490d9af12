"""Capacity: N simultaneous conversations on one worker, level after level, with voice to voice
p50/p95 and the CPU and memory (RSS and PSS of the worker's process tree) per conversation.

    python bench/capacity.py [--mode openai] [--levels 1,5,10,20] [--write]

The callers run in processes of `CALLERS_PER_PROCESS` (`callers.py`). `--quick` runs levels 1
and 2 with two turns each. Part of `python bench/voice.py all`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from callers import Shape, caller_process
from conversation import PACKAGES, TurnResult, check_worker_log, run_cli
from machine import command_line
from measure import (
    CpuMeter,
    of_tree,
    pss_bytes,
    reaped_children_seconds,
    rss_bytes,
    tree,
    tree_settled,
)
from report import Output, header, plot_capacity, save_raw, table, verdict
from stack import BenchStack, start_stack
from stats import ms, pct

MARKER = "bench-voice-capacity"
P95_RATIO = 1.15  # the last level's p95 against the single conversation's
MEMORY_PER_SESSION_MB = 150.0
CALLERS_PER_PROCESS = 5
CALLER_START_S = 3.0  # every caller process has imported and is waiting by then
LOAD_GENERATOR = "load generator (callers)"
QUICK = {"levels": "1,2", "capacity_turns": 2}


@dataclass
class CapacityLevel:
    sessions: int
    turns: list[TurnResult]
    worker_cpu: float  # cores used by the worker's process tree during the conversations
    others_cpu: dict[str, float]  # cores used by the other processes and the whole machine
    rss_idle: int
    rss_peak: int
    pss_idle: int
    pss_peak: int
    failed: int
    wall: float

    def per_session_mb(self, kind: str) -> float:
        """Growth from idle to peak per conversation, MB; `kind` is "rss" or "pss"."""
        if kind == "rss":
            return (self.rss_peak - self.rss_idle) / self.sessions / 1e6
        return (self.pss_peak - self.pss_idle) / self.sessions / 1e6


async def run_capacity(args: argparse.Namespace, run_dir: Path) -> tuple[list[CapacityLevel], int]:
    """Every level on one stack; the levels and the worker's MAX_CONCURRENT_JOBS."""
    stack = start_stack(
        run_dir, preset=args.mode, timings=args.timings, worker_overrides=args.worker_overrides
    )
    out: list[CapacityLevel] = []
    try:
        for level in (int(x) for x in args.levels.split(",")):
            turns = args.capacity_turns or (15 if level == 1 else max(3, 30 // level))
            shape = Shape(level, turns, args.cycle, args.arrival, args.frame_ms, 0.0)
            out.append(await capacity_level(stack, shape))
            last = out[-1]
            print(
                f"  {level} sessions: {len(last.turns)} turns, p95 "
                f"{ms(pct((t.measured for t in last.turns), 95))} ms, "
                f"worker {last.worker_cpu:.2f} cores",
                flush=True,
            )
        check_worker_log(stack)
    finally:
        stack.stop()
    return out, int(stack.worker_env["MAX_CONCURRENT_JOBS"])


async def capacity_level(stack: BenchStack, shape: Shape) -> CapacityLevel:
    """N conversations at once, their callers spread over subprocesses of this program."""
    assert stack.worker is not None
    worker_pid, sessions = stack.worker.pid, shape.concurrency
    others = {name: p.pid for name, p in stack.roles().items() if p is not stack.worker}
    idle_tree = tree(worker_pid)
    peak = {"rss": rss_bytes(idle_tree), "pss": pss_bytes(idle_tree)}
    rss_idle, pss_idle = peak["rss"], peak["pss"]
    sampling = True

    async def sample() -> None:
        while sampling:
            procs = tree(worker_pid)
            peak["rss"] = max(peak["rss"], rss_bytes(procs))
            peak["pss"] = max(peak["pss"], pss_bytes(procs))
            await asyncio.sleep(0.5)

    processes = -(-sessions // CALLERS_PER_PROCESS)
    timed = Shape(**{**shape.__dict__, "start_at": time.time() + CALLER_START_S})
    callers = asyncio.gather(
        *(
            caller_process(stack.api_url, list(range(first, sessions, processes)), timed)
            for first in range(processes)
        )
    )
    await asyncio.sleep(max(0.0, timed.start_at - time.time()))  # the callers' imports
    groups = {"worker": of_tree(worker_pid), **{n: of_tree(pid) for n, pid in others.items()}}
    meter = CpuMeter({**groups, LOAD_GENERATOR: reaped_children_seconds})
    sampler = asyncio.create_task(sample())
    outputs = await callers
    use = meter.stop()  # the caller processes' start-up counts for the load generator
    sampling = False
    await sampler
    results = [TurnResult(**turn) for out in outputs for turn in out["turns"]]
    failures = [f for out in outputs for f in out["failures"]]
    for failure in failures:
        print(f"  a conversation failed: {failure}", flush=True)
    others_cpu = {name: use.cores(name) for name in [*others, LOAD_GENERATOR]}
    others_cpu["whole machine"] = use.machine_cores
    # the job processes end (and their replacements load) before the next idle baseline
    await tree_settled(worker_pid, most=len(idle_tree), limit_s=45.0)
    return CapacityLevel(
        sessions=sessions,
        turns=results,
        worker_cpu=use.cores("worker"),
        others_cpu=others_cpu,
        rss_idle=rss_idle,
        rss_peak=peak["rss"],
        pss_idle=pss_idle,
        pss_peak=peak["pss"],
        failed=len(failures),
        wall=use.wall,
    )


# --- report -----------------------------------------------------------------------------------


def capacity_section(
    levels: list[CapacityLevel], args: argparse.Namespace, max_jobs: int, plot: str | None
) -> str:
    lines = [
        "## Capacity: simultaneous conversations on one worker",
        "",
        f"N callers at once against one worker (`MAX_CONCURRENT_JOBS={max_jobs}`), arriving "
        f"{args.arrival:g} s apart, in processes of {CALLERS_PER_PROCESS} (the rtc SDK hands "
        "every event of a process to every stream of that process, so its cost grows faster "
        "than linearly with the callers of one process), with "
        f"{args.frame_ms} ms microphone and playback frames (fewer rtc events per second for the "
        "callers; the same frame size at every level keeps the levels comparable). Each greets, "
        "then asks the bench question turn after turn, the first turns spread over "
        f"{args.cycle:g} s so they do not line up. CPU is the user + system time of each process "
        "tree over the conversations (psutil; job processes that ended count too), in cores "
        "(1.00 = one core busy); memory is the worker's process tree (the main process, its "
        "prewarmed idle job processes and one job process per conversation), idle before the "
        "level and at its peak (RSS; PSS counts shared pages once). These figures gate nothing.",
        "",
        *header(command_line(), PACKAGES, ["livekit-server"]),
        f"- Providers: `{args.mode}`, {args.timings.describe(args.mode)}",
        "",
    ]
    base95 = pct((t.measured for t in levels[0].turns), 95) if levels else float("nan")
    head = ["conversations", "turns", "failed", "voice to voice p50 ms", "p95 ms", "p95 vs one"]
    head += ["worker CPU, cores", "per conversation", "RSS idle -> peak MB"]
    head += ["RSS per conversation MB", "PSS per conversation MB"]
    rows = []
    for level in levels:
        values = [t.measured for t in level.turns]
        p95 = pct(values, 95)
        rows.append(
            [
                str(level.sessions),
                str(len(values)),
                str(level.failed),
                ms(pct(values, 50)),
                ms(p95),
                f"{p95 / base95:.2f}x",
                f"{level.worker_cpu:.2f}",
                f"{level.worker_cpu / level.sessions:.3f}",
                f"{level.rss_idle / 1e6:.0f} -> {level.rss_peak / 1e6:.0f}",
                f"{level.per_session_mb('rss'):.0f}",
                f"{level.per_session_mb('pss'):.0f}",
            ]
        )
    lines += table(head, rows, numeric_first=True)
    if levels:
        names = list(levels[0].others_cpu)
        lines += [
            "",
            "CPU of the other processes during each level, cores (the whole machine's busy time "
            "too: anything beyond the listed processes was other work on the machine):",
            "",
            *table(
                ["conversations", *names],
                [[str(lv.sessions), *(f"{lv.others_cpu[n]:.2f}" for n in names)] for lv in levels],
                numeric_first=True,
            ),
        ]
    stage_head = ["conversations", "end of turn", "STT", "LLM TTFT", "TTS TTFB"]
    stage_head += ["inside the worker", "outside"]
    stage_rows = []
    for level in levels:
        t = level.turns
        stage_rows.append(
            [
                str(level.sessions),
                *(
                    ms(pct(map(get, t), 95))
                    for get in (
                        lambda x: x.end_of_turn,
                        lambda x: x.stt,
                        lambda x: x.llm_ttft,
                        lambda x: x.tts_ttfb,
                        lambda x: x.inside_worker,
                        lambda x: x.outside_worker,
                    )
                ),
            ]
        )
    lines += ["", "Stages at each level, p95 ms:", ""]
    lines += table(stage_head, stage_rows, numeric_first=True)
    if plot:
        lines += ["", f"![capacity]({plot})"]
    if levels:
        last = levels[-1]
        p95_last = pct((t.measured for t in last.turns), 95)
        ratio = p95_last / base95
        mem = last.per_session_mb("rss")
        lines += [
            "",
            "### Against the targets",
            "",
            f"- {last.sessions} conversations: p95 {ms(p95_last)} ms, {ratio:.2f}x the single "
            f"conversation's {ms(base95)} ms, against at most {P95_RATIO:.2f}x: "
            f"{verdict(ratio <= P95_RATIO)}.",
            f"- Memory per conversation (RSS) {mem:.0f} MB against "
            f"{MEMORY_PER_SESSION_MB:.0f} MB: {verdict(mem < MEMORY_PER_SESSION_MB)}.",
        ]
    return "\n".join(lines)


# --- command line -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("capacity")
    group.add_argument("--levels", default="1,5,10,20", help="simultaneous conversations")
    group.add_argument("--capacity-turns", type=int, default=None,
                       help="turns per conversation (default: 15 alone, 30 / N at N)")  # fmt: skip
    group.add_argument("--cycle", type=float, default=7.0,
                       help="seconds over which the first turns are spread")  # fmt: skip
    group.add_argument("--arrival", type=float, default=0.5,
                       help="seconds between two callers' arrivals")  # fmt: skip
    group.add_argument("--frame-ms", type=int, default=40, help="the callers' audio frame (ms)")


async def run(args: argparse.Namespace, run_dir: Path) -> None:
    print(f"capacity, {args.mode} providers, levels {args.levels}", flush=True)
    levels, max_jobs = await run_capacity(args, run_dir / "capacity")
    save_raw(run_dir, "capacity", levels)
    out = Output.of(args)
    plot = None
    if out is not None and levels:
        path, link = out.image("voice-capacity.png")
        n = [lv.sessions for lv in levels]
        latency = {
            f"p{q}": [pct((t.measured for t in lv.turns), q) * 1000 for lv in levels]
            for q in (50, 95)
        }
        bound = pct((t.measured for t in levels[0].turns), 95) * 1000 * P95_RATIO
        memory = {
            f"{kind.upper()} per conversation (MB)": [lv.per_session_mb(kind) for lv in levels]
            for kind in ("rss", "pss")
        }
        cpu = [lv.worker_cpu for lv in levels]
        plotted = plot_capacity(n, latency, bound, cpu, memory, MEMORY_PER_SESSION_MB, path)
        plot = link if plotted else None
    body = capacity_section(levels, args, max_jobs, plot)
    print(body)
    if out is not None:
        out.write_section(MARKER, body)


if __name__ == "__main__":
    import sys

    run_cli({"capacity": sys.modules[__name__]})
