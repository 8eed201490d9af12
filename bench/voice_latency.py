"""Voice to voice latency: a scripted caller asks the bench question turn after turn, and each
turn is split into the stages the worker recorded and what lies outside them (side measurements
in `side_measures.py`).

    python bench/voice_latency.py [--modes local,cloud] [--sessions 3] [--turns 11] [--write]

`--quick` runs one session of two turns per mode. Part of `python bench/voice.py all`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from conversation import PACKAGES, STAGES, TurnResult, check_worker_log, converse, run_cli
from machine import command_line
from measure import CpuMeter, this_program
from report import Output, header, plot_latency, save_raw, table, verdict
from side_measures import leading_silence, transport_one_way, vad_end_offset, vad_silence_wait
from stack import BENCH_ANSWER, BENCH_QUESTION, FRAME_MS, MODE_NAMES, SIMULATED, start_stack
from stats import both, ms, pct

MARKER = "bench-voice-latency"
OVERHEAD_P95_MS = 30.0  # transport + framework, end to end
CLOUD_V2V_P50_MS = 600.0
QUICK = {"sessions": 1, "turns": 2, "bursts": 5}


@dataclass
class LatencyRun:
    mode: str
    turns: list[TurnResult]
    transport: list[float]  # one-way audio latency samples
    vad_offset: float
    reply_silence: float
    vad_wait: float
    worker_overrides: dict[str, str] = field(default_factory=dict)
    machine_cores: float = 0.0  # CPU the whole machine used during the turns, cores
    own_cores: float = 0.0  # of which this run's processes


async def run_latency(
    mode: str, sessions: int, turns: int, bursts: int, run_dir: Path, overrides: dict[str, str]
) -> LatencyRun:
    stack = start_stack(run_dir, providers=mode, worker_overrides=overrides)
    try:
        results: list[TurnResult] = []
        meter = CpuMeter({"this run": this_program()})
        for index in range(sessions):
            results += await converse(stack.api_url, f"bench-latency-{mode}-{index}", turns)
            print(f"  {mode}: session {index + 1}/{sessions}, {len(results)} turns", flush=True)
        load = meter.stop()
        transport = await transport_one_way(stack, bursts)
        check_worker_log(stack)
    finally:
        stack.stop()
    first_sentence = BENCH_ANSWER.split(". ")[0] + "."
    return LatencyRun(
        mode,
        results,
        transport,
        await vad_end_offset(),
        leading_silence(first_sentence),
        vad_silence_wait(),
        overrides,
        load.machine_cores,
        load.cores("this run"),
    )


# --- report -----------------------------------------------------------------------------------


def latency_rows(runs: list[LatencyRun]) -> list[str]:
    head = ["providers", "turns", "voice to voice p50 / p95", "end of turn (of which STT)"]
    head += ["LLM TTFT", "TTS TTFB", "rest: transport + framework", "of which inside the worker"]
    head += ["of which outside"]
    rows = []
    for run in runs:
        t = run.turns
        rows.append(
            [
                run.mode,
                str(len(t)),
                f"**{both(x.measured for x in t)}**",
                f"{both(x.end_of_turn for x in t)} ({both(x.stt for x in t)})",
                both(x.llm_ttft for x in t),
                both(x.tts_ttfb for x in t),
                both(x.rest for x in t),
                both(x.inside_worker for x in t),
                both(x.outside_worker for x in t),
            ]
        )
    return table(head, rows)


def outside_rows(runs: list[LatencyRun]) -> list[str]:
    head = ["providers", "outside the worker p50", "audio transport, both ways (2 x one-way p50)"]
    head += ["VAD places the end of speech later by", "silence opening the reply's audio"]
    head += ["left: agent audio output buffering, decoding, scheduling"]
    rows = []
    for run in runs:
        outside = pct((x.outside_worker for x in run.turns), 50)
        transport = 2 * pct(run.transport, 50)
        left = outside - transport - run.vad_offset - run.reply_silence
        figures = (outside, transport, run.vad_offset, run.reply_silence, left)
        rows.append([run.mode, *(ms(v) for v in figures)])
    return table(head, rows)


def latency_section(runs: list[LatencyRun], command: str, plot: str | None) -> str:
    vad_wait = runs[0].vad_wait if runs else float("nan")
    lines = [
        "## Voice to voice latency",
        "",
        "A scripted caller (`tests/voice_caller.py`, LiveKit rtc SDK) joins through the session "
        f"API like a browser user and speaks the bench question (Piper voice, real-time {FRAME_MS} "
        "ms frames) after the agent's greeting; it times each turn from its last non-silent frame "
        "to the first non-silent agent frame it receives. The stages come from the session's "
        "transcript in Redis, which the worker writes from LiveKit's per-turn metrics. Each turn "
        "is answered by a plain sentence (no tool), and the next turn starts when the reply has "
        "played out. These figures gate nothing.",
        "",
        *header(command, PACKAGES, ["livekit-server"]),
        f"- Question / answer: \u201c{BENCH_QUESTION}\u201d / \u201c{BENCH_ANSWER}\u201d",
    ]
    for run in runs:
        extra = f"; worker settings changed: {run.worker_overrides}" if run.worker_overrides else ""
        lines.append(
            f"- `{run.mode}`: {MODE_NAMES[run.mode]}{extra}. During its turns the machine was "
            f"busy {run.machine_cores:.2f} cores, {run.own_cores:.2f} of them this run's "
            "processes (the rest: other work on the machine)"
        )
    lines += [
        "",
        "Milliseconds, p50 / p95:",
        "",
        *latency_rows(runs),
        "",
        "End of turn runs from the moment the worker's VAD places the end of speech to the "
        f"turn's commit: it contains the VAD's silence wait ({vad_wait:g} s, Silero's default), "
        "the STT request (STT is the part between that moment and the final transcript) and the "
        "end-of-turn model. The rest is the measured figure minus end of turn, TTFT and TTFB; "
        "inside the worker is its own voice-to-voice (LiveKit's `e2e_latency`) minus the same "
        "stages, outside is the measured figure minus the worker's own.",
        "",
        "What lies outside the worker's clock, p50, split with side measurements: the one-way "
        "audio latency between two rtc participants through the same livekit-server "
        f"({len(runs[0].transport) if runs else 0} tone bursts, same frame size and queue as the "
        "caller), the Silero VAD run offline on the question's audio (where it places the end of "
        "speech, against the last loud frame), and the near-silence Piper puts before the first "
        "loud frame of the reply's first sentence:",
        "",
        *outside_rows(runs),
    ]
    if plot:
        lines += ["", f"![voice to voice latency by stage]({plot})"]
    lines += ["", *latency_findings(runs)]
    return "\n".join(lines)


def latency_findings(runs: list[LatencyRun]) -> list[str]:
    """Each run against the targets, every figure and every comparison taken from the run."""
    lines = ["### Against the targets", ""]
    for run in runs:
        t = run.turns
        rest95 = pct((x.rest for x in t), 95)
        v2v50 = pct((x.measured for x in t), 50)
        stage50 = {name: pct(map(get, t), 50) for name, get in STAGES.items()}
        largest = max(
            stage50, key=lambda name: -1.0 if stage50[name] != stage50[name] else stage50[name]
        )
        lines.append(
            f"- `{run.mode}`: transport + framework overhead p95 {ms(rest95)} ms against "
            f"{OVERHEAD_P95_MS:.0f} ms: {verdict(rest95 * 1000 <= OVERHEAD_P95_MS)}. Inside the "
            f"worker it is {ms(pct((x.inside_worker for x in t), 95))} ms at p95; the rest is "
            f"outside it (table above). The largest part at p50 is {largest}, "
            f"{ms(stage50[largest])} ms of the {ms(v2v50)} ms."
        )
        if run.mode == "cloud":
            floor = sum(SIMULATED.values())
            stt50 = pct((x.stt for x in t), 50)
            parts = {  # what the rest of the p50 is made of, measured in this run
                "the wait from the end of speech to the STT request (the STT stage minus the "
                f"simulated {ms(SIMULATED['stt_delay'])} ms; the VAD's silence wait is "
                f"{run.vad_wait:g} s)": stt50 - SIMULATED["stt_delay"],
                "the end-of-turn model after the transcript": stage50["end of turn"] - stt50,
                "the LLM and TTS beyond their simulated delays": stage50["LLM TTFT"]
                + stage50["TTS TTFB"]
                - SIMULATED["llm_first_token"]
                - SIMULATED["tts_first_byte"],
                "the worker's own glue": stage50["inside the worker"],
                "what lies outside the worker": stage50["outside the worker"],
            }
            lines.append(
                f"- Simulated cloud voice to voice p50 {ms(v2v50)} ms against "
                f"{CLOUD_V2V_P50_MS:.0f} ms: {verdict(v2v50 * 1000 <= CLOUD_V2V_P50_MS)}. The "
                f"three provider delays alone add up to {ms(floor)} ms when they run one after "
                f"the other, as they do with a non-streaming STT. Of the other "
                f"{ms(v2v50 - floor)} ms (p50 of each part): "
                + "; ".join(f"{name} {ms(value)} ms" for name, value in parts.items())
                + "."
            )
    return lines


# --- command line -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("latency")
    group.add_argument("--modes", default="local,cloud", help="providers to run, in turn")
    group.add_argument("--sessions", type=int, default=3, help="sessions per mode")
    group.add_argument("--turns", type=int, default=11, help="turns per session")
    group.add_argument("--bursts", type=int, default=30, help="tone bursts of the transport probe")


async def run(args: argparse.Namespace, run_dir: Path) -> None:
    runs = []
    for mode in args.modes.split(","):
        print(f"latency, {mode} providers", flush=True)
        runs.append(
            await run_latency(
                mode, args.sessions, args.turns, args.bursts, run_dir / mode, args.worker_overrides
            )
        )
    save_raw(run_dir, "latency", runs)
    out = Output.of(args)
    plot = None
    if out is not None:
        path, link = out.image("voice-latency.png")
        stages = {
            r.mode: {name: pct(map(get, r.turns), 50) * 1000 for name, get in STAGES.items()}
            for r in runs
        }
        measured = {r.mode: [x.measured * 1000 for x in r.turns] for r in runs}
        plot = link if plot_latency(stages, measured, CLOUD_V2V_P50_MS, path) else None
    body = latency_section(runs, command_line(), plot)
    print(body)
    if out is not None:
        out.write_section(MARKER, body)


if __name__ == "__main__":
    import sys

    run_cli({"latency": sys.modules[__name__]})
