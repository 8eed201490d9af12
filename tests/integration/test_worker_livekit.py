"""The worker against the real livekit-server: dispatched through the session API, it joins the
room; when the job ends, normally or killed, the session is ended with a reason."""

import asyncio
import os
import signal
from datetime import UTC, datetime

import httpx
import pytest
from voice_caller import VoiceCaller

pytestmark = pytest.mark.integration


async def wait_for_session(client: httpx.AsyncClient, session_id: str, predicate) -> dict:
    """Poll the session until `predicate(state)` holds (bounded by the test timeout)."""
    while True:
        state = (await client.get(f"/api/voice/session/{session_id}")).json()
        if predicate(state):
            return state
        await asyncio.sleep(0.1)


def agent_joined(state: dict) -> bool:
    return any(p["kind"] == "agent" and p.get("joined_at") for p in state["participants"])


async def create(client: httpx.AsyncClient, user_id: str) -> dict:
    response = await client.post("/api/voice/session", json={"user_id": user_id})
    assert response.status_code == 201, response.text
    return response.json()


async def test_the_agent_joins_a_session_created_through_the_api(client, voice_worker):
    created = await create(client, "worker-join")
    # the webhook records the participant, then advances the status: wait for both
    await asyncio.wait_for(
        wait_for_session(client, created["session_id"], lambda s: s["status"] == "active"), 60
    )
    assert agent_joined((await client.get(f"/api/voice/session/{created['session_id']}")).json())
    assert voice_worker.job_pid(created["session_id"]) is not None, "one log line per job"

    ended = await client.delete(f"/api/voice/session/{created['session_id']}")
    assert ended.json()["status"] == "ended"
    state = await asyncio.wait_for(
        wait_for_session(client, created["session_id"], lambda s: s["usage"] is not None), 60
    )
    # Nobody joined, so the agent never spoke: the job ended while waiting for its user.
    usage = state["usage"]
    ended_at = datetime.fromisoformat(usage.pop("ended_at"))
    assert usage == {"user_turns": 0, "agent_turns": 0, "tool_calls": 0, "tool_errors": 0}
    assert datetime.fromisoformat(state["created_at"]) < ended_at <= datetime.now(UTC)
    assert state["end_reason"] == "ended_by_client"


async def test_a_killed_job_ends_the_session_with_a_reason(client, voice_worker):
    created = await create(client, "worker-crash")
    await asyncio.wait_for(wait_for_session(client, created["session_id"], agent_joined), 60)
    pid = voice_worker.job_pid(created["session_id"])
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    state = await asyncio.wait_for(
        wait_for_session(client, created["session_id"], lambda s: s["status"] == "ended"), 60
    )
    assert state["end_reason"] == "agent_left"
    assert voice_worker.proc.alive(), "the worker survives one of its jobs crashing"


async def test_worker_health_and_metrics_endpoints(voice_worker):
    async with httpx.AsyncClient() as http:
        health = await http.get(f"http://127.0.0.1:{voice_worker.http_port}/")
        metrics = await http.get(f"http://127.0.0.1:{voice_worker.metrics_port}/metrics")
    assert health.status_code == 200
    assert "voice_agent_active_sessions" in metrics.text


async def test_a_burst_of_sessions_on_an_idle_worker_is_served_without_re_dispatch(
    client, voice_worker
):
    """Sessions created at the same moment all get their agent from the first dispatch (the
    shared session API's dispatch watchdog is off): the worker admits jobs by count, not by
    LiveKit's estimate for jobs not yet started, which refused all but the first."""
    created = await asyncio.gather(*(create(client, f"burst-{i}") for i in range(4)))
    await asyncio.wait_for(
        asyncio.gather(*(wait_for_session(client, c["session_id"], agent_joined) for c in created)),
        60,
    )
    for c in created:
        await client.delete(f"/api/voice/session/{c['session_id']}")


async def test_when_the_user_hangs_up_the_job_ends_the_session_as_user_left(
    client, session_api, voice_worker
):
    """The agent leaves as soon as its conversation is over, instead of staying in the empty
    room (holding a worker slot) until livekit-server closes it."""
    async with VoiceCaller.connect(session_api.url, "hangs-up", keep_audio=False) as caller:
        await caller.wait_for_greeting(30)
        session_id = caller.session_id
    state = await asyncio.wait_for(
        wait_for_session(client, session_id, lambda s: s["status"] == "ended"), 60
    )
    assert state["end_reason"] == "user_left"
    ended = [line for line in voice_worker.proc.log_text().splitlines() if "job ended" in line]
    assert any(f"session_id={session_id} reason=user_left" in line for line in ended)
