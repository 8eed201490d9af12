"""Shared fixtures: real redis-server, livekit-server and session-api on free loopback ports.

Every process is started through the harness (`tests/harness`, the launcher `make dev` and the
benchmarks use) and stopped by its process id. In CI (`CI=true`) a missing server fails the test;
elsewhere it is skipped with the install command. A test's category marker (unit, integration,
e2e, compose) follows from its folder.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from livekit import api

from harness.api_client import ApiClient
from harness.fakes.openai_preset import OpenAIPresetCloud
from harness.fakes.pm_script import RULES
from harness.fakes.sarvam import SarvamFake
from harness.fakes.scripted_llm import ScriptedLLM
from harness.infra import require_binary
from harness.livekit_server import LiveKitPorts, LiveKitServer, livekit_config, start_livekit
from harness.processes import StartupError, free_port
from harness.redis_server import RedisServer, start_redis
from harness.session_api import (
    TEST_SETTINGS,
    SessionApi,
    UnreachableLiveKit,
    api_env,
    start_session_api,
    webhook_url,
)
from harness.stack import Stack
from harness.web import start_web
from harness.worker import Worker, local_providers, start_worker, worker_env

TESTS = Path(__file__).parent
CATEGORIES = ("unit", "integration", "e2e", "compose")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the category of its folder (tests/<category>/...), before `-m`
    selects; a test outside those folders is a usage error."""
    wrong = set()
    for item in items:
        category = item.path.relative_to(TESTS).parts[0]
        if category in CATEGORIES:
            item.add_marker(getattr(pytest.mark, category))
        else:
            wrong.add(str(item.path.relative_to(TESTS)))
    if wrong:
        raise pytest.UsageError(
            f"tests live in one of tests/{{{','.join(CATEGORIES)}}}/: " + ", ".join(sorted(wrong))
        )


def started(start: Callable[[], object]) -> object:
    """Run a harness start function; a process that does not come up fails the test."""
    try:
        return start()
    except StartupError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def api_credentials() -> tuple[str, str]:
    """A fresh key pair per run, never the development one, so nothing can depend on it."""
    return "testkey", secrets.token_urlsafe(32)


def _start_redis(run_dir: Path, name: str) -> RedisServer:
    require_binary("redis-server")
    port = free_port()
    return started(lambda: start_redis(port, run_dir / name, run_dir / "logs"))  # type: ignore[return-value]


@pytest.fixture(scope="session")
def redis_server(run_dir: Path) -> Iterator[RedisServer]:
    handle = _start_redis(run_dir, "redis")
    yield handle
    handle.stop()


