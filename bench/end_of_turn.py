"""End of turn: how fast each endpointing configuration answers a finished sentence, and how
often it cuts off a user who pauses in mid-sentence.

    python bench/end_of_turn.py [--configs default,balanced,latency-first] [--write]

The set: sentences spoken by the Piper voice, some complete, some with a pause of 300, 500 or
800 ms in mid-sentence ("Create a task in Apollo ... for Maria"). The `openai` preset on the
wire, its Deepgram fake transcribing what it hears (Whisper, as the end-of-turn model needs the
words). A paused sentence is cut off when the worker commits a user turn before the caller has
finished speaking it (the agent would answer inside the pause). For complete sentences: the
end-of-turn decision after the end of speech (the worker's timeline) and the voice to voice at
the caller. `--quick` runs one sentence of each kind per configuration.
"""

from __future__ import annotations

import argparse
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conversation import PACKAGES, WAIT, run_cli
from machine import command_line
from measure import CpuMeter, this_program
from report import Output, header, save_raw, table
from stack import start_stack
from stats import both, pct

from session_api.models import SessionState
from voice_common.transcript import AgentTurn, UserTurn

MARKER = "bench-end-of-turn"
MAX_CUT_OFF = 0.05  # the defaults must keep false cut-offs at or below this share
PAUSES = (0.3, 0.5, 0.8)
PAUSED = (  # "|" is where the speaker pauses
    "Create a task in Apollo | for Maria due on Friday.",
    "What is the status of | the Hermes project?",
    "Move the design review to | next Tuesday afternoon.",
    "I would like to | add a task for the billing page.",
    "Can you tell me who is working on | the checkout redesign?",
)
COMPLETE = (
    "How are the projects going?",
    "What is the status of the Hermes project?",
    "Move the design review to next Tuesday afternoon.",
    "Who is working on the checkout redesign?",
    "Thank you, that is all for now.",
)
# name -> worker settings: the VAD's silence wait, the end-of-turn delays and the end-of-turn
# model's threshold (0.36: LiveKit's English default), each configuration all four
CONFIGS: dict[str, dict[str, str]] = {
    "previous-default": {"VAD_MIN_SILENCE_DURATION": "0.55", "MIN_ENDPOINTING_DELAY": "0.4",
                         "MAX_ENDPOINTING_DELAY": "2.5", "EOT_UNLIKELY_THRESHOLD": "0.36"},
    "default": {"VAD_MIN_SILENCE_DURATION": "0.55", "MIN_ENDPOINTING_DELAY": "0.4",
                "MAX_ENDPOINTING_DELAY": "1.3", "EOT_UNLIKELY_THRESHOLD": "0.8"},
    "balanced": {"VAD_MIN_SILENCE_DURATION": "0.35", "MIN_ENDPOINTING_DELAY": "0.3",
                 "MAX_ENDPOINTING_DELAY": "2.5", "EOT_UNLIKELY_THRESHOLD": "0.36"},
    "latency-first": {"VAD_MIN_SILENCE_DURATION": "0.25", "MIN_ENDPOINTING_DELAY": "0.2",
                      "MAX_ENDPOINTING_DELAY": "2.5", "EOT_UNLIKELY_THRESHOLD": "0.36"},
}  # fmt: skip
LATENCY_FIRST = "latency-first"
QUICK = {"eot_paused": 1, "eot_complete": 1, "configs": "default"}


@dataclass
class Spoken:
    text: str
    pause: float  # 0: a complete sentence
    started: float  # wall clock
    speech_ended: float
    voice_to_voice: float | None
    cut_off: bool = False
    heard: list[str] = field(default_factory=list)  # the user turns committed, in order
    end_of_turn: float | None = None  # the worker's decision after its end of speech


