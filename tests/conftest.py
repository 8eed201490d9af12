"""Shared fixtures: real redis-server, livekit-server and session-api on free loopback ports.

In CI (`CI=true`) a missing server fails the test; elsewhere it is skipped with the install
command. Every process is started through `devstack` (the launcher `make dev` uses) and stopped
by its process id.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fakes.pm_script import RULES
from fakes.scripted_llm import ScriptedLLM
from livekit import api

from devstack import (
    INSTALL_HINTS,
    REPO,
    LiveKitPorts,
    ManagedProcess,
    StartupError,
    find_binary,
    free_port,
    livekit_config,
    start_livekit,
    start_redis,
    start_session_api,
    start_web,
    start_worker,
)
from voice_agent.log_messages import JOB_STARTED
from voice_common.logs import find_log_records

CATEGORY_MARKERS = {"unit", "integration", "e2e", "compose"}
IN_CI = os.environ.get("CI") == "true"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test module carries exactly one category marker (unit, integration, e2e, compose)."""
    wrong = set()
    for item in items:
        found = {m.name for m in item.iter_markers() if m.name in CATEGORY_MARKERS}
        if len(found) != 1:
            wrong.add(f"{item.module.__name__}: {sorted(found) or 'none'}")
    if wrong:
        raise pytest.UsageError(
            "each test module needs exactly one of unit/integration/e2e/compose: "
            + "; ".join(sorted(wrong))
        )


def require_binary(name: str) -> str:
    """The binary's path; a missing one fails in CI and skips, saying what to install, elsewhere."""
    path = find_binary(name)
    if path is None:
        message = f"{name} not found; {INSTALL_HINTS[name]}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass
class RedisHandle:
    port: int
    data_dir: Path
    log_dir: Path
    proc: ManagedProcess

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.stop()

    def kill(self) -> None:
        self.proc.kill()

    def start(self) -> None:
        """(Re)start on the same port and data directory, so the append-only file is replayed."""
        self.proc = start_redis(self.port, self.data_dir, self.log_dir)


@dataclass(frozen=True)
class LiveKitHandle:
    ports: LiveKitPorts
    api_key: str
    api_secret: str
    proc: ManagedProcess

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ports.http}"


@dataclass(frozen=True)
class ApiHandle:
    url: str
    proc: ManagedProcess
    env: dict[str, str]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def api_credentials() -> tuple[str, str]:
    """A fresh key pair per run, never the development one, so nothing can depend on it."""
    return "testkey", secrets.token_urlsafe(32)


def _start_redis_handle(run_dir: Path, name: str) -> RedisHandle:
    require_binary("redis-server")
    port = free_port()
    data_dir, log_dir = run_dir / name, run_dir / "logs"
    try:
        proc = start_redis(port, data_dir, log_dir)
    except StartupError as exc:
        pytest.fail(str(exc))
    return RedisHandle(port, data_dir, log_dir, proc)


@pytest.fixture(scope="session")
def redis_server(run_dir: Path) -> Iterator[RedisHandle]:
    handle = _start_redis_handle(run_dir, "redis")
    yield handle
    handle.stop()


@pytest.fixture
def private_redis(run_dir: Path, request: pytest.FixtureRequest) -> Iterator[RedisHandle]:
    """A Redis of this test's own, for tests that stop or kill it."""
    handle = _start_redis_handle(run_dir, f"redis-{request.node.name[:40]}")
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def api_port() -> int:
    """Chosen before livekit-server starts, because its webhook URL names it."""
    return free_port()


@pytest.fixture(scope="session")
def livekit_server(
    run_dir: Path, api_credentials: tuple[str, str], api_port: int
) -> Iterator[LiveKitHandle]:
    require_binary("livekit-server")
    ports = LiveKitPorts.free()
    # Single node: the room state lives in the server itself, so tests that stop Redis do not
    # take LiveKit down with it.
    config = livekit_config(ports, None, f"http://127.0.0.1:{api_port}/api/livekit/webhook")
    key, secret = api_credentials
    try:
        proc = start_livekit(config, key, secret, run_dir, run_dir / "logs")
    except StartupError as exc:
        pytest.fail(str(exc))
    yield LiveKitHandle(ports, key, secret, proc)
    proc.stop()


# Provider keys in the session API's environment, as a shared .env would put them there: the API
# never uses them, and no response may carry them (tests/integration/test_api_fuzz.py).
PROVIDER_KEYS = {
    "OPENAI_API_KEY": "sk-proj-fake-openai-key-for-tests-0123456789",
    "DEEPGRAM_API_KEY": "fake-deepgram-key-for-tests-0123456789",
    "SARVAM_API_KEY": "fake-sarvam-key-for-tests-0123456789",
}


def api_env(livekit: LiveKitHandle, redis_url: str, port: int, **overrides: str) -> dict[str, str]:
    env = {
        **PROVIDER_KEYS,
        "APP_ENV": "development",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LIVEKIT_URL": livekit.http_url,
        "LIVEKIT_PUBLIC_URL": livekit.ws_url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "REDIS_URL": redis_url,
        "RATE_LIMIT_PER_USER_PER_MINUTE": "0",
        "RATE_LIMIT_PER_IP_PER_MINUTE": "0",
        # Off unless a test turns it on: tests that start API replicas with their own agent
        # registries must not have another replica's watchdog claim their sessions.
        "AGENT_DISPATCH_ATTEMPTS": "0",
        "LOG_LEVEL": "info",
    }
    env.update(overrides)
    return env


