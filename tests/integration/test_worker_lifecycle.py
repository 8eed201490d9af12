"""Worker lifecycle against real servers: SIGTERM drains within its bound; a livekit-server
restart is survived by re-registering, with no restart of anything else.

Each test runs its own worker under its own agent name, so no dispatch can reach another worker.
"""

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Callable

import pytest
from livekit import rtc

from harness.api_client import ApiClient
from harness.livekit_server import LiveKitServer
from harness.session_api import TEST_SETTINGS
from harness.worker import Worker, local_providers
from voice_agent.log_messages import DRAIN_CLOSED_ROOMS, JOB_STARTED, WORKER_READY
from voice_common.logs import find_log_records, parse_log_records


def messages(worker: Worker) -> list[str]:
    return [record["message"] for record in parse_log_records(worker.log_text())]


DRAIN_S = 3
# What the worker may take after the drain to end its jobs (LiveKit gives each job process up to
# 10 s for its shutdown callbacks, then kills it) and exit: the margin docker-compose.yml gives
# it before Docker would kill it (stop_grace_period 40 s for a 25 s drain).
SHUTDOWN_AFTER_DRAIN_S = 40 - 25


@pytest.fixture
def own_worker(new_worker) -> Callable[..., Worker]:
    def start(livekit: LiveKitServer, agent_name: str, **overrides: str) -> Worker:
        return new_worker(
            f"worker-{agent_name}", livekit=livekit,
            AGENT_NAME=agent_name, WORKER_METRICS_PORT="0", IDLE_PROCESSES="1", **overrides,
        )  # fmt: skip

    return start


@pytest.fixture
async def user_room() -> AsyncIterator[rtc.Room]:
    """A participant for the test to join as the session's user; left at the end."""
    room = rtc.Room()
    yield room
    await room.disconnect()


def registry(agent_id: str, agent_name: str) -> str:
    return json.dumps({agent_id: {"agent_name": agent_name}})


async def wait_for(predicate: Callable[[], bool]) -> None:
    """Poll a condition on another process (bounded by the caller's wait_for)."""
    while not predicate():  # noqa: ASYNC110 - the state lives in another process
        await asyncio.sleep(0.05)


async def test_sigterm_takes_no_new_jobs_then_exits_within_the_drain_bound(
    own_worker, livekit_server, start_api, api_client, user_room
):
    """A conversation in progress (a user in the room, who never hangs up) goes on for the whole
    drain, then is ended: the worker exits no sooner than DRAIN_TIMEOUT_SECONDS after SIGTERM,
    and no later than that plus the job processes' own shutdown."""
    worker = own_worker(livekit_server, "drain-agent", DRAIN_TIMEOUT_SECONDS=str(DRAIN_S))
    api = start_api(AGENTS=registry("drain-agent", "drain-agent"))
    async with ApiClient(api.url) as creator:
        first = await creator.create_session("lifecycle", agent_id="drain-agent")
        await user_room.connect(livekit_server.ws_url, first.token)
        await api_client.wait_agent_joined(first.session_id, within=60)

        signalled = time.monotonic()
        worker.popen.send_signal(signal.SIGTERM)
        await asyncio.wait_for(wait_for(lambda: "draining worker" in messages(worker)), 10)
        second = await creator.create_session("lifecycle", agent_id="drain-agent")

    exit_code = await asyncio.to_thread(worker.popen.wait, 30)
    drained_in = time.monotonic() - signalled
    assert exit_code == 0
    assert DRAIN_S <= drained_in < DRAIN_S + SHUTDOWN_AFTER_DRAIN_S, (
        f"exited {drained_in:.1f} s after SIGTERM"
    )
    log = worker.log_text()
    started = {record.get("session_id") for record in find_log_records(log, JOB_STARTED)}
    assert first.session_id in started
    assert second.session_id not in started, "a draining worker takes no jobs"
    state = await api_client.get_session(first.session_id)
    assert state.status == "ended" and state.end_reason


async def test_sigterm_closes_the_rooms_nobody_joined_at_once(
    own_worker, livekit_server, start_api, api_client
):
    """A session created and never joined (the README's curl) does not hold the shutdown for
    the drain's 25 s: its room is closed, and its job ends without an error."""
    worker = own_worker(livekit_server, "unjoined-agent", DRAIN_TIMEOUT_SECONDS="25")
    api = start_api(AGENTS=registry("unjoined-agent", "unjoined-agent"))
    async with ApiClient(api.url) as creator:
        session = await creator.create_session("lifecycle", agent_id="unjoined-agent")
    await api_client.wait_agent_joined(session.session_id, within=60)

    worker.popen.send_signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(worker.popen.wait, 15)
    assert exit_code == 0
    log = worker.log_text()
    [drained] = find_log_records(log, DRAIN_CLOSED_ROOMS)
    assert len(drained["rooms"]) == 1
    closed_early = find_log_records(log, "room closed before the user joined")
    assert [record.get("session_id") for record in closed_early] == [session.session_id]
    assert "Traceback" not in log and "job failed" not in log
    state = await api_client.get_session(session.session_id)
    assert state.status == "ended"


async def test_the_worker_re_registers_after_livekit_server_restarts(
    new_stack, scripted_llm_server
):
    stack = new_stack("restart")
    # A single node keeping its rooms in memory: the restart loses them all.
    livekit = stack.add_livekit(with_redis=False)
    stack.add_api({**TEST_SETTINGS, "AGENTS": registry("restart", "restart-agent")})
    worker = stack.add_worker(
        {
            **local_providers(scripted_llm_server.url),
            "AGENT_NAME": "restart-agent",
            "WORKER_METRICS_PORT": "0",
            "IDLE_PROCESSES": "1",
        }
    )
    livekit.restart()

    def registered_twice() -> bool:
        return messages(worker).count(WORKER_READY) >= 2

    await asyncio.wait_for(wait_for(registered_twice), 90)
    async with ApiClient(stack.api.url) as client:
        session = await client.create_session("lifecycle", agent_id="restart")
        await client.wait_agent_joined(session.session_id, within=60)
    assert worker.alive()