@pytest.fixture
def private_redis(run_dir: Path, request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A Redis of this test's own, for tests that stop or kill it."""
    handle = _start_redis(run_dir, f"redis-{request.node.name[:40]}")
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def api_port() -> int:
    """Chosen before livekit-server starts, because its webhook URL names it."""
    return free_port()


@pytest.fixture(scope="session")
def livekit_server(
    run_dir: Path, api_credentials: tuple[str, str], api_port: int
) -> Iterator[LiveKitServer]:
    require_binary("livekit-server")
    # Single node: the room state lives in the server itself, so tests that stop Redis do not
    # take LiveKit down with it.
    config = livekit_config(LiveKitPorts.free(), None, webhook_url(api_port))
    key, secret = api_credentials
    server: LiveKitServer = started(  # type: ignore[assignment]
        lambda: start_livekit(config, key, secret, run_dir, run_dir / "logs")
    )
    yield server
    server.stop()


def start_test_api(
    livekit: LiveKitServer, redis_url: str, port: int, log_dir: Path, name: str, **overrides: str
) -> SessionApi:
    """A session API with the test settings (rate limits and watchdog off) and `overrides`."""
    env = api_env(livekit, redis_url, port, **{**TEST_SETTINGS, **overrides})
    return started(lambda: start_session_api(env, log_dir, name))  # type: ignore[return-value]


@pytest.fixture(scope="session")
def session_api(
    run_dir: Path, livekit_server: LiveKitServer, redis_server: RedisServer, api_port: int
) -> Iterator[SessionApi]:
    """The session API that livekit-server's webhooks reach (rate limits off)."""
    handle = start_test_api(
        livekit_server, redis_server.url, api_port, run_dir / "logs", "session-api"
    )
    yield handle
    handle.stop()


@pytest.fixture
def start_api(
    run_dir: Path, livekit_server: LiveKitServer, redis_server: RedisServer
) -> Iterator[Callable[..., SessionApi]]:
    """Start another session API with settings overridden (`REDIS_URL=...`, limits...)."""
    handles: list[SessionApi] = []

    def start(**overrides: str) -> SessionApi:
        port = free_port()
        handle = start_test_api(
            livekit_server, redis_server.url, port, run_dir / "logs", f"session-api-{port}",
            **overrides,
        )  # fmt: skip
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


@pytest.fixture
async def client(session_api: SessionApi) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client of the shared session API (for status codes and error bodies)."""
    async with session_api.client() as client:
        yield client


@pytest.fixture
def in_process_api(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """`async with in_process_api(**overrides) as client`: the session API app in this process
    (httpx's ASGI transport, lifespan run) on the real Redis, with the test settings and
    `overrides` (`INSPECTOR_TOKEN=""`...), and a LiveKit address where nothing listens: for the
    HTTP-only checks (bad input, 401/405/413/422) that never reach LiveKit."""
    from session_api.main import create_app

    @asynccontextmanager
    async def open_client(**overrides: str) -> AsyncIterator[httpx.AsyncClient]:
        env = api_env(UnreachableLiveKit(), redis_server.url, 0, **{**TEST_SETTINGS, **overrides})
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        app = create_app()
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1"
            ) as client:
                yield client

    return open_client


@pytest.fixture
async def app_client(
    in_process_api: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    """The session API app in this process with the test settings (see `in_process_api`)."""
    async with in_process_api() as client:
        yield client


@pytest.fixture
async def api_client(session_api: SessionApi) -> AsyncIterator[ApiClient]:
    """The typed client of the shared session API."""
    async with ApiClient(session_api.url) as client:
        yield client


@pytest.fixture(scope="session")
async def scripted_llm_server() -> AsyncIterator[ScriptedLLM]:
    """The LLM fake (OpenAI's API is a paid cloud service) the worker process talks to."""
    fake = ScriptedLLM(RULES)
    await fake.start()
    yield fake
    await fake.stop()


def start_test_worker(
    livekit: LiveKitServer, redis_url: str, llm_url: str, log_dir: Path, name: str, **overrides: str
) -> Worker:
    """A worker with the local preset (bundled Whisper and Piper), the LLM at `llm_url`."""
    settings = {"WORKER_METRICS_PORT": str(free_port()), **local_providers(llm_url), **overrides}
    env = worker_env(livekit, redis_url, free_port(), **settings)
    return started(lambda: start_worker(env, log_dir, name))  # type: ignore[return-value]


@pytest.fixture(scope="session")
def launch_worker(
    run_dir: Path,
    livekit_server: LiveKitServer,
    redis_server: RedisServer,
    scripted_llm_server: ScriptedLLM,
) -> Callable[..., Worker]:
    """Start a worker, which the caller stops: `launch_worker("name", **env)` (local preset on
    the shared livekit-server and Redis, the ScriptedLLM; `livekit=`, `llm_url=` and `env`
    change that). The fixtures below give it a scope."""

    def launch(
        name: str,
        livekit: LiveKitServer | None = None,
        llm_url: str | None = None,
        **overrides: str,
    ) -> Worker:
        return start_test_worker(
            livekit or livekit_server, redis_server.url, llm_url or scripted_llm_server.url,
            run_dir / "logs", name, **overrides,
        )  # fmt: skip

    return launch


@pytest.fixture(scope="module")
def voice_worker(launch_worker: Callable[..., Worker]) -> Iterator[Worker]:
    """The real worker (`python -m voice_agent start`): local Whisper and Piper, the ScriptedLLM
    behind the OpenAI plugin, registered with livekit-server.

    Module-scoped: only the modules that need an agent have one. With a worker registered for
    the whole run, every session any test creates would start a job (a process loading models)."""
    worker = launch_worker("voice-agent-worker", IDLE_PROCESSES="1")
    yield worker
    worker.stop()


@pytest.fixture
def new_worker(launch_worker: Callable[..., Worker]) -> Iterator[Callable[..., Worker]]:
    """Start workers of this test's own, stopped after it: `new_worker("name", **env)` (see
    `launch_worker`)."""
    workers: list[Worker] = []

    def start(name: str, **options: Any) -> Worker:
        worker = launch_worker(name, **options)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def new_stack(
    run_dir: Path, api_credentials: tuple[str, str], redis_server: RedisServer
) -> Iterator[Callable[[str], Stack]]:
    """Stacks of this test's own (its livekit nodes, APIs and workers) on the shared Redis:
    `stack = new_stack("multinode")`; all stopped after the test."""
    stacks: list[Stack] = []

    def make(name: str) -> Stack:
        key, secret = api_credentials
        stack = Stack(run_dir / name, free_port(), key, secret, redis=redis_server)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="session")
def web_server(run_dir: Path, session_api: SessionApi) -> Iterator[str]:
    """nginx serving the built web client (frontend/dist) with /api proxied to the session API,
    as in compose; returns its base URL."""
    require_binary("nginx")
    port = free_port()
    proc = started(lambda: start_web(port, session_api.port, run_dir / "web", run_dir / "logs"))
    yield f"http://localhost:{port}"
    proc.stop()  # type: ignore[attr-defined]


@pytest.fixture
async def lk(livekit_server: LiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    """A LiveKit server API client of the shared livekit-server (to check what it holds)."""
    client = api.LiveKitAPI(
        livekit_server.http_url, livekit_server.api_key, livekit_server.api_secret, failover=False
    )
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
async def sarvam_fake() -> AsyncIterator[SarvamFake]:
    """The Sarvam fake (STT and TTS are a paid cloud service) a `sarvam` preset worker reaches
    by `SARVAM_BASE_URL=sarvam_fake.url`; it records the languages it was asked for."""
    fake = SarvamFake()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="session")
async def fake_openai_cloud(scripted_llm_server: ScriptedLLM) -> AsyncIterator[OpenAIPresetCloud]:
    """The `openai` preset's cloud, faked: Deepgram's live STT and OpenAI's API (the session's
    ScriptedLLM, its rules and `requests`, beside the audio API) on loopback. A worker of that
    preset: `new_worker("name", **fake_openai_cloud.worker_settings())`."""
    cloud = OpenAIPresetCloud(scripted_llm_server)
    await cloud.start()
    yield cloud
    await cloud.stop()
