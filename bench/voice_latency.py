"""Voice to voice latency, one timeline per turn: a scripted caller asks the bench question turn
after turn against each provider preset, and every turn's moments (the caller's, and the
worker's from the session's transcript, on one clock) are read as intervals and as the critical
path the reply waited on (`timeline.py`). Side measurements (`side_measures.py`) split what lies
between the caller and the worker.

    python bench/voice_latency.py [--presets local,openai,sarvam] [--sessions 3] [--turns 11]
                                  [--stt-final 0.15 --llm-first-token 0.3 ...] [--write]

`--quick` runs one session of two turns per preset. Part of `python bench/voice.py all`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conversation import PACKAGES, TurnResult, check_worker_log, converse, run_cli
from machine import command_line
from measure import BUSY_CORES, CpuMeter, this_program
from report import Output, header, plot_timeline, save_raw, table, verdict
from side_measures import leading_silence, transport_one_way, vad_end_offset
from stack import BENCH_ANSWER, BENCH_QUESTION, FRAME_MS, ProviderTimings, start_stack
from stats import both, ms, pct
from timeline import (
    INTERVALS,
    PATH_SEGMENTS,
    UNEXPLAINED,
    critical_path,
    interval,
    segments,
)

MARKER = "bench-voice-latency"
TARGETS_MS = {  # preset -> (voice to voice p50, p95); unexplained p95 for every preset
    "openai": (600.0, 700.0),
    "local": (1000.0, float("nan")),
}
UNEXPLAINED_P95_MS = 30.0
QUICK = {"sessions": 1, "turns": 2, "bursts": 5}


@dataclass
class LatencyRun:
    preset: str
    turns: list[TurnResult]
    transport: list[float]  # one-way audio latency samples, seconds
    vad_offset: float  # where the VAD ends the speech, after the last loud frame, seconds
    reply_silence: float  # near-silence opening the reply's audio, seconds
    timings: ProviderTimings
    worker_overrides: dict[str, str] = field(default_factory=dict)
    machine_cores: float = 0.0  # CPU the whole machine used during the turns, cores
    own_cores: float = 0.0  # of which this run's processes
    date: str = ""

    @property
    def others_cores(self) -> float:
        return max(0.0, self.machine_cores - self.own_cores)

    @property
    def busy(self) -> bool:
        return self.others_cores > BUSY_CORES

    def v2v(self) -> list[float]:
        return [t.measured for t in self.turns]

    def path(self, name: str) -> list[float]:
        """Seconds of one critical-path segment, per turn."""
        return [segments(t.timeline)[name] for t in self.turns if t.timeline]

    def span(self, name: str) -> list[float | None]:
        return [interval(t.timeline, name) for t in self.turns]


async def run_latency(preset: str, args: argparse.Namespace, run_dir: Path) -> LatencyRun:
    stack = start_stack(
        run_dir, preset=preset, timings=args.timings, worker_overrides=args.worker_overrides
    )
    try:
        # One session first, not counted: every process's first request pays its imports.
        await converse(stack.api_url, f"bench-latency-{preset}-warmup", 1)
        results: list[TurnResult] = []
        meter = CpuMeter({"this run": this_program()})
        for index in range(args.sessions):
            results += await converse(stack.api_url, f"bench-latency-{preset}-{index}", args.turns)
            print(f"  {preset}: session {index + 1}/{args.sessions}, {len(results)} turns",
                  flush=True)  # fmt: skip
        load = meter.stop()
        transport = await transport_one_way(stack, args.bursts)
        check_worker_log(stack)
    finally:
        stack.stop()
    return LatencyRun(
        preset,
        results,
        transport,
        await vad_end_offset(),
        leading_silence(BENCH_ANSWER.split(". ")[0] + "."),
        args.timings,
        args.worker_overrides,
        load.machine_cores,
        load.cores("this run"),
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    )


# --- figures ----------------------------------------------------------------------------------


def p50_p95(values: list[float] | list[float | None]) -> dict[str, float]:
    return {"p50": round(pct(values, 50) * 1000, 1), "p95": round(pct(values, 95) * 1000, 1)}


def figures(run: LatencyRun, command: str) -> dict[str, Any]:
    """What docs/benchmarks.json keeps of a run (milliseconds)."""
    return {
        "command": command,
        "date": run.date,
        "machine_load": {
            "busy_cores": round(run.machine_cores, 2),
            "this_run_cores": round(run.own_cores, 2),
            "other_work_cores": round(run.others_cores, 2),
            "busy_machine": run.busy,
        },
        "providers": asdict(run.timings),
        "worker_settings_changed": run.worker_overrides,
        "turns": len(run.turns),
        "v2v_ms": p50_p95(run.v2v()),
        "unexplained_ms": p50_p95(run.path(UNEXPLAINED)),
        "critical_path_ms": {name: p50_p95(run.path(name)) for name in PATH_SEGMENTS},
        "intervals_ms": {name: p50_p95(run.span(name)) for name in INTERVALS},
        "side_measures_ms": side_figures(run),
    }


def side_figures(run: LatencyRun) -> dict[str, float]:
    return {
        "transport_one_way_p50": round(pct(run.transport, 50) * 1000, 1),
        "vad_end_after_last_loud_frame": round(run.vad_offset * 1000, 1),
        "reply_leading_silence": round(run.reply_silence * 1000, 1),
    }


# --- report -----------------------------------------------------------------------------------


def path_rows(runs: list[LatencyRun]) -> list[str]:
    head = ["preset", "turns", "voice to voice p50 / p95"]
    head += [f"{name} p50 / p95" for name in PATH_SEGMENTS]
    rows = [
        [run.preset, str(len(run.turns)), f"**{both(run.v2v())}**"]
        + [both(run.path(name)) for name in PATH_SEGMENTS]
        for run in runs
    ]
    return table(head, rows)


def interval_rows(runs: list[LatencyRun]) -> list[str]:
    head = ["interval (measured on its own)", *(f"{run.preset} p50 / p95" for run in runs)]
    rows = [[name, *(both(run.span(name)) for run in runs)] for name in INTERVALS]
    return table(head, rows)


def side_rows(runs: list[LatencyRun]) -> list[str]:
    head = ["preset", "audio one way through livekit-server, p50"]
    head += ["the VAD ends the speech after the last loud frame by"]
    head += ["near-silence opening the reply's audio"]
    rows = [
        [run.preset, ms(pct(run.transport, 50)), ms(run.vad_offset), ms(run.reply_silence)]
        for run in runs
    ]
    return table(head, rows)


def latency_section(runs: list[LatencyRun], command: str, plot: str | None) -> str:
    lines = [
        "## Voice to voice latency",
        "",
        "A scripted caller (`harness.caller.VoiceCaller`, LiveKit rtc SDK) joins through the "
        "session API as a browser user does and, after the greeting, asks the bench question "
        f"(Piper voice, real-time {FRAME_MS} ms frames) turn after turn, each reply heard out. "
        "Each turn is one timeline on one clock (the machine's wall clock): the caller's last "
        "voiced frame sent (time 0) and first agent frame heard; from the worker, as it stores "
        "them in the session's transcript (`TurnTimeline`), where its VAD placed the end of "
        "speech, the VAD's decision, the transcripts, the end-of-turn decision, the LLM request, "
        "first token and first sentence, the TTS request and first byte, and the first agent "
        "frame pushed to the room. The critical path is the chain of those moments that the "
        "reply waited on; its segments add up to the voice to voice, and the glue between two "
        "stages that no stage covers is *unexplained*. One warm-up session per preset is not "
        "counted. These figures gate nothing.",
        "",
        *header(command, PACKAGES, ["livekit-server"]),
        f"- Question / answer: \u201c{BENCH_QUESTION}\u201d / \u201c{BENCH_ANSWER}\u201d",
    ]
    for run in runs:
        changed = (
            f"; worker settings changed: {run.worker_overrides}" if run.worker_overrides else ""
        )
        busy = " **A busy machine: other work took CPU during the run.**" if run.busy else ""
        lines.append(
            f"- `{run.preset}`: {run.timings.describe(run.preset)}{changed}. During its turns "
            f"the machine was busy {run.machine_cores:.2f} cores, {run.own_cores:.2f} of them "
            f"this run's processes, {run.others_cores:.2f} other work.{busy}"
        )
    lines += [
        "",
        "What each reply waited on (the critical path), milliseconds, p50 / p95 of each "
        "segment over the turns (the p50s of the segments need not add up to the p50 of the "
        "whole):",
        "",
        *path_rows(runs),
        "",
        "Each interval on its own (they overlap: with preemptive generation the LLM and TTS "
        "run before the end-of-turn decision), milliseconds:",
        "",
        *interval_rows(runs),
        "",
        "Side measurements of what lies between the caller and the worker: two rtc "
        "participants of one process exchanging tone bursts through the same livekit-server "
        "(same frame size and queue as the caller); Silero run offline on the question's "
        "audio; the reply's first sentence spoken by Piper:",
        "",
        *side_rows(runs),
    ]
    if plot:
        lines += ["", f"![one turn's timeline per preset]({plot})"]
    lines += ["", *findings(runs)]
    return "\n".join(lines)


def findings(runs: list[LatencyRun]) -> list[str]:
    """Each run against its targets and what dominates it, every figure from the run."""
    lines = ["### Findings", ""]
    for run in runs:
        v50, v95 = pct(run.v2v(), 50), pct(run.v2v(), 95)
        un95 = pct(run.path(UNEXPLAINED), 95)
        path50 = {name: pct(run.path(name), 50) for name in PATH_SEGMENTS}
        ranked = sorted(path50.items(), key=lambda item: -item[1] if item[1] == item[1] else 0)
        top = "; ".join(f"{name} {ms(value)} ms" for name, value in ranked[:3])
        text = (
            f"- `{run.preset}`: voice to voice p50 {ms(v50)} ms, p95 {ms(v95)} ms over "
            f"{len(run.turns)} turns. What the replies waited on most (p50): {top}. Unexplained "
            f"p95 {ms(un95)} ms against {UNEXPLAINED_P95_MS:.0f} ms: "
            f"{verdict(un95 * 1000 <= UNEXPLAINED_P95_MS)}."
        )
        if run.preset in TARGETS_MS:
            t50, t95 = TARGETS_MS[run.preset]
            text += f" Against p50 {t50:.0f} ms: {verdict(v50 * 1000 <= t50)}"
            if t95 == t95:
                text += f"; against p95 {t95:.0f} ms: {verdict(v95 * 1000 <= t95)}"
            text += "."
        if run.preset != "local":
            text += " " + what_stands_between(run, v50)
        else:
            vad = pct(run.span("VAD silence wait"), 50)
            stt = pct(run.span("STT final after the speech's end"), 50)
            text += (
                f" Whisper transcribes once the VAD has ended the speech: the final transcript "
                f"comes {ms(stt)} ms after the end of speech (p50), of which the VAD's silence "
                f"wait {ms(vad)} ms and Whisper on this CPU the other {ms(stt - vad)} ms."
            )
        if run.busy:
            text += " Taken on a busy machine."
        lines.append(text)
    return lines


def what_stands_between(run: LatencyRun, v50: float) -> str:
    """What the p50 is made of, from this run: the end-of-turn decision when the replies waited
    for it, and the floor the simulated providers, the audio's two trips through
    livekit-server and the LLM's first sentence set without it."""
    t = run.timings
    providers = t.stt_final + t.llm_first_token + t.tts_first_byte
    transport = 2 * pct(run.transport, 50)
    on_path = [x for x in run.path("LLM first sentence") if x > 0]
    waited = [x for x in run.path("end-of-turn decision") if x > 0]
    text = ""
    if waited:
        text = (
            f"{len(waited)} of {len(run.turns)} replies waited for the end-of-turn decision, "
            f"{ms(pct(waited, 50))} ms after the end of speech (p50; the endpointing settings: "
            "see the end-of-turn section), the LLM and TTS having answered under it (preemptive "
            "generation). "
        )
    floor = providers + transport + (pct(on_path, 50) if on_path else 0.0)
    sentence = (
        f"and the LLM's first sentence at {t.llm_tokens_per_second:g} tokens/s, "
        f"{ms(pct(on_path, 50))} ms (p50 of the {len(on_path)} replies that waited for it)"
        if on_path
        else "plus the LLM's first sentence, which no reply waited for here"
    )
    return text + (
        f"Without that wait the floor is about {ms(floor)} ms: the simulated providers "
        f"{ms(providers)} ms in a row (STT final {ms(t.stt_final)} + LLM first token "
        f"{ms(t.llm_first_token)} + TTS first byte {ms(t.tts_first_byte)}), the audio's two "
        f"trips through livekit-server {ms(transport)} ms (twice the one-way p50), {sentence}."
    )