def _start_api(env: dict[str, str], log_dir: Path, name: str) -> ApiHandle:
    try:
        proc = start_session_api(env, log_dir, name)
    except StartupError as exc:
        pytest.fail(str(exc))
    return ApiHandle(f"http://127.0.0.1:{env['PORT']}", proc, env)


@pytest.fixture(scope="session")
def session_api(
    run_dir: Path, livekit_server: LiveKitHandle, redis_server: RedisHandle, api_port: int
) -> Iterator[ApiHandle]:
    """The session API that livekit-server's webhooks reach (rate limits off)."""
    handle = _start_api(
        api_env(livekit_server, redis_server.url, api_port), run_dir / "logs", "session-api"
    )
    yield handle
    handle.proc.stop()


@pytest.fixture
def start_api(
    run_dir: Path, livekit_server: LiveKitHandle, redis_server: RedisHandle
) -> Iterator[Callable[..., ApiHandle]]:
    """Start another session API with settings overridden (`REDIS_URL=...`, limits...)."""
    started: list[ApiHandle] = []

    def start(**overrides: str) -> ApiHandle:
        port = free_port()
        env = api_env(livekit_server, redis_server.url, port, **overrides)
        handle = _start_api(env, run_dir / "logs", f"session-api-{port}")
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.proc.stop()


@pytest.fixture
async def client(session_api: ApiHandle) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the shared session API."""
    async with session_api.client() as client:
        yield client


@pytest.fixture(scope="session")
async def scripted_llm_server() -> AsyncIterator[ScriptedLLM]:
    """The LLM fake (OpenAI's API is a paid cloud service) the worker process talks to."""
    fake = ScriptedLLM(RULES)
    await fake.start()
    yield fake
    await fake.stop()


@dataclass(frozen=True)
class WorkerHandle:
    proc: ManagedProcess
    http_port: int
    metrics_port: int

    def job_pid(self, session_id: str) -> int | None:
        """The pid of the job process serving `session_id`, from its JSON log line."""
        started = find_log_records(self.proc.log_text(), JOB_STARTED, session_id=session_id)
        return int(started[0]["pid"]) if started else None


def worker_env(
    livekit: LiveKitHandle,
    redis_url: str,
    llm_url: str,
    http_port: int,
    metrics_port: int,
    **overrides: str,
) -> dict[str, str]:
    """The environment of a test worker: local Whisper and Piper, the LLM fake at `llm_url`."""
    return {
        "LIVEKIT_URL": livekit.ws_url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "REDIS_URL": redis_url,
        "PROVIDER_PRESET": "local",
        "LLM_BASE_URL": llm_url,
        "WORKER_HTTP_PORT": str(http_port),
        "WORKER_METRICS_PORT": str(metrics_port),
        "DOCS_FOLDER": str(REPO / "docs"),
        "HF_HUB_OFFLINE": "1",
        **overrides,
    }


@pytest.fixture(scope="module")
def voice_worker(
    run_dir: Path,
    livekit_server: LiveKitHandle,
    redis_server: RedisHandle,
    scripted_llm_server: ScriptedLLM,
) -> Iterator[WorkerHandle]:
    """The real worker (`python -m voice_agent start`): local Whisper and Piper, the ScriptedLLM
    behind the OpenAI plugin, registered with livekit-server.

    Module-scoped: only the modules that need an agent have one. With a worker registered for
    the whole run, every session any test creates would start a job (a process loading models)."""
    http_port, metrics_port = free_port(), free_port()
    env = worker_env(
        livekit_server,
        redis_server.url,
        scripted_llm_server.url,
        http_port,
        metrics_port,
        IDLE_PROCESSES="1",
    )
    try:
        proc = start_worker(env, run_dir / "logs")
    except StartupError as exc:
        pytest.fail(str(exc))
    yield WorkerHandle(proc, http_port, metrics_port)
    proc.stop()


@pytest.fixture(scope="session")
def web_server(run_dir: Path, session_api: ApiHandle) -> Iterator[str]:
    """nginx serving the built web client (frontend/dist) with /api proxied to the session API,
    as in compose; returns its base URL."""
    require_binary("nginx")
    port = free_port()
    api_port = int(session_api.url.rsplit(":", 1)[1])
    try:
        proc = start_web(port, api_port, run_dir / "web", run_dir / "logs")
    except StartupError as exc:
        pytest.fail(str(exc))
    yield f"http://localhost:{port}"
    proc.stop()


@pytest.fixture
async def lk(livekit_server: LiveKitHandle) -> AsyncIterator[api.LiveKitAPI]:
    """A LiveKit server API client of the shared livekit-server (to check what it holds)."""
    client = api.LiveKitAPI(
        livekit_server.http_url, livekit_server.api_key, livekit_server.api_secret, failover=False
    )
    yield client
    await client.aclose()
