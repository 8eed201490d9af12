"""The voice agent worker (`python -m voice_agent start`): its environment is built here and
nowhere else."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.livekit_server import LiveKitServer
from harness.paths import REPO
from harness.processes import ManagedProcess, spawn, wait_until
from voice_agent.log_messages import JOB_STARTED, WORKER_READY
from voice_common.logs import find_log_records


def worker_env(
    livekit: LiveKitServer, redis_url: str, http_port: int, **overrides: str
) -> dict[str, str]:
    """The worker's environment against this livekit-server and Redis; providers come from the
    caller's environment (`make dev`) or from `local_providers`."""
    return {
        "LIVEKIT_URL": livekit.ws_url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "REDIS_URL": redis_url,
        "WORKER_HTTP_PORT": str(http_port),
        **overrides,
    }


def console_env(redis_url: str, llm_url: str, http_port: int) -> dict[str, str]:
    """`console` mode's environment: the `local` preset with the LLM at `llm_url`, the tools'
    data in Redis, no metrics port. Console mode never connects to livekit-server."""
    return {
        "REDIS_URL": redis_url,
        "WORKER_HTTP_PORT": str(http_port),
        "WORKER_METRICS_PORT": "0",
        **local_providers(llm_url),
    }


def local_providers(llm_url: str) -> dict[str, str]:
    """The `local` preset with the bundled Whisper and Piper models and the LLM at `llm_url` (the
    ScriptedLLM fake in tests): what runs here with no cloud key and no model download."""
    return {
        "PROVIDER_PRESET": "local",
        "LLM_BASE_URL": llm_url,
        "DOCS_FOLDER": str(REPO / "docs"),
        "HF_HUB_OFFLINE": "1",
    }


@dataclass
class Worker(ManagedProcess):
    """The worker process, with the environment it was started with."""

    env: dict[str, str] = field(default_factory=dict)

    @property
    def http_port(self) -> int:
        return int(self.env["WORKER_HTTP_PORT"])

    @property
    def metrics_port(self) -> int | None:
        port = self.env.get("WORKER_METRICS_PORT")
        return int(port) if port else None

    def job_pid(self, session_id: str) -> int | None:
        """The pid of the job process serving `session_id`, from its "job started" record."""
        started = self.records(JOB_STARTED, session_id=session_id)
        return int(started[0]["pid"]) if started else None

    def records(self, message: str, **fields: object) -> list[dict[str, Any]]:
        """Its log records with this message and these fields (never the message text)."""
        return find_log_records(self.log_text(), message, **fields)

    async def wait_record(
        self, message: str, within: float = 30.0, **fields: object
    ) -> dict[str, Any]:
        """The first such record once the worker has written it (its log file is the only
        signal another process gives: read every 50 ms); TimeoutError after `within` s."""
        deadline = time.monotonic() + within
        while not (found := self.records(message, **fields)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} logged no {message!r} {fields} in {within} s")
            await asyncio.sleep(0.05)
        return found[0]


def start_worker(env: dict[str, str], log_dir: Path, name: str = "voice-agent-worker") -> Worker:
    """Start it with `env` (from `worker_env`); ready once it has registered with livekit-server.
    Its prepared greetings are kept in a folder of its own (under `log_dir`) unless `env` names
    one: a new worker speaks its first greeting through its TTS, as a new deployment does."""
    greetings = log_dir / f"greetings-{name}-{env.get('WORKER_HTTP_PORT', '')}"
    env = {"GREETING_AUDIO_DIR": str(greetings), **env}
    proc = spawn(name, [sys.executable, "-m", "voice_agent", "start"], log_dir, env)
    registered = lambda: bool(find_log_records(proc.log_text(), WORKER_READY))  # noqa: E731
    wait_until(proc, registered, "registering with LiveKit")
    return Worker(proc.name, proc.popen, proc.log_path, env)
