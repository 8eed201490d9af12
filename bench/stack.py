"""The one place bench/ starts the stack: native processes on free loopback ports, through the
harness that `make dev` and the test fixtures use (`harness.stack`).

`start_stack()` starts redis-server, livekit-server (using that Redis, as in production) and
session-api; with `preset` it also starts the provider fakes, in processes of their own (so that
their timers do not share an event loop with the callers), and the worker with that preset:

- `local`: Whisper tiny.en and Piper in the worker, the ScriptedLLM behind the OpenAI plugin
  (`PROVIDER_PRESET=local`), the LLM delayed as `ProviderTimings` says;
- `openai`: the real Deepgram streaming STT, OpenAI LLM and OpenAI TTS plugins talking to the
  fakes of Deepgram's live API and OpenAI's API (`harness.fakes.openai_preset`);
- `sarvam`: the real Sarvam STT and TTS plugins talking to the Sarvam fake
  (`harness.fakes.sarvam`), the LLM as for `openai`.

The fakes are timed by `ProviderTimings` (every figure a command-line flag, printed with the
results). Their speech recognisers "hear" the bench question rather than transcribing it, so that
Whisper's time on the shared CPUs is not counted as the provider's. Every process is stopped by
its pid.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.audio import FRAME_MS, SAMPLE_RATE, SILENCE_RMS, SpeechSynthesizer, rms
from harness.caller import VoiceCaller
from harness.fakes.openai_preset import worker_settings as openai_preset_settings
from harness.fakes.sarvam import SarvamFake
from harness.fakes.voice_script import BENCH_ANSWER, BENCH_QUESTION
from harness.paths import REPO, find_binary
from harness.processes import ManagedProcess, free_port, spawn, wait_until
from harness.stack import Stack
from harness.worker import Worker, local_providers

__all__ = [
    "BENCH_ANSWER",
    "BENCH_QUESTION",
    "FRAME_MS",
    "PRESETS",
    "ProviderTimings",
    "REPO",
    "SAMPLE_RATE",
    "SILENCE_RMS",
    "BenchStack",
    "SpeechSynthesizer",
    "VoiceCaller",
    "find_binary",
    "rms",
    "start_stack",
]

PRESETS = ("local", "openai", "sarvam")


@dataclass(frozen=True)
class ProviderTimings:
    """How the simulated cloud providers answer, seconds (tokens per second for the LLM)."""

    stt_final: float = 0.15  # the final transcript, after the audio's end
    stt_pause: float = 0.10  # of which the endpoint's silence (Deepgram's `endpointing`)
    llm_first_token: float = 0.30
    llm_tokens_per_second: float = 80.0
    tts_first_byte: float = 0.10
    tts_speed: float = 4.0  # audio streamed this many times faster than real time

    def describe(self, preset: str) -> str:
        llm = (
            f"LLM first token {self.llm_first_token * 1000:.0f} ms then "
            f"{self.llm_tokens_per_second:g} tokens/s (ScriptedLLM)"
        )
        if preset == "local":
            return f"Whisper tiny.en and Piper on this machine's CPU; {llm}"
        stt = "Deepgram streaming STT" if preset == "openai" else "Sarvam streaming STT"
        tts = "OpenAI TTS" if preset == "openai" else "Sarvam TTS"
        return (
            f"{stt} fake (final transcript {self.stt_final * 1000:.0f} ms after the audio's "
            f"end, of which {self.stt_pause * 1000:.0f} ms endpoint silence); {llm}; {tts} fake "
            f"(first byte {self.tts_first_byte * 1000:.0f} ms, then {self.tts_speed:g}x real "
            "time); the real LiveKit plugins, on the wire"
        )


def add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    """Every `ProviderTimings` field as a flag (`--stt-final 0.15`...)."""
    group = parser.add_argument_group("simulated providers")
    for name, value in vars(ProviderTimings()).items():
        group.add_argument(f"--{name.replace('_', '-')}", type=float, default=value)


def timings_of(args: argparse.Namespace) -> ProviderTimings:
    return ProviderTimings(**{name: getattr(args, name) for name in vars(ProviderTimings())})


@dataclass
class BenchStack:
    """The processes of one run, by role, and how to reach them."""

    stack: Stack
    preset: str | None = None
    fakes: list[ManagedProcess] = field(default_factory=list)
    worker: Worker | None = None
    worker_env: dict[str, str] = field(default_factory=dict)
    overridden: dict[str, str] = field(default_factory=dict)  # by the last restart_worker

    @property
    def run_dir(self) -> Path:
        return self.stack.run_dir

    @property
    def api_key(self) -> str:
        return self.stack.api_key

    @property
    def api_secret(self) -> str:
        return self.stack.api_secret

    @property
    def api_url(self) -> str:
        return self.stack.api.url

    @property
    def livekit(self) -> ManagedProcess:
        return self.stack.livekit.proc

    @property
    def livekit_url(self) -> str:
        """What participants (callers, the worker) connect to."""
        return self.stack.livekit.ws_url

    @property
    def livekit_http_url(self) -> str:
        """What the server API clients (session-api, LiveKitAPI) call."""
        return self.stack.livekit.http_url

    @property
    def redis_url(self) -> str:
        return self.stack.redis_url

    def roles(self) -> dict[str, ManagedProcess]:
        """The running processes by a stable name (report columns; ports are not in them)."""
        named = {
            "redis-server": self.stack.redis.proc if self.stack.redis else None,
            "livekit-server": self.livekit if self.stack.livekit_nodes else None,
            "session-api": self.stack.api.proc if self.stack.apis else None,
            **{f"provider fakes ({proc.name})": proc for proc in self.fakes},
            "worker": self.worker,
        }
        return {name: proc for name, proc in named.items() if proc is not None}

    def pid(self, role: str) -> int:
        return self.roles()[role].pid

    def stop(self) -> None:
        self.stack.stop()

    def worker_log(self) -> str:
        return self.worker.log_text() if self.worker else ""

    def restart_worker(self, **overrides: str) -> None:
        """A fresh worker (new job processes) with these settings changed from the stack's
        (those a previous restart changed go back)."""
        if self.worker is None:
            self.worker = self.stack.add_worker({**self.worker_env, **overrides})
        else:
            earlier = set(self.overridden) - set(overrides) - set(self.worker_env)
            self.worker = self.stack.replace_worker(
                self.worker, {**self.worker_env, **overrides}, unset=earlier
            )
        self.overridden = dict(overrides)


def start_stack(
    run_dir: Path,
    *,
    preset: str | None = None,
    timings: ProviderTimings = ProviderTimings(),
    transcript: str | None = BENCH_QUESTION,
    api_workers: int = 1,
    max_jobs: int = 25,
    api_overrides: dict[str, str] | None = None,
    worker_overrides: dict[str, str] | None = None,
) -> BenchStack:
    """Start the stack (with the fakes and the worker when `preset` is one of PRESETS; the
    fakes' STT hears `transcript`, or with None transcribes the audio with Whisper); on failure
    stop what was started and raise."""
    bench = BenchStack(Stack(run_dir, free_port(), "bench", secrets.token_hex(20)), preset)
    with bench.stack.stopped_on_error() as stack:
        stack.add_redis()
        stack.add_livekit()
        stack.add_api(
            {**BENCH_API_SETTINGS, "WEB_CONCURRENCY": str(api_workers), **(api_overrides or {})}
        )
        if preset is not None:
            providers = _start_fakes(stack, preset, timings, transcript)
            bench.fakes = [proc for proc, _ in providers]
            settings = {k: v for _, env in providers for k, v in env.items()}
            bench.worker_env = {
                **local_providers(settings["OPENAI_BASE_URL"]),
                **settings,
                "WORKER_METRICS_PORT": str(free_port()),
                "MAX_CONCURRENT_JOBS": str(max_jobs),
                "PREPARED_GREETING": "true",  # measured as such (see agent_join.LLM_GREETING)
                **(worker_overrides or {}),
            }
            bench.restart_worker()
    return bench


# session-api with rate limits off: the benchmarks' callers all come from 127.0.0.1.
BENCH_API_SETTINGS = {
    "RATE_LIMIT_PER_USER_PER_MINUTE": "0",
    "RATE_LIMIT_PER_IP_PER_MINUTE": "0",
    "LOG_LEVEL": "warning",
    "HF_HUB_OFFLINE": "1",
}


def _start_fakes(
    stack: Stack, preset: str, timings: ProviderTimings, transcript: str | None
) -> list[tuple[ManagedProcess, dict[str, str]]]:
    """The preset's fake providers, each with the worker settings that reach it. The OpenAI
    fake (its LLM, and for `openai` its TTS and Deepgram's STT) serves every preset; the local
    preset only uses its LLM."""
    cmd = [
        *FAKE_MODULE("openai_preset"),
        f"--llm-first-token={timings.llm_first_token}",
        f"--llm-tokens-per-second={timings.llm_tokens_per_second}",
        f"--final-delay={max(0.0, timings.stt_final - timings.stt_pause)}",
        f"--pause={timings.stt_pause}",
        f"--tts-first-byte={timings.tts_first_byte}",
        f"--tts-speed={timings.tts_speed}",
        *([f"--scripted-text={transcript}"] if transcript is not None else []),
    ]
    openai = _serve_fake(stack, "openai-fake", cmd, '"openai_url"')
    urls = _printed_urls(openai)
    if preset == "openai":
        return [(openai, openai_preset_settings(urls["openai_url"], urls["deepgram_url"]))]
    llm = {"OPENAI_BASE_URL": urls["openai_url"]}
    if preset == "local":
        return [(openai, llm)]
    cmd = [
        *FAKE_MODULE("sarvam"),
        f"--end-silence={timings.stt_pause}",
        f"--final-delay={max(0.0, timings.stt_final - timings.stt_pause)}",
        f"--tts-first-byte={timings.tts_first_byte}",
        *([f"--scripted-text={transcript}"] if transcript is not None else []),
    ]
    sarvam = _serve_fake(stack, "sarvam-fake", cmd, '"sarvam_url"')
    sarvam_url = _printed_urls(sarvam)["sarvam_url"]
    return [(openai, llm), (sarvam, SarvamFake(url=sarvam_url).worker_settings(urls["openai_url"]))]


def FAKE_MODULE(name: str) -> list[str]:  # noqa: N802 - reads as the command it is
    return [sys.executable, "-m", f"harness.fakes.{name}"]


def _serve_fake(stack: Stack, name: str, cmd: list[str], ready: str) -> ManagedProcess:
    proc = stack.add_process(spawn(name, cmd, stack.run_dir / "logs", {"HF_HUB_OFFLINE": "1"}))
    wait_until(proc, lambda: ready in proc.log_text(), f"serving the {name}")
    return proc


def _printed_urls(proc: ManagedProcess) -> dict[str, str]:
    """A fake's URLs, from the one JSON line it prints when serving."""
    line = next(x for x in proc.log_text().splitlines() if x.startswith("{"))
    urls: dict[str, str] = json.loads(line)
    return urls
