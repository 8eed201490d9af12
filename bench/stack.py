"""The one place bench/ starts the stack: native processes on free loopback ports, through the
launcher `make dev` and the test fixtures use (`scripts/devstack.py`).

`start_stack()` starts redis-server, livekit-server (using that Redis, as in production) and
session-api; with `providers` it also starts the provider fakes (`fakes.cloud_speech`: the
ScriptedLLM and the simulated OpenAI audio API, in a process of their own so that their timers do
not share an event loop with the callers) and the worker. Two provider setups:

- `local`: Whisper tiny.en and Piper in the worker, the ScriptedLLM answering at once
  (`PROVIDER_PRESET=local`), as in the tests;
- `cloud`: the real OpenAI STT and TTS plugins talking to the simulated audio API through
  `OPENAI_BASE_URL`, and the ScriptedLLM behind the OpenAI LLM plugin
  (`LLM_PROVIDER=openai_compatible`), each with the delays of `SIMULATED`.

Every process is stopped by its pid. This is also the only module that reaches into scripts/ and
tests/ (the launcher, the scripted caller, the bench script, the compose stack): the other bench
modules import those names from here.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "compose"))

import compose_stack  # noqa: E402
from fakes.voice_script import BENCH_ANSWER, BENCH_QUESTION  # noqa: E402
from voice_caller import (  # noqa: E402
    FRAME_MS,
    SAMPLE_RATE,
    SILENCE_RMS,
    SpeechSynthesizer,
    VoiceCaller,
    rms,
)

import devstack  # noqa: E402

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
    "compose_stack",
    "find_binary",
    "rms",
    "start_stack",
]

find_binary = devstack.find_binary

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

    run_dir: Path
    api_key: str
    api_secret: str
    redis_port: int
    livekit_port: int
    api_port: int
    providers: str | None = None
    redis: devstack.ManagedProcess | None = None
    livekit: devstack.ManagedProcess | None = None
    api: devstack.ManagedProcess | None = None
    fakes: devstack.ManagedProcess | None = None
    worker: devstack.ManagedProcess | None = None
    worker_env: dict[str, str] = field(default_factory=dict)
    llm_url: str = ""
    speech_url: str = ""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def livekit_url(self) -> str:
        """What participants (callers, the worker) connect to."""
        return f"ws://127.0.0.1:{self.livekit_port}"

    @property
    def livekit_http_url(self) -> str:
        """What the server API clients (session-api, LiveKitAPI) call."""
        return f"http://127.0.0.1:{self.livekit_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def roles(self) -> dict[str, devstack.ManagedProcess]:
        """The running processes by a stable name (report columns; ports are not in them)."""
        named = {
            "redis-server": self.redis,
            "livekit-server": self.livekit,
            "session-api": self.api,
            "provider fakes": self.fakes,
            "worker": self.worker,
        }
        return {name: proc for name, proc in named.items() if proc is not None}

    def pid(self, role: str) -> int:
        return self.roles()[role].pid

    def stop(self) -> None:
        for proc in reversed(list(self.roles().values())):
            proc.stop()

    def worker_log(self) -> str:
        return self.worker.log_text() if self.worker else ""

    def restart_worker(self, **overrides: str) -> None:
        """A fresh worker (new job processes) with some settings changed."""
        if self.worker is not None:
            self.worker.stop()
        env = {**self.worker_env, **overrides}
        logs = self.run_dir / "logs"
        self.worker = devstack.start_worker(env, logs, f"worker-{time.time():.0f}")


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
    lk_ports = devstack.LiveKitPorts.free()
    stack = BenchStack(
        run_dir=run_dir,
        api_key="bench",
        api_secret=secrets.token_hex(20),
        redis_port=devstack.free_port(),
        livekit_port=lk_ports.http,
        api_port=devstack.free_port(),
        providers=providers,
    )
    logs = run_dir / "logs"
    try:
        stack.redis = devstack.start_redis(stack.redis_port, run_dir / "redis", logs)
        webhook = f"{stack.api_url}/api/livekit/webhook"
        config = devstack.livekit_config(lk_ports, stack.redis_port, webhook)
        stack.livekit = devstack.start_livekit(
            config, stack.api_key, stack.api_secret, run_dir, logs
        )
        stack.api = devstack.start_session_api(
            {**_api_env(stack, api_workers), **(api_overrides or {})}, logs
        )
        if providers is not None:
            stack.fakes, urls = _start_fakes(run_dir, providers, transcript)
            stack.llm_url, stack.speech_url = urls["llm_url"], urls["speech_url"]
            stack.worker_env = {**_worker_env(stack, max_jobs), **(worker_overrides or {})}
            stack.restart_worker()
    except BaseException:
        stack.stop()
        raise
    return stack


def _common_env(stack: BenchStack) -> dict[str, str]:
    return {
        "LIVEKIT_API_KEY": stack.api_key,
        "LIVEKIT_API_SECRET": stack.api_secret,
        "REDIS_URL": stack.redis_url,
        "HF_HUB_OFFLINE": "1",
    }


def _api_env(stack: BenchStack, workers: int) -> dict[str, str]:
    """session-api with rate limits off: the benchmarks' callers all come from 127.0.0.1."""
    return {
        **_common_env(stack),
        "HOST": "127.0.0.1",
        "PORT": str(stack.api_port),
        "LIVEKIT_URL": stack.livekit_http_url,
        "LIVEKIT_PUBLIC_URL": stack.livekit_url,
        "RATE_LIMIT_PER_USER_PER_MINUTE": "0",
        "RATE_LIMIT_PER_IP_PER_MINUTE": "0",
        "WEB_CONCURRENCY": str(workers),
        "LOG_LEVEL": "warning",
    }


def _worker_env(stack: BenchStack, max_jobs: int) -> dict[str, str]:
    env = {
        **_common_env(stack),
        "LIVEKIT_URL": stack.livekit_url,
        "LLM_BASE_URL": stack.llm_url,
        "WORKER_HTTP_PORT": str(devstack.free_port()),
        "WORKER_METRICS_PORT": str(devstack.free_port()),
        "MAX_CONCURRENT_JOBS": str(max_jobs),
        "DOCS_FOLDER": str(REPO / "docs"),
    }
    if stack.providers == "local":
        return {**env, "PROVIDER_PRESET": "local"}
    return {
        **env,
        "PROVIDER_PRESET": "auto",
        "STT_PROVIDER": "openai",
        "TTS_PROVIDER": "openai",
        "LLM_PROVIDER": "openai_compatible",
        "OPENAI_API_KEY": "sk-simulated-not-a-key",
        "OPENAI_BASE_URL": stack.speech_url,
    }


def _start_fakes(
    run_dir: Path, providers: str, transcript: str
) -> tuple[devstack.ManagedProcess, dict[str, str]]:
    cloud = providers == "cloud"
    cmd = [
        sys.executable,
        "-m",
        "fakes.cloud_speech",
        "--llm-first-token",
        str(SIMULATED["llm_first_token"] if cloud else 0.0),
        "--stt-delay",
        str(SIMULATED["stt_delay"]),
        "--tts-first-byte",
        str(SIMULATED["tts_first_byte"]),
        "--transcript",
        transcript,
    ]
    env = {"PYTHONPATH": str(REPO / "tests"), "HF_HUB_OFFLINE": "1"}
    proc = devstack.spawn("provider-fakes", cmd, run_dir / "logs", env)
    devstack.wait_until(proc, lambda: '"llm_url"' in proc.log_text(), "serving the fakes")
    line = next(x for x in proc.log_text().splitlines() if '"llm_url"' in x)
    return proc, json.loads(line)
