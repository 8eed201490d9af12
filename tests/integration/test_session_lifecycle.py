"""A session's life against real livekit-server and Redis: room, dispatch, token, webhooks."""

import asyncio
import json
import time

import httpx
import jwt
from livekit import api, rtc
from redis.asyncio import Redis

from voice_common import redis_keys as keys


async def create(api_client: httpx.AsyncClient, user_id: str = "alice", **body) -> dict:
    response = await api_client.post("/api/voice/session", json={"user_id": user_id, **body})
    assert response.status_code == 201, response.text
    return response.json()


async def wait_for_status(api_client: httpx.AsyncClient, session_id: str, status: str) -> dict:
    """Poll the session until the webhook-driven status arrives (bounded by the test timeout)."""
    while True:
        state = (await api_client.get(f"/api/voice/session/{session_id}")).json()
        if state["status"] == status:
            return state
        await asyncio.sleep(0.05)


async def test_create_makes_room_with_dispatch_and_record(client, lk, livekit_server):
    created = await create(client, language="en-IN", metadata={"plan": "demo"})

    assert created["room"] == f"voice-{created['session_id']}"
    assert created["agent_id"] == "pm-agent"
    assert created["livekit_url"] == livekit_server.ws_url
    rooms = (await lk.room.list_rooms(api.ListRoomsRequest(names=[created["room"]]))).rooms
    assert [room.name for room in rooms] == [created["room"]]
    dispatches = await lk.agent_dispatch.list_dispatch(room_name=created["room"])
    assert [d.agent_name for d in dispatches] == ["pm-agent"]
    assert f'"session_id":"{created["session_id"]}"' in dispatches[0].metadata
    assert '"language":"en-IN"' in dispatches[0].metadata

    state = (await client.get(f"/api/voice/session/{created['session_id']}")).json()
    assert state["status"] == "created"
    assert state["user_id"] == "alice"
    assert state["language"] == "en-IN"
    assert state["metadata"] == {"plan": "demo"}
    assert state["participants"] == [] and state["transcript"] == []


async def test_language_defaults_to_the_agents(client):
    created = await create(client)
    state = (await client.get(f"/api/voice/session/{created['session_id']}")).json()
    assert state["language"] == "en-US"


async def test_token_grants_exactly_this_room(client, livekit_server):
    created = await create(client)
    claims = jwt.decode(created["token"], livekit_server.api_secret, algorithms=["HS256"])

    assert claims["sub"] == created["identity"]
    assert claims["iss"] == livekit_server.api_key
    assert 890 <= claims["exp"] - time.time() <= 900
    assert claims["video"] == {
        "roomJoin": True,
        "room": created["room"],
        "canPublish": True,
        "canPublishSources": ["microphone"],
        "canSubscribe": True,
        "canPublishData": True,
    }
    assert "roomConfig" not in claims


async def test_identities_are_unique_per_session(client):
    first, second = await create(client, "bob"), await create(client, "bob")
    assert first["identity"] != second["identity"]
    assert first["room"] != second["room"]


async def validate(livekit_server, token: str) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{livekit_server.http_url}/rtc/validate", params={"access_token": token}
        )
    return response.status_code


async def test_livekit_accepts_the_token_and_refuses_forged_or_expired_ones(client, livekit_server):
    created = await create(client)
    assert await validate(livekit_server, created["token"]) == 200

    claims = jwt.decode(created["token"], livekit_server.api_secret, algorithms=["HS256"])
    forged = jwt.encode(claims, "not-the-secret-" * 3, algorithm="HS256")
    assert await validate(livekit_server, forged) == 401
    expired = jwt.encode(
        {**claims, "nbf": int(time.time()) - 120, "exp": int(time.time()) - 60},
        livekit_server.api_secret,
        algorithm="HS256",
    )
    assert await validate(livekit_server, expired) == 401


async def test_a_participant_joining_makes_the_session_active(client, livekit_server):
    created = await create(client, "carol")
    room = rtc.Room()
    await room.connect(livekit_server.ws_url, created["token"])
    try:
        state = await asyncio.wait_for(wait_for_status(client, created["session_id"], "active"), 20)
    finally:
        await room.disconnect()
    assert state["active_at"] is not None
    [participant] = state["participants"]
    assert participant["identity"] == created["identity"]
    assert participant["kind"] == "standard"
    assert participant["joined_at"] is not None


