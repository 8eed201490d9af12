"""The session API (`python -m session_api`): its environment is built here and nowhere else."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from harness.processes import ManagedProcess, http_get, spawn, wait_until

# Provider keys in the session API's environment, as a shared .env would put them there: the API
# never uses them, and no response may carry them (tests/integration/test_api_fuzz.py).
PROVIDER_KEYS = {
    "OPENAI_API_KEY": "sk-proj-fake-openai-key-for-tests-0123456789",
    "DEEPGRAM_API_KEY": "fake-deepgram-key-for-tests-0123456789",
    "SARVAM_API_KEY": "fake-sarvam-key-for-tests-0123456789",
}

# The inspector's operator token in tests (INSPECTOR_TOKEN): 32+ characters, as production wants.
INSPECTOR_TOKEN = "inspector-token-for-tests-0123456789abcdef"  # noqa: S105 - test value

# What tests change from the defaults: no rate limits (tests create sessions fast), and the
# dispatch watchdog off unless a test turns it on, so that API replicas started with their own
# agent registries never claim each other's sessions. The inspector is on (INSPECTOR_TOKEN).
TEST_SETTINGS = {
    "INSPECTOR_TOKEN": INSPECTOR_TOKEN,
    **PROVIDER_KEYS,
    "APP_ENV": "development",
    "RATE_LIMIT_PER_USER_PER_MINUTE": "0",
    "RATE_LIMIT_PER_IP_PER_MINUTE": "0",
    "AGENT_DISPATCH_ATTEMPTS": "0",
    "LOG_LEVEL": "info",
}


class LiveKitEndpoint(Protocol):
    """What the session API needs to know of a livekit-server (`LiveKitServer` is one)."""

    @property
    def http_url(self) -> str: ...
    @property
    def ws_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def api_secret(self) -> str: ...


@dataclass(frozen=True)
class UnreachableLiveKit:
    """A LiveKit address where nothing listens (the discard port): for checks that must
    never reach LiveKit, so that one that does fails loudly."""

    api_key: str = "unreachable"
    api_secret: str = "unreachable-livekit-secret-for-in-process-tests"  # noqa: S105 - test value
    http_url: str = "http://127.0.0.1:9"
    ws_url: str = "ws://127.0.0.1:9"


def api_env(
    livekit: LiveKitEndpoint, redis_url: str, port: int, **overrides: str
) -> dict[str, str]:
    """The session API's environment against this livekit-server and Redis, on 127.0.0.1:`port`."""
    return {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LIVEKIT_URL": livekit.http_url,
        "LIVEKIT_PUBLIC_URL": livekit.ws_url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "REDIS_URL": redis_url,
        **overrides,
    }


def webhook_url(port: int) -> str:
    """Where livekit-server sends its webhooks when the session API listens on `port`."""
    return f"http://127.0.0.1:{port}/api/livekit/webhook"


@dataclass(frozen=True)
class SessionApi:
    url: str
    proc: ManagedProcess
    env: dict[str, str]

    @property
    def port(self) -> int:
        return int(self.env["PORT"])

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)

    def stop(self) -> None:
        self.proc.stop()


def start_session_api(env: dict[str, str], log_dir: Path, name: str = "session-api") -> SessionApi:
    """Start it with `env` (from `api_env`); ready when /healthz answers 200."""
    proc = spawn(name, [sys.executable, "-m", "session_api"], log_dir, env)
    url = f"http://{env['HOST']}:{env['PORT']}"
    wait_until(proc, lambda: http_get(f"{url}/healthz")[0] == 200, "answering /healthz")
    return SessionApi(url, proc, env)