# --- command line -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("latency")
    group.add_argument("--sessions", type=int, default=3, help="sessions per preset")
    group.add_argument("--turns", type=int, default=11, help="turns per session")
    group.add_argument("--bursts", type=int, default=30, help="tone bursts of the transport probe")
    group.add_argument(
        "--from-raw",
        type=Path,
        default=None,
        metavar="LATENCY_JSON",
        help="no measuring: rebuild the report from a run's raw latency.json",
    )
    group.add_argument("--measured-by", default="",
                       help="with --from-raw: the command that measured those figures")  # fmt: skip


def load_raw(path: Path) -> list[LatencyRun]:
    """The runs a measuring run saved (`save_raw`), to report them again."""
    runs = []
    for item in json.loads(path.read_text()):
        item["turns"] = [TurnResult(**turn) for turn in item["turns"]]
        item["timings"] = ProviderTimings(**item["timings"])
        runs.append(LatencyRun(**item))
    return runs


async def run(args: argparse.Namespace, run_dir: Path) -> None:
    if args.from_raw is not None:
        runs = load_raw(args.from_raw)
        command = f"{args.measured_by} (report rebuilt from its raw figures: {command_line()})"
    else:
        runs = []
        for preset in args.presets.split(","):
            print(f"latency, {preset} preset", flush=True)
            runs.append(await run_latency(preset, args, run_dir / f"latency-{preset}"))
        save_raw(run_dir, "latency", runs)
        command = command_line()
    out = Output.of(args)
    plot = None
    if out is not None:
        path, link = out.image("voice-latency.png")
        spans = {
            run.preset: {
                name: (
                    pct(
                        [0.0 if a == "caller_speech_end" else t.timeline.get(a) for t in run.turns],
                        50,
                    )
                    * 1000,
                    pct([t.timeline.get(b) for t in run.turns], 50) * 1000,
                )  # fmt: skip
                for name, (a, b) in INTERVALS.items()
            }
            for run in runs
        }
        heard = {run.preset: pct(run.v2v(), 50) * 1000 for run in runs}
        plot = link if plot_timeline(spans, heard, TARGETS_MS["openai"][0], path) else None
    body = latency_section(runs, command, plot)
    print(body)
    if out is not None:
        out.write_section(MARKER, body)
        out.merge_json("voice_latency", {run.preset: figures(run, command) for run in runs})
    for run in runs:  # the turns' paths, for a reader checking the segments add up
        for turn in run.turns[:1]:
            print(run.preset, [(n, round(s * 1000)) for n, s in critical_path(turn.timeline)])


if __name__ == "__main__":
    import sys

    run_cli({"latency": sys.modules[__name__]})