@dataclass
class ConfigRun:
    name: str
    settings: dict[str, str]
    spoken: list[Spoken] = field(default_factory=list)
    machine_cores: float = 0.0

    def paused(self) -> list[Spoken]:
        return [s for s in self.spoken if s.pause]

    def complete(self) -> list[Spoken]:
        return [s for s in self.spoken if not s.pause]

    def cut_off_share(self) -> float:
        paused = self.paused()
        return sum(s.cut_off for s in paused) / len(paused) if paused else float("nan")


def the_set(paused: int, complete: int) -> list[tuple[str, float]]:
    items = [(text, pause) for text in PAUSED[:paused] for pause in PAUSES]
    return items + [(text, 0.0) for text in COMPLETE[:complete]]


async def run_config(stack: Any, name: str, items: list[tuple[str, float]]) -> ConfigRun:
    from stack import VoiceCaller

    from harness.caller import CallerError

    run = ConfigRun(name, CONFIGS[name])
    meter = CpuMeter({"this run": this_program()})
    user = f"bench-eot-{name}-{secrets.token_hex(3)}"
    async with VoiceCaller.connect(stack.api_url, user, keep_audio=False) as caller:
        await caller.wait_for_greeting(WAIT)
        offset = caller.posted_wall - caller.posted_at
        for text, pause in items:
            turn = await caller.speak(text, pause)
            await caller.wait_spoken(turn, WAIT)
            try:
                await caller.wait_reply(turn, WAIT)
            except CallerError as exc:  # counted as unanswered (no voice to voice), not fatal
                print(f"  {name}: no reply to {text!r}: {exc}", flush=True)
            await caller.wait_quiet(1.0, WAIT)  # every reply (two after a cut-off) heard out
            run.spoken.append(
                Spoken(
                    text,
                    pause,
                    turn.started_at + offset,
                    turn.speech_ended_at + offset,
                    turn.voice_to_voice,
                )  # fmt: skip
            )
        record = SessionState.model_validate(await caller.fetch_session())
    run.machine_cores = meter.stop().machine_cores
    classify(run.spoken, record)
    return run


def classify(spoken: list[Spoken], record: SessionState) -> None:
    """Each sentence's user turns (committed between its start and the next sentence's): cut
    off if one was committed before the caller finished speaking."""
    users = [e for e in record.transcript if isinstance(e, UserTurn)]
    agents = [e for e in record.transcript if isinstance(e, AgentTurn)]
    for index, item in enumerate(spoken):
        end = spoken[index + 1].started if index + 1 < len(spoken) else float("inf")
        mine = [u for u in users if item.started <= u.at.timestamp() < end]
        item.cut_off = any(u.at.timestamp() < item.speech_ended for u in mine)
        item.heard = [f"{u.at.timestamp() - item.speech_ended:+.2f}s {u.text}" for u in mine]
        answer = next((a for a in agents if item.speech_ended < a.at.timestamp() < end), None)
        if answer is not None:
            marks = answer.timeline
            if marks.end_of_turn is not None and marks.user_speech_ended is not None:
                item.end_of_turn = marks.end_of_turn - marks.user_speech_ended


def rows(runs: list[ConfigRun]) -> list[str]:
    head = ["configuration", "worker settings", "paused sentences", "false cut-offs"]
    head += ["end of turn after complete sentences p50 / p95", "voice to voice p50 / p95"]
    out = []
    for run in runs:
        settings = ", ".join(f"`{k}={v}`" for k, v in run.settings.items())
        cut = sum(s.cut_off for s in run.paused())
        out.append(
            [
                run.name,
                settings,
                str(len(run.paused())),
                f"{cut} ({run.cut_off_share():.0%})",
                both(s.end_of_turn for s in run.complete()),
                both(s.voice_to_voice for s in run.complete()),
            ]
        )
    return table(head, out)


