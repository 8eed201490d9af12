"""The worker against the real livekit-server: dispatched through the session API, it joins the
room; when the job ends, normally or killed, the session is ended with a reason."""

import asyncio
import os
import signal
from datetime import UTC, datetime

import httpx

from harness.api_client import agent_joined
from harness.caller import VoiceCaller
from voice_agent.log_messages import JOB_ENDED


async def test_the_agent_joins_a_session_created_through_the_api(api_client, voice_worker):
    session_id = (await api_client.create_session("worker-join")).session_id
    # the webhook records the participant, then advances the status: wait for both
    await api_client.wait_session(session_id, lambda s: s.status == "active", "active", 60)
    assert agent_joined(await api_client.get_session(session_id))
    assert voice_worker.job_pid(session_id) is not None, "one log line per job"

    ended = await api_client.end_session(session_id)
    assert ended.status == "ended"
    state = await api_client.wait_session(
        session_id, lambda s: s.usage is not None, "with its usage", 60
    )
    # Nobody joined, so the agent never spoke: the job ended while waiting for its user.
    usage = dict(state.usage or {})
    ended_at = datetime.fromisoformat(usage.pop("ended_at"))
    assert usage == {"user_turns": 0, "agent_turns": 0, "tool_calls": 0, "tool_errors": 0}
    assert state.created_at < ended_at <= datetime.now(UTC)
    assert state.end_reason == "ended_by_client"


async def test_a_killed_job_ends_the_session_with_a_reason(api_client, voice_worker):
    session_id = (await api_client.create_session("worker-crash")).session_id
    await api_client.wait_agent_joined(session_id, within=60)
    pid = voice_worker.job_pid(session_id)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    state = await api_client.wait_ended(session_id, within=60)
    assert state.end_reason == "agent_left"
    assert voice_worker.alive(), "the worker survives one of its jobs crashing"


async def test_worker_health_and_metrics_endpoints(voice_worker):
    async with httpx.AsyncClient() as http:
        health = await http.get(f"http://127.0.0.1:{voice_worker.http_port}/")
        metrics = await http.get(f"http://127.0.0.1:{voice_worker.metrics_port}/metrics")
    assert health.status_code == 200
    assert "voice_agent_active_sessions" in metrics.text


async def test_a_burst_of_sessions_on_an_idle_worker_is_served_without_re_dispatch(
    api_client, voice_worker
):
    """Sessions created at the same moment all get their agent from the first dispatch (the
    shared session API's dispatch watchdog is off): the worker admits jobs by count, not by
    LiveKit's estimate for jobs not yet started, which refused all but the first."""
    created = await asyncio.gather(*(api_client.create_session(f"burst-{i}") for i in range(4)))
    await asyncio.gather(*(api_client.wait_agent_joined(c.session_id, 60) for c in created))
    for c in created:
        await api_client.end_session(c.session_id)


async def test_when_the_user_hangs_up_the_job_ends_the_session_as_user_left(
    api_client, session_api, voice_worker
):
    """The agent leaves as soon as its conversation is over, instead of staying in the empty
    room (holding a worker slot) until livekit-server closes it."""
    async with VoiceCaller.connect(session_api.url, "hangs-up", keep_audio=False) as caller:
        await caller.wait_for_greeting(30)
        session_id = caller.session_id
    state = await api_client.wait_ended(session_id, within=60)
    assert state.end_reason == "user_left"
    # The session is ended before the job leaves the room; the job logs its end after that.
    ended = await voice_worker.wait_record(JOB_ENDED, session_id=session_id)
    assert ended["reason"] == "user_left"
    assert ended["usage"]["ended_at"], "the job's usage summary is logged with it"
    assert len(voice_worker.records(JOB_ENDED, session_id=session_id)) == 1
