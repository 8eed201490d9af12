"""The dispatch watchdog: livekit-server drops a dispatch no worker can take and never retries;
the session API dispatches again until the agent joins."""

import asyncio
import json

import httpx
import pytest
from conftest import worker_env

from devstack import free_port, start_worker
from session_api.dispatch_watchdog import REDISPATCHED
from voice_agent.log_messages import JOB_STARTED
from voice_common import redis_keys as keys
from voice_common.logs import find_log_records, parse_log_records

pytestmark = pytest.mark.integration

AGENT = "late-agent"


async def agent_joined(client: httpx.AsyncClient, session_id: str) -> dict:
    while True:
        state = (await client.get(f"/api/voice/session/{session_id}")).json()
        if any(p["kind"] == "agent" for p in state["participants"]):
            return state
        await asyncio.sleep(0.1)


async def test_an_agent_whose_worker_starts_late_still_joins(
    start_api, session_api, livekit_server, redis_server, scripted_llm_server, run_dir
):
    api = start_api(
        AGENTS=json.dumps({AGENT: {"agent_name": AGENT}}),
        # Enough attempts to outlast the worker's start (loading models takes a while).
        AGENT_DISPATCH_ATTEMPTS="60",
        AGENT_JOIN_TIMEOUT_SECONDS="2",
    )
    async with api.client() as client:
        created = await client.post("/api/voice/session", json={"user_id": "u", "agent_id": AGENT})
        session_id = created.json()["session_id"]
        # No worker serves this agent yet: livekit-server drops the dispatch made with the room.
        env = worker_env(
            livekit_server, redis_server.url, scripted_llm_server.url, free_port(), 0,
            AGENT_NAME=AGENT, WORKER_METRICS_PORT="0", IDLE_PROCESSES="1",
        )  # fmt: skip
        worker = start_worker(env, run_dir / "logs", name="worker-late")
        try:
            await asyncio.wait_for(agent_joined(client, session_id), 60)
            log = worker.log_text()
        finally:
            worker.stop()
    assert find_log_records(api.proc.log_text(), REDISPATCHED, session_id=session_id)
    assert len(find_log_records(log, JOB_STARTED, session_id=session_id)) == 1, (
        "one agent, not one per retry"
    )


async def test_an_agent_that_joins_in_time_is_not_dispatched_again(
    start_api, session_api, voice_worker, redis_server
):
    from redis.asyncio import Redis

    api = start_api(AGENT_DISPATCH_ATTEMPTS="3", AGENT_JOIN_TIMEOUT_SECONDS="30")
    async with api.client() as client:
        created = await client.post("/api/voice/session", json={"user_id": "u2"})
        session_id = created.json()["session_id"]
        await asyncio.wait_for(agent_joined(client, session_id), 60)
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert await redis.zscore(keys.AWAITING_AGENT, session_id) is None
        assert await redis.hget(keys.session(session_id), "dispatch_attempts") is None
    finally:
        await redis.aclose()


async def test_an_agent_slow_to_start_is_not_dispatched_twice(
    start_api, session_api, livekit_server, redis_server, scripted_llm_server, run_dir
):
    """livekit-server lists no job for a dispatch until its agent has joined, so a job waiting
    for a job process looks like a dropped dispatch. The worker tells the watchdog it accepted
    the job, and the watchdog waits for it instead of sending a second agent."""
    slow = "slow-agent"
    env = worker_env(
        livekit_server, redis_server.url, scripted_llm_server.url, free_port(), 0,
        AGENT_NAME=slow, WORKER_METRICS_PORT="0",
        IDLE_PROCESSES="0",  # no prewarmed process: each job waits seconds for one
    )  # fmt: skip
    worker = start_worker(env, run_dir / "logs", name="worker-slow")
    api = start_api(
        AGENTS=json.dumps({slow: {"agent_name": slow}}),
        AGENT_DISPATCH_ATTEMPTS="3",
        AGENT_JOIN_TIMEOUT_SECONDS="1",  # shorter than the job's start
    )
    try:
        async with api.client() as client:
            created = await client.post(
                "/api/voice/session", json={"user_id": "u3", "agent_id": slow}
            )
            session_id = created.json()["session_id"]
            await asyncio.wait_for(agent_joined(client, session_id), 60)
    finally:
        worker.stop()
    log = worker.log_text()
    messages = [record["message"] for record in parse_log_records(log)]
    started, joined = messages.index("received job request"), messages.index(JOB_STARTED)
    assert any(
        message.startswith("no warmed process available") for message in messages[started:joined]
    ), "the job did start slowly"
    assert len(find_log_records(log, JOB_STARTED, session_id=session_id)) == 1
    assert not find_log_records(api.proc.log_text(), REDISPATCHED, session_id=session_id)
