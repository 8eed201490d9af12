"""The dispatch watchdog: livekit-server drops a dispatch no worker can take and never retries;
the session API dispatches again until the agent joins."""

import json

from harness.api_client import ApiClient
from session_api.dispatch_watchdog import REDISPATCHED
from voice_agent.log_messages import JOB_STARTED
from voice_common import redis_keys as keys
from voice_common.logs import find_log_records, parse_log_records

AGENT = "late-agent"


async def test_an_agent_whose_worker_starts_late_still_joins(start_api, session_api, new_worker):
    api = start_api(
        AGENTS=json.dumps({AGENT: {"agent_name": AGENT}}),
        # Enough attempts to outlast the worker's start (loading models takes a while).
        AGENT_DISPATCH_ATTEMPTS="60",
        AGENT_JOIN_TIMEOUT_SECONDS="2",
    )
    async with ApiClient(api.url) as client:
        session_id = (await client.create_session("u", agent_id=AGENT)).session_id
        # No worker serves this agent yet: livekit-server drops the dispatch made with the room.
        worker = new_worker(
            "worker-late", AGENT_NAME=AGENT, WORKER_METRICS_PORT="0", IDLE_PROCESSES="1"
        )
        await client.wait_agent_joined(session_id, within=60)
        worker.stop()
        log = worker.log_text()
    assert find_log_records(api.proc.log_text(), REDISPATCHED, session_id=session_id)
    assert len(find_log_records(log, JOB_STARTED, session_id=session_id)) == 1, (
        "one agent, not one per retry"
    )


async def test_an_agent_that_joins_in_time_is_not_dispatched_again(
    start_api, session_api, voice_worker, redis_server
):
    from redis.asyncio import Redis

    api = start_api(AGENT_DISPATCH_ATTEMPTS="3", AGENT_JOIN_TIMEOUT_SECONDS="30")
    async with ApiClient(api.url) as client:
        session_id = (await client.create_session("u2")).session_id
        await client.wait_agent_joined(session_id, within=60)
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert await redis.zscore(keys.AWAITING_AGENT, session_id) is None
        assert await redis.hget(keys.session(session_id), "dispatch_attempts") is None
    finally:
        await redis.aclose()


async def test_an_agent_slow_to_start_is_not_dispatched_twice(start_api, session_api, new_worker):
    """livekit-server lists no job for a dispatch until its agent has joined, so a job waiting
    for a job process looks like a dropped dispatch. The worker tells the watchdog it accepted
    the job, and the watchdog waits for it instead of sending a second agent."""
    slow = "slow-agent"
    worker = new_worker(
        "worker-slow", AGENT_NAME=slow, WORKER_METRICS_PORT="0",
        IDLE_PROCESSES="0",  # no prewarmed process: each job waits seconds for one
    )  # fmt: skip
    api = start_api(
        AGENTS=json.dumps({slow: {"agent_name": slow}}),
        AGENT_DISPATCH_ATTEMPTS="3",
        AGENT_JOIN_TIMEOUT_SECONDS="1",  # shorter than the job's start
    )
    async with ApiClient(api.url) as client:
        session_id = (await client.create_session("u3", agent_id=slow)).session_id
        await client.wait_agent_joined(session_id, within=60)
    worker.stop()
    log = worker.log_text()
    messages = [record["message"] for record in parse_log_records(log)]
    started, joined = messages.index("received job request"), messages.index(JOB_STARTED)
    assert any(
        message.startswith("no warmed process available") for message in messages[started:joined]
    ), "the job did start slowly"
    assert len(find_log_records(log, JOB_STARTED, session_id=session_id)) == 1
    assert not find_log_records(api.proc.log_text(), REDISPATCHED, session_id=session_id)
