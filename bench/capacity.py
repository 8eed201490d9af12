"""Capacity: N simultaneous conversations on one worker, level after level: voice to voice p50/p95,
the CPU and memory each conversation costs, and which failures were the product's and which the
load generator's (a caller that starved).

    python bench/capacity.py [--mode openai] [--levels 1,3,5,10] [--write]

Each level's callers run in processes of `CALLERS_PER_PROCESS` (`callers.py`), started before the
level and reading the pre-encoded question. A level holds when no conversation failed and its
p95 is within `P95_RATIO` of the single conversation's. `--write` also writes the sizing rule
into docs/architecture.md (its `SIZING_MARKER` section). `--quick` runs levels 1 and 2 with two
turns each. Part of `python bench/voice.py all`; `make bench-capacity` runs it with its levers
(`capacity_levers.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import profiling
import psutil
from callers import CALLER_NICE, CallerReport, Shape, caller_process
from conversation import PACKAGES, TurnResult, check_worker_log, run_cli
from machine import command_line
from measure import CpuMeter, of_tree, pss_bytes, rss_bytes, tree, tree_settled
from report import Output, header, plot_capacity, save_raw, table, verdict
from stack import BENCH_QUESTION, BenchStack, start_stack
from stats import ms, pct
from worker_profile import WorkerProfile

from harness.audio import SpeechSynthesizer
from harness.paths import REPO

MARKER = "bench-voice-capacity"
SIZING_MARKER = "bench-capacity-sizing"
ARCHITECTURE = REPO / "docs" / "architecture.md"
P95_RATIO = 1.15  # a level's p95 against the single conversation's
MEMORY_PER_SESSION_MB = 150.0
CPU_PER_SESSION_CORES = 0.10
CALLERS_PER_PROCESS = 5
CALLER_START_S = 4.0  # every caller process has imported and is waiting by then
BUSY_CORES = 0.25  # other work beyond this marks a level as taken on a busy machine
NOT_SUMMED = ("worker main process", "whole machine")  # part of "worker"; the total
PSS_EVERY = 4
SATURATED = 0.9  # a share of its limit at which a resource counts as saturated
QUICK = {"levels": "1,2", "capacity_turns": 2, "profile_turns": 2}


@dataclass
class CapacityLevel:
    """One level: its turns and failures, and what the processes used while it ran."""

    sessions: int
    turns: list[TurnResult]  # measured with no stall of their caller's event loop
    disturbed_turns: int  # a caller stall overlapped them: the harness's, left out
    failed_product: list[str]
    failed_harness: list[str]
    conversation_seconds: float  # summed over the conversations, connect to hang-up
    cpu: dict[str, float]  # cores: "worker", "worker main process", the others', "whole machine"
    callers_cpu: float  # cores, every caller process during its conversations
    busiest_caller: float  # cores, the busiest caller process
    rss_idle: int
    rss_peak: int
    pss_idle: int
    pss_peak: int
    rss_after: int  # the worker's tree once the level's conversations have ended
    wall: float
    executor: str = "process"
    worker_idle: float | None = None  # cores the worker used just before, with no conversation
    stalls: int = 0
    longest_stall: float = 0.0
    notes: list[str] = field(default_factory=list)
    profile: WorkerProfile | None = None  # where one conversation's worker CPU goes

    def per_session_mb(self, kind: str) -> float:
        """Growth from idle to peak per conversation, MB; `kind` is "rss" or "pss"."""
        if kind == "rss":
            return (self.rss_peak - self.rss_idle) / self.sessions / 1e6
        return (self.pss_peak - self.pss_idle) / self.sessions / 1e6

    def cores_per_conversation(self, name: str = "worker") -> float:
        """Cores of `name` per conversation in progress: CPU seconds over conversation-seconds."""
        seconds = self.cpu[name] * self.wall
        return seconds / self.conversation_seconds if self.conversation_seconds else float("nan")

    @property
    def marginal_per_conversation(self) -> float | None:
        """Worker cores per conversation in progress beyond its idle use (main process, idle
        job processes): what one more conversation adds."""
        if self.worker_idle is None or not self.conversation_seconds:
            return None
        seconds = (self.cpu["worker"] - self.worker_idle) * self.wall
        return seconds / self.conversation_seconds

    @property
    def callers_per_conversation(self) -> float:
        seconds = self.callers_cpu * self.wall
        return seconds / self.conversation_seconds if self.conversation_seconds else float("nan")

    @property
    def duty_cycle(self) -> float:
        """Share of each turn's time in which the caller or the agent spoke."""
        cycles = [t for t in self.turns if t.cycle > 0 and t.talk > 0]
        return sum(t.talk for t in cycles) / sum(t.cycle for t in cycles) if cycles else 0.0

    def v2v(self, q: float) -> float:
        return pct((t.measured for t in self.turns), q)

    @property
    def other_work(self) -> float:
        """Cores the machine spent on anything but this run's processes and its callers."""
        ours = sum(v for k, v in self.cpu.items() if k not in NOT_SUMMED) + self.callers_cpu
        return max(0.0, self.cpu["whole machine"] - ours)

    @property
    def failed(self) -> int:
        return len(self.failed_product) + len(self.failed_harness)


