"""The one place bench/ starts the stack: native processes on free loopback ports, through the
harness that `make dev` and the test fixtures use (`harness.stack`).

`start_stack()` starts redis-server, livekit-server (using that Redis, as in production) and
session-api; with `providers` it also starts the provider fakes (`harness.fakes.cloud_speech`:
the ScriptedLLM and the simulated OpenAI audio API, in a process of their own so that their
timers do not share an event loop with the callers) and the worker. Two provider setups:

- `local`: Whisper tiny.en and Piper in the worker, the ScriptedLLM answering at once
  (`PROVIDER_PRESET=local`), as in the tests;
- `cloud`: the real OpenAI STT and TTS plugins talking to the simulated audio API through
  `OPENAI_BASE_URL`, and the ScriptedLLM behind the OpenAI LLM plugin
  (`LLM_PROVIDER=openai_compatible`), each with the delays of `SIMULATED`.

Every process is stopped by its pid.
"""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.audio import FRAME_MS, SAMPLE_RATE, SILENCE_RMS, SpeechSynthesizer, rms
from harness.caller import VoiceCaller
from harness.fakes.voice_script import BENCH_ANSWER, BENCH_QUESTION
from harness.paths import REPO, find_binary
from harness.processes import ManagedProcess, free_port, spawn, wait_until
from harness.stack import Stack
from harness.worker import Worker, local_providers

__all__ = [
    "BENCH_ANSWER",
    "BENCH_QUESTION",
    "FRAME_MS",
    "MODE_NAMES",
    "REPO",
    "SAMPLE_RATE",
    "SILENCE_RMS",
    "SIMULATED",
    "BenchStack",
    "SpeechSynthesizer",
    "VoiceCaller",
    "find_binary",
    "rms",
    "start_stack",
]

# The simulated cloud-class providers' delays, seconds.
SIMULATED = {"stt_delay": 0.15, "llm_first_token": 0.30, "tts_first_byte": 0.10}
MODE_NAMES = {
    "local": "local CPU models (Whisper tiny.en, Piper, ScriptedLLM with no delay)",
    "cloud": (
        f"simulated cloud-class providers (STT {SIMULATED['stt_delay'] * 1000:.0f} ms, LLM first "
        f"token {SIMULATED['llm_first_token'] * 1000:.0f} ms, TTS first byte "
        f"{SIMULATED['tts_first_byte'] * 1000:.0f} ms) behind the real OpenAI plugins"
    ),
}


@dataclass
class BenchStack:
    """The processes of one run, by role, and how to reach them."""

    stack: Stack
    providers: str | None = None
    fakes: ManagedProcess | None = None
    worker: Worker | None = None
    worker_env: dict[str, str] = field(default_factory=dict)
    llm_url: str = ""
    speech_url: str = ""

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
            "provider fakes": self.fakes,
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
        """A fresh worker (new job processes) with some settings changed."""
        if self.worker is None:
            self.worker = self.stack.add_worker({**self.worker_env, **overrides})
        else:
            self.worker = self.stack.replace_worker(self.worker, overrides)


def start_stack(
    run_dir: Path,
    *,
    providers: str | None = None,
    transcript: str = BENCH_QUESTION,
    api_workers: int = 1,
    max_jobs: int = 25,
    api_overrides: dict[str, str] | None = None,
    worker_overrides: dict[str, str] | None = None,
) -> BenchStack:
    """Start the stack (with the fakes and the worker when `providers` is "local" or "cloud";
    the fakes' STT hears `transcript`); on failure stop what was started and raise."""
    bench = BenchStack(Stack(run_dir, free_port(), "bench", secrets.token_hex(20)), providers)
    with bench.stack.stopped_on_error() as stack:
        stack.add_redis()
        stack.add_livekit()
        stack.add_api(
            {**BENCH_API_SETTINGS, "WEB_CONCURRENCY": str(api_workers), **(api_overrides or {})}
        )
        if providers is not None:
            bench.fakes = stack.add_process(_start_fakes(run_dir, providers, transcript))
            urls = _fake_urls(bench.fakes)
            bench.llm_url, bench.speech_url = urls["llm_url"], urls["speech_url"]
            bench.worker_env = {**_worker_settings(bench, max_jobs), **(worker_overrides or {})}
            bench.restart_worker()
    return bench


# session-api with rate limits off: the benchmarks' callers all come from 127.0.0.1.
BENCH_API_SETTINGS = {
    "RATE_LIMIT_PER_USER_PER_MINUTE": "0",
    "RATE_LIMIT_PER_IP_PER_MINUTE": "0",
    "LOG_LEVEL": "warning",
    "HF_HUB_OFFLINE": "1",
}


def _worker_settings(bench: BenchStack, max_jobs: int) -> dict[str, str]:
    """The worker's settings beyond what the harness sets (LiveKit, Redis, its HTTP port)."""
    env = {
        **local_providers(bench.llm_url),
        "WORKER_METRICS_PORT": str(free_port()),
        "MAX_CONCURRENT_JOBS": str(max_jobs),
    }
    if bench.providers == "local":
        return env
    return {
        **env,
        "PROVIDER_PRESET": "auto",
        "STT_PROVIDER": "openai",
        "TTS_PROVIDER": "openai",
        "LLM_PROVIDER": "openai_compatible",
        "OPENAI_API_KEY": "sk-simulated-not-a-key",
        "OPENAI_BASE_URL": bench.speech_url,
    }


def _start_fakes(run_dir: Path, providers: str, transcript: str) -> ManagedProcess:
    cloud = providers == "cloud"
    cmd = [
        sys.executable,
        "-m",
        "harness.fakes.cloud_speech",
        "--llm-first-token",
        str(SIMULATED["llm_first_token"] if cloud else 0.0),
        "--stt-delay",
        str(SIMULATED["stt_delay"]),
        "--tts-first-byte",
        str(SIMULATED["tts_first_byte"]),
        "--transcript",
        transcript,
    ]
    proc = spawn("provider-fakes", cmd, run_dir / "logs", {"HF_HUB_OFFLINE": "1"})
    wait_until(proc, lambda: '"llm_url"' in proc.log_text(), "serving the fakes")
    return proc


def _fake_urls(proc: ManagedProcess) -> dict[str, str]:
    """The fakes' URLs, from the one JSON line they print when serving."""
    line = next(x for x in proc.log_text().splitlines() if '"llm_url"' in x)
    urls: dict[str, str] = json.loads(line)
    return urls
