"""Worker lifecycle against real servers: SIGTERM drains within its bound; a livekit-server
restart is survived by re-registering, with no restart of anything else.

Each test runs its own worker under its own agent name, so no dispatch can reach another worker.
"""

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from conftest import ApiHandle, LiveKitHandle, api_env, worker_env
from livekit import rtc

from devstack import (
    WORKER_READY_LINE,
    LiveKitPorts,
    ManagedProcess,
    free_port,
    livekit_config,
    start_livekit,
    start_session_api,
    start_worker,
)

pytestmark = pytest.mark.integration

DRAIN_S = 3
# What the worker may take after the drain to end its jobs (LiveKit gives each job process up to
# 10 s for its shutdown callbacks, then kills it) and exit: the margin docker-compose.yml gives
# it before Docker would kill it (stop_grace_period 40 s for a 25 s drain). About 5 s here.
SHUTDOWN_AFTER_DRAIN_S = 40 - 25


@pytest.fixture
def own_worker(
    run_dir, redis_server, scripted_llm_server
) -> Iterator[Callable[..., ManagedProcess]]:
    started: list[ManagedProcess] = []

    def start(livekit: LiveKitHandle, agent_name: str, **overrides: str) -> ManagedProcess:
        env = worker_env(
            livekit, redis_server.url, scripted_llm_server.url, free_port(), free_port(),
            AGENT_NAME=agent_name, WORKER_METRICS_PORT="0", IDLE_PROCESSES="1", **overrides,
        )  # fmt: skip
        proc = start_worker(env, run_dir / "logs", name=f"worker-{agent_name}")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
async def user_room() -> AsyncIterator[rtc.Room]:
    """A participant for the test to join as the session's user; left at the end."""
    room = rtc.Room()
    yield room
    await room.disconnect()


def registry(agent_id: str, agent_name: str) -> str:
    return json.dumps({agent_id: {"agent_name": agent_name}})


async def create(client: httpx.AsyncClient, agent_id: str) -> dict:
    response = await client.post(
        "/api/voice/session", json={"user_id": "lifecycle", "agent_id": agent_id}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def wait_for(predicate: Callable[[], bool]) -> None:
    """Poll a condition on another process (bounded by the caller's wait_for)."""
    while not predicate():  # noqa: ASYNC110 - the state lives in another process
        await asyncio.sleep(0.05)


async def agent_joined(client: httpx.AsyncClient, session_id: str) -> None:
    while True:
        state = (await client.get(f"/api/voice/session/{session_id}")).json()
        if any(p["kind"] == "agent" for p in state["participants"]):
            return
        await asyncio.sleep(0.1)


async def test_sigterm_takes_no_new_jobs_then_exits_within_the_drain_bound(
    own_worker, livekit_server, start_api, client, user_room
):
    """A conversation in progress (a user in the room, who never hangs up) goes on for the whole
    drain, then is ended: the worker exits no sooner than DRAIN_TIMEOUT_SECONDS after SIGTERM,
    and no later than that plus the job processes' own shutdown."""
    worker = own_worker(livekit_server, "drain-agent", DRAIN_TIMEOUT_SECONDS=str(DRAIN_S))
    api = start_api(AGENTS=registry("drain-agent", "drain-agent"))
    async with api.client() as creator:
        first = await create(creator, "drain-agent")
        await user_room.connect(livekit_server.ws_url, first["token"])
        await asyncio.wait_for(agent_joined(client, first["session_id"]), 60)

        signalled = time.monotonic()
        worker.popen.send_signal(signal.SIGTERM)
        await asyncio.wait_for(wait_for(lambda: "draining worker" in worker.log_text()), 10)
        second = await create(creator, "drain-agent")

    exit_code = await asyncio.to_thread(worker.popen.wait, 30)
    drained_in = time.monotonic() - signalled
    assert exit_code == 0
    assert DRAIN_S <= drained_in < DRAIN_S + SHUTDOWN_AFTER_DRAIN_S, (
        f"exited {drained_in:.1f} s after SIGTERM"
    )
    log = worker.log_text()
    assert f"job started session_id={first['session_id']}" in log
    assert f"job started session_id={second['session_id']}" not in log, (
        "a draining worker takes no jobs"
    )
    state = (await client.get(f"/api/voice/session/{first['session_id']}")).json()
    assert state["status"] == "ended" and state["end_reason"]


async def test_sigterm_closes_the_rooms_nobody_joined_at_once(
    own_worker, livekit_server, start_api, client
):
    """A session created and never joined (the README's curl) does not hold the shutdown for
    the drain's 25 s: its room is closed, and its job ends without an error."""
    worker = own_worker(livekit_server, "unjoined-agent", DRAIN_TIMEOUT_SECONDS="25")
    api = start_api(AGENTS=registry("unjoined-agent", "unjoined-agent"))
    async with api.client() as creator:
        session = await create(creator, "unjoined-agent")
    await asyncio.wait_for(agent_joined(client, session["session_id"]), 60)

    worker.popen.send_signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(worker.popen.wait, 15)
    assert exit_code == 0
    log = worker.log_text()
    assert "drain closed 1 room(s) nobody joined" in log
    assert f"room closed before the user joined session_id={session['session_id']}" in log
    assert "Traceback" not in log and "job failed" not in log
    state = (await client.get(f"/api/voice/session/{session['session_id']}")).json()
    assert state["status"] == "ended"


async def test_the_worker_re_registers_after_livekit_server_restarts(
    own_worker, run_dir, api_credentials, redis_server
):
    key, secret = api_credentials
    api_port, ports = free_port(), LiveKitPorts.free()
    config = livekit_config(ports, None, f"http://127.0.0.1:{api_port}/api/livekit/webhook")
    logs = run_dir / "logs"
    livekit_proc = start_livekit(config, key, secret, run_dir / "restart", logs, "livekit-restart")
    livekit = LiveKitHandle(ports, key, secret, livekit_proc)
    env = api_env(livekit, redis_server.url, api_port, AGENTS=registry("restart", "restart-agent"))
    api = ApiHandle(
        f"http://127.0.0.1:{api_port}", start_session_api(env, logs, "api-restart"), env
    )
    worker = own_worker(livekit, "restart-agent")
    try:
        livekit_proc.stop()
        livekit_proc = start_livekit(
            config, key, secret, run_dir / "restart", logs, "livekit-restart"
        )

        def registered_twice() -> bool:
            return worker.log_text().count(WORKER_READY_LINE) >= 2

        await asyncio.wait_for(wait_for(registered_twice), 90)
        async with api.client() as client:
            session = await create(client, "restart")
            await asyncio.wait_for(agent_joined(client, session["session_id"]), 60)
        assert worker.alive()
    finally:
        api.proc.stop()
        livekit_proc.stop()