def holds(level: CapacityLevel, one: CapacityLevel) -> bool:
    """No failed conversation, and p95 within P95_RATIO of a single conversation's."""
    return level.failed == 0 and level.v2v(95) <= one.v2v(95) * P95_RATIO and bool(level.turns)


async def run_capacity(
    args: argparse.Namespace, run_dir: Path, profile: bool = False
) -> tuple[list[CapacityLevel], dict[str, str]]:
    """Every level on one stack; the levels and the worker's settings that shape them. With
    `profile`, one more conversation under py-spy gives the first level's `profile`."""
    stack = start_stack(
        run_dir, preset=args.mode, timings=args.timings, worker_overrides=args.worker_overrides
    )
    audio = run_dir / "question.pcm"
    SpeechSynthesizer.save(BENCH_QUESTION, audio)
    out: list[CapacityLevel] = []
    try:
        for level in (int(x) for x in args.levels.split(",")):
            turns = args.capacity_turns or (15 if level == 1 else max(3, 30 // level))
            shape = Shape(level, turns, args.cycle, args.arrival, args.frame_ms, 0.0)
            result = await capacity_level(stack, shape, audio)
            result.executor = stack.worker_env.get("JOB_EXECUTOR", "process")
            out.append(result)
            print(
                f"  {level} sessions: {len(result.turns)} turns, p95 {ms(result.v2v(95))} ms, "
                f"failed {len(result.failed_product)} product / {len(result.failed_harness)} "
                f"harness, worker {result.cpu['worker']:.2f} cores, "
                f"{result.per_session_mb('rss'):.0f} MB RSS per conversation",
                flush=True,
            )
        if profile and out:
            out[0].profile = await profiled_conversation(stack, args, audio)
        check_worker_log(stack)
    finally:
        stack.stop()
    shaping = {k: v for k, v in stack.worker_env.items() if k in SHAPING_SETTINGS}
    return out, shaping


async def profiled_conversation(
    stack: BenchStack, args: argparse.Namespace, audio: Path
) -> WorkerProfile | None:
    """One more conversation, py-spy sampling the worker's tree (None without py-spy)."""
    assert stack.worker is not None
    py_spy = profiling.find_py_spy()
    if py_spy is None:
        print(f"py-spy not found ({profiling.INSTALL}): no CPU profile of the worker")
        return None
    raw = stack.run_dir / "worker-py-spy.txt"
    shape = Shape(1, args.profile_turns, args.cycle, args.arrival, args.frame_ms, 0.0)
    level = await capacity_level(stack, shape, audio, profile_to=(py_spy, raw))
    measured = level.cores_per_conversation()
    return WorkerProfile.of(raw, measured, len(level.turns), level.conversation_seconds)


SHAPING_SETTINGS = ("MAX_CONCURRENT_JOBS", "JOB_EXECUTOR", "IDLE_PROCESSES", "SYNC_TRANSCRIPTION",
                    "OPENAI_TTS_FORMAT", "AUDIO_INPUT_FRAME_MS")  # fmt: skip


async def capacity_level(
    stack: BenchStack, shape: Shape, audio: Path, profile_to: tuple[str, Path] | None = None
) -> CapacityLevel:
    """N conversations at once, their callers spread over subprocesses of this program; with
    `profile_to` (py-spy, its output file), py-spy samples the worker's tree meanwhile."""
    assert stack.worker is not None
    worker_pid, sessions = stack.worker.pid, shape.concurrency
    others = {name: p.pid for name, p in stack.roles().items() if p is not stack.worker}
    idle_tree = tree(worker_pid)
    peak = {"rss": rss_bytes(idle_tree), "pss": pss_bytes(idle_tree)}
    rss_idle, pss_idle = peak["rss"], peak["pss"]
    sampling = True

    async def sample() -> None:
        """RSS every 0.5 s; PSS, which walks every mapping of every process (a tenth of a core
        at 0.5 s), every `PSS_EVERY` samples."""
        count = 0
        while sampling:
            procs = tree(worker_pid)
            peak["rss"] = max(peak["rss"], rss_bytes(procs))
            if count % PSS_EVERY == 0:
                peak["pss"] = max(peak["pss"], pss_bytes(procs))
            count += 1
            await asyncio.sleep(0.5)

    processes = -(-sessions // CALLERS_PER_PROCESS)
    timed = Shape(**{**shape.__dict__, "start_at": time.time() + CALLER_START_S})
    callers = asyncio.gather(
        *(
            caller_process(stack.api_url, audio, list(range(first, sessions, processes)), timed)
            for first in range(processes)
        )
    )
    idle_meter = CpuMeter({"worker": of_tree(worker_pid)})  # no conversation yet
    await asyncio.sleep(max(0.0, timed.start_at - time.time()))  # the callers' imports
    idle_cores = idle_meter.stop().cores("worker")
    main, me = psutil.Process(worker_pid), psutil.Process()
    groups = {
        "worker": of_tree(worker_pid),
        "worker main process": lambda: sum(main.cpu_times()[:2]),
        "benchmark (sampling)": lambda: sum(me.cpu_times()[:2]),
        **{n: of_tree(pid) for n, pid in others.items()},
    }
    meter = CpuMeter(groups)
    sampler = asyncio.create_task(sample())
    if profile_to is None:
        reports: list[CallerReport] = await callers
    else:
        py_spy, raw_file = profile_to
        with profiling.recording(py_spy, worker_pid, raw_file, subprocesses=True):
            reports = await callers
    use = meter.stop()
    sampling = False
    await sampler
    # the job processes end (and their replacements load) before the next idle baseline
    await tree_settled(worker_pid, most=len(idle_tree), limit_s=45.0)
    level = _classify(reports, sessions)
    cpu = {name: use.cores(name) for name in groups}
    cpu["whole machine"] = use.machine_cores
    stall_lags = [lag for r in reports for _, lag in r.stalls]
    return CapacityLevel(
        sessions=sessions,
        turns=level["turns"],
        disturbed_turns=level["disturbed"],
        failed_product=level["product"],
        failed_harness=level["harness"],
        conversation_seconds=sum(
            c.ended - c.began for r in reports for c in r.conversations if c.failure is None
        ),
        cpu=cpu,
        callers_cpu=sum(r.cpu_seconds for r in reports) / use.wall,
        busiest_caller=max((r.cpu_seconds / r.wall for r in reports if r.wall), default=0.0),
        rss_idle=rss_idle,
        rss_peak=peak["rss"],
        pss_idle=pss_idle,
        pss_peak=peak["pss"],
        rss_after=rss_bytes(tree(worker_pid)),
        wall=use.wall,
        worker_idle=idle_cores,
        stalls=len(stall_lags),
        longest_stall=max(stall_lags, default=0.0),
    )


def _classify(reports: list[CallerReport], sessions: int) -> dict[str, Any]:
    """Turns measured cleanly, turns a caller stall disturbed, and the failures: a conversation
    whose caller process starved (`CallerReport.starved`) is the harness's."""
    turns: list[TurnResult] = []
    disturbed = 0
    product: list[str] = []
    harness: list[str] = []
    for report in reports:
        for conversation in report.conversations:
            if conversation.failure is not None:
                mine = report.starved(conversation)
                (harness if mine else product).append(conversation.failure)
                print(f"  a conversation failed ({'harness' if mine else 'product'}): "
                      f"{conversation.failure[:300]}", flush=True)  # fmt: skip
                continue
            for turn in (TurnResult(**t) for t in conversation.turns):
                window = (turn.speech_end_wall - 0.5, turn.speech_end_wall + turn.measured)
                if report.stalled(*window):
                    disturbed += 1
                else:
                    turns.append(turn)
    return {"turns": turns, "disturbed": disturbed, "product": product, "harness": harness}


# --- report -----------------------------------------------------------------------------------


def _rounded(value: float, digits: int | None = None) -> float | None:
    """`value` rounded, or None where a level had no turn to measure (NaN)."""
    return None if math.isnan(value) else round(value, digits)


def level_json(level: CapacityLevel, one: CapacityLevel) -> dict[str, Any]:
    """One level as `capacity.levels[]` of docs/benchmarks.json."""
    return {
        "conversations": level.sessions,
        "turns": len(level.turns),
        "turns_disturbed_by_callers": level.disturbed_turns,
        "failed_product": len(level.failed_product),
        "failed_harness": len(level.failed_harness),
        "v2v_p50_ms": _rounded(level.v2v(50) * 1000),
        "v2v_p95_ms": _rounded(level.v2v(95) * 1000),
        "p95_vs_one": _rounded(level.v2v(95) / one.v2v(95), 3),
        "holds": holds(level, one),
        "worker_cpu_cores_per_conversation": round(level.cores_per_conversation(), 4),
        "worker_cpu_cores_per_conversation_beyond_idle": (
            None
            if level.marginal_per_conversation is None
            else round(level.marginal_per_conversation, 4)
        ),
        "worker_idle_cores": None if level.worker_idle is None else round(level.worker_idle, 3),
        "callers_cpu_cores_per_conversation": round(level.callers_per_conversation, 4),
        "rss_mb_per_conversation": round(level.per_session_mb("rss"), 1),
        "pss_mb_per_conversation": round(level.per_session_mb("pss"), 1),
        "worker_rss_idle_mb": round(level.rss_idle / 1e6),
        "worker_rss_peak_mb": round(level.rss_peak / 1e6),
        "worker_rss_after_mb": round(level.rss_after / 1e6),
        "duty_cycle": round(level.duty_cycle, 3),
        "cpu_cores": {name: round(value, 3) for name, value in level.cpu.items()},
        "busiest_caller_process_cores": round(level.busiest_caller, 3),
        "caller_stalls": level.stalls,
        "other_work_cores": round(level.other_work, 3),
        "busy_machine": level.other_work > BUSY_CORES,
        "executor": level.executor,
    }


def conversations(count: int) -> str:
    return f"{count} conversation" + ("" if count == 1 else "s")


def resources(level: CapacityLevel, cores: int) -> dict[str, float]:
    """What each limited resource used at this level, as a share of its limit."""
    return {
        f"the machine's {cores} cores": level.cpu["whole machine"] / cores,
        "the worker's main process (one Python interpreter)": level.cpu["worker main process"],
        "the busiest caller process": level.busiest_caller,
        "livekit-server": level.cpu.get("livekit-server", 0.0) / cores,
    }


def findings(levels: list[CapacityLevel], cores: int) -> list[str]:
    """Generated sentences: the largest level that holds, what saturates first, the targets."""
    one = levels[0]
    holding = [lv for lv in levels if holds(lv, one)]
    best = max(holding, key=lambda lv: lv.sessions) if holding else None
    top = levels[-1]
    use = resources(top, cores)
    first = max(use, key=lambda name: use[name])
    lines = [
        f"- The largest level that holds (no failed conversation, p95 within {P95_RATIO:.2f}x "
        f"of one): **{conversations(best.sessions) if best else 'none'}**"
        + (f" (of {', '.join(str(lv.sessions) for lv in levels)} run)." if levels else "."),
        f"- Closest to saturation at {conversations(top.sessions)}: {first}, at "
        f"{use[first]:.0%} of its limit"
        + (" (saturated)." if use[first] >= SATURATED else " (not saturated)."),
    ]
    for level in levels:
        if level.failed_harness or level.disturbed_turns:
            lines.append(
                f"- {conversations(level.sessions)}: the load generator failed "
                f"{len(level.failed_harness)} conversation(s) and disturbed "
                f"{level.disturbed_turns} turn(s) (caller stalls of up to "
                f"{level.longest_stall * 1000:.0f} ms); those are the harness's, not the "
                "product's, and the level's figures leave them out."
            )
    busy = [lv for lv in levels if lv.other_work > BUSY_CORES]
    if busy:
        lines.append(
            "- **Taken on a busy machine:** other work took "
            + ", ".join(f"{lv.other_work:.2f} cores at {conversations(lv.sessions)}" for lv in busy)
            + "."
        )
    rest = top.cpu["whole machine"] - top.cpu["worker"] - top.callers_cpu
    room = (cores * SATURATED - top.callers_cpu - rest) / top.sessions
    lines.append(
        f"- At {conversations(top.sessions)} the machine was {top.cpu['whole machine']:.2f} of "
        f"{cores} cores busy: the worker {top.cpu['worker']:.2f}, the callers "
        f"{top.callers_cpu:.2f}, everything else (livekit-server, Redis, session-api, the fakes, "
        f"this benchmark's sampling) {rest:.2f}. For {conversations(top.sessions)} to fit beside "
        f"their callers at {SATURATED:.0%} of the cores, the worker would have to take at most "
        f"{room:.3f} core per conversation."
    )
    target = levels[-1] if best is None else best
    cpu = target.cores_per_conversation()
    mem = target.per_session_mb("rss")
    lines += [
        f"- At {conversations(target.sessions)}: worker CPU {cpu:.3f} core per conversation "
        f"against {CPU_PER_SESSION_CORES:.2f} ({verdict(cpu <= CPU_PER_SESSION_CORES)})"
        + (
            ""
            if target.marginal_per_conversation is None
            else f", {target.marginal_per_conversation:.3f} beyond the idle worker's "
            f"{target.worker_idle:.2f} cores"
        )
        + ", at a "
        f"duty cycle of {target.duty_cycle:.0%} (the share of each turn in which the caller or "
        f"the agent spoke); the callers cost {target.callers_per_conversation:.3f} core each.",
        f"- Memory per added conversation (RSS growth of the worker's process tree) {mem:.0f} "
        f"MB against {MEMORY_PER_SESSION_MB:.0f} MB: {verdict(mem <= MEMORY_PER_SESSION_MB)}; "
        f"PSS {target.per_session_mb('pss'):.0f} MB"
        + (
            f": the other {mem - target.per_session_mb('pss'):.0f} MB are pages a job process "
            "shares with the others (the forkserver's models and libraries), which every "
            "process's RSS counts again."
            if target.executor == "process"
            else "."
        ),
    ]
    returned = [lv for lv in levels if lv.rss_after > lv.rss_idle * 1.05 + 20e6]
    lines.append(
        "- Memory returned after each level: "
        + (
            "yes, the worker's tree was back within 5% (+20 MB) of its idle size every time."
            if not returned
            else "not at "
            + ", ".join(
                f"{lv.sessions} ({lv.rss_idle / 1e6:.0f} -> {lv.rss_after / 1e6:.0f} MB)"
                for lv in returned
            )
            + "."
        )
    )
    return lines


def capacity_section(
    levels: list[CapacityLevel],
    args: argparse.Namespace,
    shaping: dict[str, str],
    plot: str | None,
    cores: int,
) -> str:
    settings = ", ".join(f"`{k}={v}`" for k, v in sorted(shaping.items()))
    lines = [
        "## Capacity: simultaneous conversations on one worker",
        "",
        f"N callers at once against one worker ({settings}), arriving {args.arrival:g} s apart, "
        f"in processes of {CALLERS_PER_PROCESS} (the rtc SDK hands every event of a process to "
        "every stream of that process), each reading the pre-encoded question and sending "
        f"{args.frame_ms} ms frames, at a raised priority (nice {CALLER_NICE}: the callers stand "
        "for people on machines of their own, so the stack, not they, should feel a saturated "
        "machine). Each greets, then asks the bench question turn after turn, "
        f"the first turns spread over {args.cycle:g} s. A caller process whose event loop "
        "stalls for 100 ms or more disturbs the turns it was timing: those turns are left out, "
        "and a conversation that failed while its caller was stalled for a tenth of its time or "
        "more (or whose caller process died) is the load generator's (harness); the others' "
        "failures are the product's. CPU is the user + "
        "system time of each process tree (job processes that ended count too), per "
        "conversation in progress (CPU seconds over conversation-seconds); memory is the "
        "worker's process tree, idle before the level and at its peak (RSS; PSS counts shared "
        "pages once). These figures gate nothing.",
        "",
        *header(command_line(), PACKAGES, ["livekit-server"]),
        f"- Providers: `{args.mode}`, {args.timings.describe(args.mode)}",
        "",
    ]
    one = levels[0]
    head = ["conversations", "turns", "failed: product / harness", "turns disturbed"]
    head += ["v2v p50 ms", "p95 ms", "p95 vs one", "worker cores per conversation"]
    head += ["beyond idle"]
    head += ["callers cores per conversation", "RSS idle -> peak MB", "RSS per conversation MB"]
    head += ["PSS per conversation MB", "duty cycle"]
    rows = [
        [
            str(lv.sessions),
            str(len(lv.turns)),
            f"{len(lv.failed_product)} / {len(lv.failed_harness)}",
            str(lv.disturbed_turns),
            ms(lv.v2v(50)),
            ms(lv.v2v(95)),
            f"{lv.v2v(95) / one.v2v(95):.2f}x",
            f"{lv.cores_per_conversation():.3f}",
            "" if lv.marginal_per_conversation is None else f"{lv.marginal_per_conversation:.3f}",
            f"{lv.callers_per_conversation:.3f}",
            f"{lv.rss_idle / 1e6:.0f} -> {lv.rss_peak / 1e6:.0f}",
            f"{lv.per_session_mb('rss'):.0f}",
            f"{lv.per_session_mb('pss'):.0f}",
            f"{lv.duty_cycle:.0%}",
        ]
        for lv in levels
    ]
    lines += table(head, rows, numeric_first=True)
    names = list(one.cpu)
    lines += [
        "",
        "CPU of each process during each level, cores (the whole machine's busy time too: "
        "anything beyond the listed processes and the callers was other work):",
        "",
        *table(
            ["conversations", *names, "callers", "busiest caller process"],
            [
                [
                    str(lv.sessions),
                    *(f"{lv.cpu[n]:.2f}" for n in names),
                    f"{lv.callers_cpu:.2f}",
                    f"{lv.busiest_caller:.2f}",
                ]
                for lv in levels
            ],
            numeric_first=True,
        ),
    ]
    stages = {
        "end of turn": lambda x: x.end_of_turn,
        "LLM TTFT": lambda x: x.llm_ttft,
        "TTS TTFB": lambda x: x.tts_ttfb,
        "outside the worker": lambda x: x.outside_worker,
    }
    lines += ["", "Stages at each level, p95 ms:", ""]
    lines += table(
        ["conversations", *stages],
        [
            [str(lv.sessions), *(ms(pct(map(get, lv.turns), 95)) for get in stages.values())]
            for lv in levels
        ],  # fmt: skip
        numeric_first=True,
    )
    if plot:
        lines += ["", f"![capacity]({plot})"]
    if one.profile:
        lines += ["", *one.profile.section()]
    lines += ["", "### Findings", "", *findings(levels, cores)]
    return "\n".join(lines)


def sizing_section(levels: list[CapacityLevel], shaping: dict[str, str], cores: int) -> str:
    """The sizing rule of docs/architecture.md, from this run."""
    one = levels[0]
    holding = [lv for lv in levels if holds(lv, one)] or levels[:1]
    best = max(holding, key=lambda lv: lv.sessions)
    cpu = best.cores_per_conversation()
    idle, idle_pss = best.rss_idle / 1e9, best.pss_idle / 1e9
    mem, own = best.per_session_mb("rss"), best.per_session_mb("pss")
    executor = shaping.get("JOB_EXECUTOR", "process")
    return "\n".join(
        [
            f"Measured by `make bench-capacity` ({datetime.now(UTC):%Y-%m-%d}, simulated "
            f"`openai` providers on a {cores}-core machine, `JOB_EXECUTOR={executor}`; "
            "docs/benchmarks.md, Capacity, has the run):",
            "",
            f"- **CPU:** {cpu:.3f} core per conversation in the worker at a "
            f"{best.duty_cycle:.0%} duty cycle (people speaking back to back), so about "
            f"{1 / cpu:.0f} conversations per core for the worker alone; livekit-server took "
            f"{best.cpu.get('livekit-server', 0.0) / best.sessions:.3f} core per conversation.",
            f"- **Memory:** {idle_pss:.1f} GB of RAM for an idle worker, plus {own:.0f} MB per "
            "conversation (PSS, which counts a page shared by several processes once: what the "
            f"machine must have). Resident sizes read {idle:.1f} GB and {mem:.0f} MB (RSS), as "
            "every job process counts the models and libraries it shares with the forkserver.",
            f"- **Held on this machine:** {conversations(best.sessions)} at once with no failure "
            f"and p95 voice to voice within {P95_RATIO:.2f}x of a single conversation's, "
            "callers and livekit-server on the same cores.",
            "- **Rule:** `MAX_CONCURRENT_JOBS` at most the held figure per such machine; more "
            "conversations, more workers (each registers with livekit-server, which spreads the "
            "jobs).",
        ]
    )


# --- command line -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("capacity")
    group.add_argument("--levels", default="1,3,5,10", help="simultaneous conversations")
    group.add_argument("--capacity-turns", type=int, default=None,
                       help="turns per conversation (default: 15 alone, 30 / N at N)")  # fmt: skip
    group.add_argument("--cycle", type=float, default=7.0,
                       help="seconds over which the first turns are spread")  # fmt: skip
    group.add_argument("--arrival", type=float, default=0.5,
                       help="seconds between two callers' arrivals")  # fmt: skip
    group.add_argument("--frame-ms", type=int, default=40, help="the callers' audio frame (ms)")
    group.add_argument("--profile-turns", type=int, default=8,
                       help="turns of the conversation py-spy samples after the levels; "
                       "0: none")  # fmt: skip


def write_plot(out: Output, levels: list[CapacityLevel]) -> str | None:
    path, link = out.image("voice-capacity.png")
    n = [lv.sessions for lv in levels]
    latency = {f"p{q}": [lv.v2v(q) * 1000 for lv in levels] for q in (50, 95)}
    bound = levels[0].v2v(95) * 1000 * P95_RATIO
    memory = {
        f"{kind.upper()} per conversation (MB)": [lv.per_session_mb(kind) for lv in levels]
        for kind in ("rss", "pss")
    }
    cpu = {
        "worker, cores per conversation": [lv.cores_per_conversation() for lv in levels],
        "callers, cores per conversation": [lv.callers_per_conversation for lv in levels],
    }
    plotted = plot_capacity(n, latency, bound, cpu, memory, MEMORY_PER_SESSION_MB, path)
    return link if plotted else None


async def run(args: argparse.Namespace, run_dir: Path) -> None:
    print(f"capacity, {args.mode} providers, levels {args.levels}", flush=True)
    levels, shaping = await run_capacity(args, run_dir / "capacity", args.profile_turns > 0)
    save_raw(run_dir, "capacity", levels)
    if not levels:
        return
    cores = psutil.cpu_count() or 1
    out = Output.of(args)
    plot = write_plot(out, levels) if out is not None else None
    body = capacity_section(levels, args, shaping, plot, cores)
    print(body)
    if out is None:
        return
    out.write_section(MARKER, body)
    one = levels[0]
    best = [lv.sessions for lv in levels if holds(lv, one)]
    top = resources(levels[-1], cores)
    out.write_json(
        "capacity",
        {
            "command": command_line(),
            "preset": args.mode,
            "worker_settings": shaping,
            "levels": [level_json(lv, one) for lv in levels],
            "largest_level_holding": max(best) if best else None,
            "worker_profile": one.profile.json() if one.profile else None,
            "closest_to_saturation": max(top, key=lambda name: top[name]),
            "targets": {
                "worker_cpu_cores_per_conversation": CPU_PER_SESSION_CORES,
                "rss_mb_per_conversation": MEMORY_PER_SESSION_MB,
                "p95_vs_one": P95_RATIO,
            },
        },
    )
    if args.doc.resolve() == Output().doc:  # the real document: its architecture page too
        Output(ARCHITECTURE).write_section(SIZING_MARKER, sizing_section(levels, shaping, cores))


if __name__ == "__main__":
    import sys

    run_cli({"capacity": sys.modules[__name__]})