def by_pause(runs: list[ConfigRun]) -> list[str]:
    head = ["configuration", *(f"cut off at a {p * 1000:.0f} ms pause" for p in PAUSES)]
    out = []
    for run in runs:
        cells = []
        for pause in PAUSES:
            items = [s for s in run.paused() if s.pause == pause]
            cells.append(f"{sum(s.cut_off for s in items)} of {len(items)}")
        out.append([run.name, *cells])
    return table(head, out)


def findings(runs: list[ConfigRun]) -> list[str]:
    lines = ["### Findings", ""]
    safe = [r for r in runs if r.cut_off_share() <= MAX_CUT_OFF]
    for run in runs:
        eot50 = pct([s.end_of_turn for s in run.complete()], 50)
        lines.append(
            f"- `{run.name}`: {run.cut_off_share():.0%} of paused sentences cut off, end of turn "
            f"{eot50 * 1000:.0f} ms (p50) after a complete one."
        )

    def p50(run: ConfigRun) -> float:
        return pct([s.end_of_turn for s in run.complete()], 50)

    if not safe:
        lines.append(f"- No configuration kept false cut-offs within {MAX_CUT_OFF:.0%}.")
        return lines
    fastest = min(safe, key=p50)
    lines.append(
        f"- The fastest configuration within {MAX_CUT_OFF:.0%} false cut-offs on this set is "
        f"`{fastest.name}`."
    )
    quick = next((r for r in runs if r.name == LATENCY_FIRST), None)
    if quick is not None and quick is not fastest:
        lines.append(
            f"- A latency-first deployment can take `{quick.name}`: it ends a complete turn "
            f"{(p50(fastest) - p50(quick)) * 1000:.0f} ms sooner (p50) than "
            f"`{fastest.name}`, and cuts off {quick.cut_off_share():.0%} of the paused "
            f"sentences instead of {fastest.cut_off_share():.0%}."
        )
    return lines


def section(runs: list[ConfigRun], command: str) -> str:
    lines = [
        "## End of turn: speed against cut-offs",
        "",
        (__doc__ or "").split("\n\n")[2].replace("\n", " "),
        "",
        *header(command, PACKAGES, ["livekit-server"]),
        *(f"- `{r.name}`: the machine was busy {r.machine_cores:.2f} cores" for r in runs),
        "",
        *rows(runs),
        "",
        *by_pause(runs),
        "",
        *findings(runs),
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("end of turn")
    group.add_argument("--configs", default=",".join(CONFIGS), help="configurations, in turn")
    group.add_argument("--eot-paused", type=int, default=len(PAUSED), help="paused sentences")
    group.add_argument("--eot-complete", type=int, default=len(COMPLETE), help="complete ones")


async def run(args: argparse.Namespace, run_dir: Path) -> None:
    items = the_set(args.eot_paused, args.eot_complete)
    stack = start_stack(
        run_dir / "end-of-turn",
        preset="openai",
        timings=args.timings,
        transcript=None,
        worker_overrides=args.worker_overrides,
    )
    runs = []
    try:
        for name in args.configs.split(","):
            print(f"end of turn, {name}", flush=True)
            stack.restart_worker(**CONFIGS[name])
            runs.append(await run_config(stack, name, items))
    finally:
        stack.stop()
    save_raw(run_dir, "end-of-turn", runs)
    command = command_line()
    body = section(runs, command)
    print(body)
    out = Output.of(args)
    if out is not None:
        out.write_section(MARKER, body)
        figures = {
            run.name: {
                "command": command,
                "settings": run.settings,
                "paused_sentences": len(run.paused()),
                "false_cut_off_share": round(run.cut_off_share(), 3),
                "end_of_turn_ms": {
                    f"p{q}": round(pct([s.end_of_turn for s in run.complete()], q) * 1000, 1)
                    for q in (50, 95)
                },
                "machine_busy_cores": round(run.machine_cores, 2),
            }
            for run in runs
        }
        out.merge_json("end_of_turn", figures)


if __name__ == "__main__":
    import sys

    run_cli({"endpointing": sys.modules[__name__]})
