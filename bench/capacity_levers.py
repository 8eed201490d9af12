"""What each capacity lever buys: the capacity benchmark (`capacity.py`) at a few levels, once with
the worker's defaults and once per lever, each on a fresh stack; and the local models' cost per
call, timed in this process.

    python bench/capacity_levers.py levers [--lever-levels 1,10] [--capacity-levers ...] [--write]
    python bench/capacity_levers.py all [--write]     # capacity.py's levels, then the levers

`make bench-capacity` runs `all`.
A lever is a set of worker settings (`LEVERS`). The models' cost (`model_costs`) is the CPU time
of LiveKit's local VAD on one 32 ms window and of its end-of-turn model on its longest input,
which is what each conversation asks of them per frame and per end of speech. `--quick` runs
two levers at levels 1 and 2 with two turns.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capacity import ARCHITECTURE, BUSY_CORES, CapacityLevel, holds, level_json, run_capacity
from conversation import PACKAGES, run_cli
from machine import command_line
from report import Output, header, save_raw, table

MARKER = "bench-capacity-levers"
EXECUTORS_MARKER = "bench-capacity-executors"
EXECUTORS = {"defaults": "JOB_EXECUTOR=process", "thread-executor": "JOB_EXECUTOR=thread"}
LEVERS: dict[str, dict[str, str]] = {
    "defaults": {},
    "thread-executor": {"JOB_EXECUTOR": "thread"},
    "one-idle-process": {"IDLE_PROCESSES": "1"},
    "no-model-preload": {"LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE": "0"},
    "input-24khz": {"AUDIO_INPUT_SAMPLE_RATE": "24000"},
    "no-input-agc": {"INPUT_AUTO_GAIN_CONTROL": "false"},
    "no-transcript-sync": {"SYNC_TRANSCRIPTION": "false"},
    "tts-pcm": {"OPENAI_TTS_FORMAT": "pcm"},
}
QUICK = {"lever_levels": "1,2", "lever_turns": 2, "capacity_levers": "defaults,thread-executor"}
VAD_WINDOW_S = 0.032


def cpu_per_call(call: Callable[[], object], calls: int) -> float:
    """CPU seconds of this process per call (the models release the GIL; time spent waiting on
    a busy machine is not counted)."""
    call()  # the first call pays for lazy set-up
    began = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - began) / calls


def model_costs() -> dict[str, float]:
    """CPU seconds per call of LiveKit's local VAD (one 32 ms window) and end-of-turn model (its
    longest input, 1.2 s)."""
    import livekit.local_inference as li
    import numpy as np

    rng = np.random.default_rng(7)
    vad = li.VAD()
    window = (rng.standard_normal(li.VAD_WINDOW_SAMPLES) * 3000).astype(np.int16)
    eot = li.EOT()
    context = (rng.standard_normal(li.EOT_MAX_SAMPLES) * 3000).astype(np.int16)
    return {
        "vad_window": cpu_per_call(lambda: vad.predict(window), 3000),
        "end_of_turn": cpu_per_call(lambda: eot.predict(context), 20),
    }


def lever_rows(runs: dict[str, list[CapacityLevel]]) -> list[str]:
    head = ["lever", "worker settings", "worker cores, one conversation", "beyond idle"]
    head += ["conversations", "failed: product / harness"]
    head += ["p95 vs one", "worker cores per conversation", "idle worker RSS MB"]
    head += ["RSS per conversation MB", "PSS per conversation MB"]
    rows = []
    for name, levels in runs.items():
        one, top = levels[0], levels[-1]
        settings = ", ".join(f"`{k}={v}`" for k, v in LEVERS[name].items()) or "(none)"
        marginal = one.marginal_per_conversation
        rows.append(
            [
                name,
                settings,
                f"{one.cores_per_conversation():.3f}",
                "" if marginal is None else f"{marginal:.3f}",
                str(top.sessions),
                f"{len(top.failed_product)} / {len(top.failed_harness)}",
                f"{top.v2v(95) / one.v2v(95):.2f}x" + ("" if holds(top, one) else " (fails)"),
                f"{top.cores_per_conversation():.3f}",
                f"{one.rss_idle / 1e6:.0f}",
                f"{top.per_session_mb('rss'):.0f}",
                f"{top.per_session_mb('pss'):.0f}",
            ]
        )
    return table(head, rows)


def lever_findings(runs: dict[str, list[CapacityLevel]]) -> list[str]:
    """Generated: what each lever saves on one conversation (beyond the idle worker's use, which
    the idle processes' count sways), and whether any held more conversations at once."""
    if "defaults" not in runs or len(runs) < 2:
        return []

    def cost(level: CapacityLevel) -> float:
        marginal = level.marginal_per_conversation
        return level.cores_per_conversation() if marginal is None else marginal

    base = cost(runs["defaults"][0])
    saved = {name: 1 - cost(lv[0]) / base for name, lv in runs.items() if name != "defaults"}
    best = max(saved, key=lambda name: saved[name])
    held = {name: max((lv.sessions for lv in lv_ if holds(lv, lv_[0])), default=0)
            for name, lv_ in runs.items()}  # fmt: skip
    most = max(held, key=lambda name: held[name])
    levels = ", ".join(str(lv.sessions) for lv in runs["defaults"])
    lines = [
        "- On one conversation, the worker's CPU beyond its idle use changes with each lever by "
        + ", ".join(f"{name} {-share:+.0%}" for name, share in saved.items())
        + f", against the defaults' {base:.3f} core; the most any saves is {saved[best]:.0%} "
        f"({best}).",
    ]
    if held[most] > held["defaults"]:
        lines.append(
            f"- The most conversations held at once (of {levels}): {held[most]} with {most}, "
            f"against {held['defaults']} with the defaults."
        )
    else:
        lines.append(
            f"- No lever held more conversations at once than the defaults' {held['defaults']} "
            f"(of {levels})."
        )
    return lines


def section(runs: dict[str, list[CapacityLevel]], costs: dict[str, float], command: str) -> str:
    vad_share = costs["vad_window"] / VAD_WINDOW_S
    lines = [
        "## Capacity levers",
        "",
        "The capacity benchmark at each lever's levels, each on a fresh stack with the same "
        "simulated `openai` providers. A single conversation's worker CPU (in all and beyond the "
        "idle worker's) is what the lever saves per conversation on an unloaded machine; the "
        "other figures are those of the highest level, against the lever's own single "
        "conversation.",
        "",
        *header(command, PACKAGES, ["livekit-server"]),
        "",
        *lever_rows(runs),
    ]
    lines += ["", *lever_findings(runs)]
    busy = [n for n, levels in runs.items() if any(lv.other_work > BUSY_CORES for lv in levels)]
    if busy:
        names = ", ".join(busy)
        lines += ["", f"Taken on a busy machine (other work above {BUSY_CORES} core): {names}."]
    lines += [
        "",
        "The local models, CPU time per call in one process:",
        "",
        f"- the VAD: {costs['vad_window'] * 1e6:.0f} us per 32 ms window, "
        f"{vad_share:.4f} core per conversation, all the time it listens;",
        f"- the end-of-turn model: {costs['end_of_turn'] * 1000:.0f} ms per decision on 1.2 s "
        "of audio, once per pause in the user's speech (at one pause every 6 s: "
        f"{costs['end_of_turn'] / 6:.3f} core per conversation).",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("capacity levers")
    group.add_argument("--lever-levels", default="1,10", help="levels each lever runs")
    group.add_argument("--lever-turns", type=int, default=5, help="turns per conversation")
    group.add_argument("--capacity-levers", default=",".join(LEVERS), help="levers, in turn")


async def run(args: argparse.Namespace, run_dir: Path) -> None:
    costs = model_costs()
    print(f"model costs: {costs}", flush=True)
    runs: dict[str, list[CapacityLevel]] = {}
    for name in args.capacity_levers.split(","):
        print(f"capacity lever {name}", flush=True)
        lever_args = copy.copy(args)
        lever_args.levels = args.lever_levels
        lever_args.capacity_turns = args.lever_turns
        lever_args.worker_overrides = {**args.worker_overrides, **LEVERS[name]}
        runs[name], _ = await run_capacity(lever_args, run_dir / f"capacity-lever-{name}")
    save_raw(run_dir, "capacity-levers", runs)
    command = command_line()
    body = section(runs, costs, command)
    print(body)
    out = Output.of(args)
    if out is None:
        return
    out.write_section(MARKER, body)
    entries: dict[str, Any] = {
        name: {
            "command": command,
            "settings": LEVERS[name],
            "levels": [level_json(lv, levels[0]) for lv in levels],
        }
        for name, levels in runs.items()
    }
    entries["model_cpu_seconds_per_call"] = costs
    out.merge_json("capacity_levers", entries)
    executors = {name: runs[name] for name in EXECUTORS if name in runs}
    if args.doc.resolve() == Output().doc and executors:
        Output(ARCHITECTURE).write_section(EXECUTORS_MARKER, executors_section(executors))


def executors_section(runs: dict[str, list[CapacityLevel]]) -> str:
    """The two job executors side by side, for docs/architecture.md."""
    head = ["executor", "idle worker RSS MB", "conversations", "RSS per conversation MB"]
    head += ["worker cores per conversation", "p95 vs one", "failed"]
    rows = []
    for name, levels in runs.items():
        one, top = levels[0], levels[-1]
        rows.append(
            [
                f"`{EXECUTORS[name]}`",
                f"{one.rss_idle / 1e6:.0f}",
                str(top.sessions),
                f"{top.per_session_mb('rss'):.0f}",
                f"{top.cores_per_conversation():.3f}",
                f"{top.v2v(95) / one.v2v(95):.2f}x",
                str(top.failed),
            ]
        )
    return "\n".join(
        [
            f"The two executors, measured by `make bench-capacity` ({datetime.now(UTC):%Y-%m-%d}"
            "; docs/benchmarks.md, Capacity levers):",
            "",
            *table(head, rows),
        ]
    )


if __name__ == "__main__":
    import sys

    import capacity

    run_cli({"capacity": capacity, "levers": sys.modules[__name__]})
