"""Where one conversation's worker CPU goes: py-spy samples the worker's process tree during a
single conversation (`profiling.py`), and each Python stack is put in the category of the work it
does. What the worker's tree used beyond the Python samples ran in threads without Python: WebRTC,
the rtc SDK's runtime and ONNX Runtime's own threads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import profiling
from report import table

STARTING = "a new job process starting (fork, imports, prewarm)"
# The first rule one of whose markers a stack contains names its work (frames read
# "function (file:line)"). Stacks ending in a wait are idle and left out (IDLE_LEAVES).
RULES: profiling.Rules = [
    (STARTING, ("_ProcClient.initialize", "importlib._bootstrap")),
    ("TLS contexts (CA certificates read per HTTP client)", ("create_default_context",)),
    ("the VAD (Silero)", ("VADStream", "OnnxModel")),
    ("the end-of-turn model", ("TurnDetector", "_drain_audio_channel", "/eot/", "Session.run")),
    ("transcript sync (speaking-rate estimate)", ("SpeakingRate", "synchronizer.py")),
    ("TTS (request, MP3 decoding)", ("AudioStreamDecoder", "ChunkedStream", "SynthesizeStream")),
    ("LLM (request, tool schemas)", ("LLMStream", "parse_function_tools")),
    ("STT (streaming to the provider)", ("SpeechStream", "RecognizeStream")),
    (
        "the user's audio in (room input, gain control)",
        ("_ParticipantAudioInputStream", "_ParticipantInputStream", "AudioProcessingModule"),
    ),
    ("the agent's audio out", ("_ParticipantAudioOutput", "AudioSource.capture_frame")),
    ("rtc SDK events (FFI callbacks, queues)", ("ffi_event_callback", "FfiQueue", "FfiClient")),
    ("this project's code (tools, transcript, Redis)", ("voice_agent/", "voice_common/")),
]
REST = "LiveKit Agents' event loop and the rest"
MAIN = "the worker's main process (jobs, health, metrics)"
NATIVE = "threads without Python (WebRTC, rtc SDK runtime, ONNX Runtime), by difference"
IDLE_LEAVES = ("EpollSelector.select", "Condition.wait", "Event.wait", "Queue.get", "_worker")


# `--subprocesses` roots each stack in its processes, outermost first: `process PID:"cmd line"`
# (a command line may hold ";"). The worker's main process, its forkserver, then a job process.
PROCESS_FRAME = re.compile(r'(?:^|";)process \d+:"')


def classify(stack: str) -> str | None:
    leaf = stack.rsplit(";", 1)[-1].split(" (", 1)[0].strip()
    if not leaf or leaf in IDLE_LEAVES:
        return None
    depth = len(PROCESS_FRAME.findall(stack))
    if depth == 1:
        return MAIN
    if depth == 2:  # the forkserver, forking a job process
        return STARTING
    return by_rule(stack)


by_rule = profiling.first_rule(RULES, REST)


@dataclass
class WorkerProfile:
    """Cores per conversation in progress, per category, during one conversation."""

    cores: dict[str, float]  # the categories, then NATIVE
    measured: float  # the worker's tree, all its CPU
    turns: int
    seconds: float  # the conversation's length

    @classmethod
    def of(
        cls, raw_file: Path, measured: float, turns: int, seconds: float
    ) -> WorkerProfile | None:
        counts = profiling.samples(raw_file, classify)
        if not counts or seconds <= 0:
            return None
        cores = {n: c / profiling.RATE_HZ / seconds for n, c in counts.most_common()}
        cores[NATIVE] = max(0.0, measured - sum(cores.values()))
        return cls(cores, measured, turns, seconds)

    def largest(self, count: int = 3) -> list[tuple[str, float]]:
        return sorted(self.cores.items(), key=lambda item: -item[1])[:count]

    def section(self) -> list[str]:
        rows = [
            [name, f"{cores:.3f}", f"{cores / self.measured:.0%}"]
            for name, cores in self.cores.items()
        ]
        top = "; ".join(f"{name} {cores:.3f}" for name, cores in self.largest())
        return [
            "### Where one conversation's worker CPU goes",
            "",
            f"One more conversation of {self.turns} turns ({self.seconds:.0f} s) on the same "
            "stack, py-spy sampling the worker's process tree from outside at "
            f"{profiling.RATE_HZ} Hz (non-blocking: never paused); its Python stacks by the "
            "work they do, idle waits left out. The worker's tree used "
            f"{self.measured:.3f} core; what the samples do not cover ran in threads without "
            "Python.",
            "",
            *table(["work", "cores per conversation", "share"], rows),
            "",
            f"The largest: {top} (cores).",
        ]

    def json(self) -> dict[str, Any]:
        return {
            "cores_per_conversation": {n: round(c, 4) for n, c in self.cores.items()},
            "worker_cores_measured": round(self.measured, 4),
            "turns": self.turns,
            "seconds": round(self.seconds, 1),
            "sampler": f"py-spy {profiling.RATE_HZ} Hz non-blocking, the worker's process tree",
        }