async def test_an_agent_of_the_agents_file_is_the_starting_agent_the_dispatch_names(client, lk):
    """Every startable agent of the shipped agents file is an agent_id; the worker that serves
    them all is dispatched, told which one the conversation starts with."""
    created = await create(client, agent_id="docs-specialist")
    assert created["agent_id"] == "docs-specialist"
    dispatches = await lk.agent_dispatch.list_dispatch(room_name=created["room"])
    assert [d.agent_name for d in dispatches] == ["pm-agent"]
    assert json.loads(dispatches[0].metadata)["agent_id"] == "docs-specialist"
    await client.delete(f"/api/voice/session/{created['session_id']}")

    response = await client.post(
        "/api/voice/session", json={"user_id": "alice", "agent_id": "task-intake"}
    )
    assert response.status_code == 404, "the intake only runs when an agent starts it"
    assert response.json()["error"]["code"] == "unknown_agent"


async def test_delete_ends_the_session_and_room_and_is_idempotent(client, lk):
    created = await create(client, "dave")
    first = await client.delete(f"/api/voice/session/{created['session_id']}")
    assert first.status_code == 200
    assert first.json()["status"] == "ended"
    assert first.json()["end_reason"] == "ended_by_client"
    rooms = (await lk.room.list_rooms(api.ListRoomsRequest(names=[created["room"]]))).rooms
    assert rooms == []

    again = await client.delete(f"/api/voice/session/{created['session_id']}")
    assert again.status_code == 200
    assert again.json()["ended_at"] == first.json()["ended_at"]


# Entries as the worker has always written them (json.dumps, so non-ASCII escaped): one of each
# kind, a greeting with no latency measured, a tool call that failed.
STORED_TRANSCRIPT = [
    {"type": "agent", "text": "Hello! How can I help?", "interrupted": False, "latency": {},
     "at": "2026-11-21T12:00:00.000001+00:00"},
    {"type": "user", "text": "Café status?", "latency": {"end_of_turn_delay": 0.5,
     "stt_delay": 0.2}, "at": "2026-11-21T12:00:03+00:00"},
    {"type": "tool", "name": "get_project_status", "arguments": {"project_name": "Café"},
     "output": "No project named 'Café'.", "is_error": True, "at": "2026-11-21T12:00:04+00:00"},
    {"type": "agent", "text": "There is no such project.", "interrupted": True,
     "latency": {"end_of_turn_delay": 0.5, "stt_delay": 0.2, "voice_to_voice": 1.2,
                 "llm_ttft": 0.3, "tts_ttfb": 0.1},
     "at": "2026-11-21T12:00:05.500000+00:00"},
]  # fmt: skip


async def test_the_stored_transcript_is_served_as_it_was_written(client, redis_server):
    created = await create(client, "grace")
    lines = [json.dumps(entry, separators=(",", ":")) for entry in STORED_TRANSCRIPT]
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        await redis.rpush(keys.transcript(created["session_id"]), *lines)
    finally:
        await redis.aclose()

    served = (await client.get(f"/api/voice/session/{created['session_id']}")).json()["transcript"]
    # The same entries, keys in the same order, timestamps as written.
    assert json.dumps(served) == json.dumps(STORED_TRANSCRIPT)


async def test_unknown_session_is_404(client):
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/api/voice/session/{'0' * 32}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "session_not_found"


async def test_sessions_list_newest_first_in_pages(client):
    ids = [(await create(client, "erin"))["session_id"] for _ in range(3)]

    first = (await client.get("/api/voice/sessions", params={"user_id": "erin", "limit": 2})).json()
    assert [s["session_id"] for s in first["sessions"]] == ids[::-1][:2]
    assert first["next_offset"] == 2
    second = (
        await client.get("/api/voice/sessions", params={"user_id": "erin", "limit": 2, "offset": 2})
    ).json()
    assert [s["session_id"] for s in second["sessions"]] == [ids[0]]
    assert second["next_offset"] is None


async def test_short_token_form_creates_a_session_too(client, livekit_server):
    response = await client.post("/api/token", json={"user_id": "frank", "agent_id": "pm-agent"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "url"}
    assert body["url"] == livekit_server.ws_url
    assert await validate(livekit_server, body["token"]) == 200
    listed = (await client.get("/api/voice/sessions", params={"user_id": "frank"})).json()
    assert len(listed["sessions"]) == 1
