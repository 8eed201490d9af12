"""What each latency lever buys: the voice latency benchmark (`voice_latency.py`) on one preset,
once with the worker's defaults and once per lever, each on a fresh stack.

    python bench/latency_levers.py [--lever-preset openai] [--levers pcm,...] [--write]

A lever is a set of worker settings (`LEVERS`); what it changes is read off the critical path
(`timeline.py`), segment by segment, against the defaults' run. `--quick` runs one session of two
turns per lever.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from conversation import PACKAGES, run_cli
from end_of_turn import CONFIGS, LATENCY_FIRST
from machine import command_line
from report import Output, header, save_raw, table
from stats import ms, pct
from timeline import PATH_SEGMENTS
from voice_latency import LatencyRun, p50_p95, run_latency

MARKER = "bench-latency-levers"
# name -> the worker settings it changes from the defaults (what the defaults buy shows as the
# cost of turning them off)
LEVERS: dict[str, dict[str, str]] = {
    "defaults": {},
    "tts-pcm": {"OPENAI_TTS_FORMAT": "pcm"},
    "no-silence-trim": {"TTS_TRIM_LEADING_SILENCE": "false"},
    "input-frames-20ms": {"AUDIO_INPUT_FRAME_MS": "20"},
    "latency-first-endpointing": CONFIGS[LATENCY_FIRST],
    "no-preemptive-generation": {"PREEMPTIVE_GENERATION": "false"},
}
QUICK = {"sessions": 1, "turns": 2, "bursts": 3}


def rows(runs: dict[str, LatencyRun]) -> list[str]:
    base = runs.get("defaults")
    head = ["lever", "worker settings", "turns", "voice to voice p50 / p95", "p50 change"]
    head += ["segments that moved most (p50 change)"]
    out = []
    for name, run in runs.items():
        v50, v95 = pct(run.v2v(), 50), pct(run.v2v(), 95)
        change, moved = "", ""
        if base is not None and run is not base:
            change = f"{(v50 - pct(base.v2v(), 50)) * 1000:+.0f}"
            deltas = {
                seg: pct(run.path(seg), 50) - pct(base.path(seg), 50) for seg in PATH_SEGMENTS
            }
            biggest = sorted(deltas.items(), key=lambda kv: -abs(kv[1]))[:2]
            moved = "; ".join(f"{seg} {d * 1000:+.0f}" for seg, d in biggest)
        settings = ", ".join(f"`{k}={v}`" for k, v in LEVERS[name].items()) or "(none)"
        out.append([name, settings, str(len(run.turns)), f"{ms(v50)} / {ms(v95)}", change, moved])
    return table(head, out)


def section(runs: dict[str, LatencyRun], preset: str, command: str) -> str:
    busy = [name for name, run in runs.items() if run.busy]
    lines = [
        "## Latency levers",
        "",
        f"The voice latency benchmark on the `{preset}` preset, each lever on a fresh stack with "
        "the same simulated providers; milliseconds. A change smaller than the spread between "
        "turns (compare the p95s) is noise.",
        "",
        *header(command, PACKAGES, ["livekit-server"]),
        *(
            f"- `{name}`: the machine was busy {run.machine_cores:.2f} cores, "
            f"{run.others_cores:.2f} of them other work"
            for name, run in runs.items()
        ),
        "",
        *rows(runs),
    ]
    if busy:
        lines += ["", f"Taken on a busy machine: {', '.join(busy)}."]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("levers")
    group.add_argument("--lever-preset", default="openai", help="the preset the levers run on")
    group.add_argument("--levers", default=",".join(LEVERS), help="levers, in turn")


async def run(args: argparse.Namespace, run_dir: Path) -> None:
    runs: dict[str, LatencyRun] = {}
    for name in args.levers.split(","):
        print(f"lever {name}", flush=True)
        lever_args = copy.copy(args)
        lever_args.worker_overrides = {**args.worker_overrides, **LEVERS[name]}
        runs[name] = await run_latency(args.lever_preset, lever_args, run_dir / f"lever-{name}")
    save_raw(run_dir, "levers", runs)
    command = command_line()
    body = section(runs, args.lever_preset, command)
    print(body)
    out = Output.of(args)
    if out is not None:
        out.write_section(MARKER, body)
        out.write_json(
            "latency_levers",
            {
                name: {
                    "command": command,
                    "preset": args.lever_preset,
                    "settings": LEVERS[name],
                    "turns": len(run.turns),
                    "v2v_ms": p50_p95(run.v2v()),
                    "busy_machine": run.busy,
                }
                for name, run in runs.items()
            },
        )


if __name__ == "__main__":
    import sys

    run_cli({"levers": sys.modules[__name__]})
