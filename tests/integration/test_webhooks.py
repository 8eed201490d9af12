"""LiveKit webhooks: only correctly signed events change state, each applies once, in order."""

import base64
import hashlib
import json
import time
import uuid

import jwt
import pytest

WEBHOOK = "/api/livekit/webhook"


def signed(body: bytes, key: str, secret: str) -> str:
    """What livekit-server sends: a JWT whose `sha256` claim is the body's base64 SHA-256."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    now = int(time.time())
    return jwt.encode(
        {"iss": key, "nbf": now - 5, "exp": now + 300, "sha256": digest}, secret, algorithm="HS256"
    )


def event(kind: str, room: str, **extra) -> bytes:
    body = {"event": kind, "id": f"EV_{uuid.uuid4().hex[:12]}", "room": {"name": room}, **extra}
    return json.dumps(body).encode()


async def post(client, body: bytes, auth: str | None, content_type="application/webhook+json"):
    headers = {"content-type": content_type}
    if auth is not None:
        headers["authorization"] = auth
    return await client.post(WEBHOOK, content=body, headers=headers)


async def test_unsigned_forged_and_tampered_events_are_401_and_change_nothing(
    api_client, client, livekit_server
):
    session = await api_client.create_session("hooks")
    body = event("room_finished", session.room)
    key, secret = livekit_server.api_key, livekit_server.api_secret

    attempts = {
        "unsigned": await post(client, body, None),
        "garbage": await post(client, body, "not-a-jwt"),
        "wrong secret": await post(client, body, signed(body, key, "x" * 40)),
        "wrong key": await post(client, body, signed(body, "otherkey", secret)),
        "tampered body": await post(
            client, event("room_finished", session.room), signed(body, key, secret)
        ),
    }
    for name, response in attempts.items():
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == "unauthorized", name
    assert (await api_client.get_session(session.session_id)).status == "created"


async def test_a_signed_event_applies_once_and_state_never_moves_back(
    api_client, client, livekit_server
):
    session = await api_client.create_session("hooks")
    key, secret = livekit_server.api_key, livekit_server.api_secret
    finished = event("room_finished", session.room)

    applied = await post(client, finished, signed(finished, key, secret))
    assert applied.json() == {"status": "applied"}
    assert (await api_client.get_session(session.session_id)).status == "ended"

    replay = await post(client, finished, signed(finished, key, secret))
    assert replay.json() == {"status": "duplicate"}

    late_join = event(
        "participant_joined", session.room, participant={"identity": "late", "kind": "STANDARD"}
    )
    await post(client, late_join, signed(late_join, key, secret))
    state = await api_client.get_session(session.session_id)
    assert state.status == "ended", "a late participant_joined must not reopen the session"
    assert state.end_reason == "room_finished"


UNAUTHORIZED = {"code": "unauthorized", "message": "Invalid webhook signature"}


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        # Not UTF-8: refused before the signature is verified.
        (b"\xff\xfe", 400, {"code": "bad_request", "message": "Webhook body is not UTF-8"}),
        # LiveKit's receiver verifies and parses in one call, so a correctly signed body it
        # cannot parse gets the answer of a bad signature.
        (b"{not json", 401, UNAUTHORIZED),
        (b'{"event": 7}', 401, UNAUTHORIZED),
        # A room_finished for the session's room, with an id of the wrong type.
        (b'{"event": "room_finished", "id": 7, "room": {"name": "ROOM"}}', 401, UNAUTHORIZED),
    ],
)
async def test_signed_but_malformed_body_is_rejected_without_change(
    api_client, client, livekit_server, body, status, error
):
    session = await api_client.create_session("hooks")
    body = body.replace(b"ROOM", session.room.encode())
    response = await post(
        client, body, signed(body, livekit_server.api_key, livekit_server.api_secret)
    )
    assert response.status_code == status
    assert response.json() == {"error": error}
    assert (await api_client.get_session(session.session_id)).status == "created"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
)
async def test_a_signed_event_with_another_content_type_is_400_and_changes_nothing(
    api_client, client, livekit_server, content_type
):
    session = await api_client.create_session("hooks")
    body = event("room_finished", session.room)
    auth = signed(body, livekit_server.api_key, livekit_server.api_secret)

    response = await post(client, body, auth, content_type=content_type)

    assert response.status_code == 400
    assert "content type" in response.json()["error"]["message"]
    assert (await api_client.get_session(session.session_id)).status == "created"


async def test_events_for_unknown_rooms_are_ignored(client, livekit_server):
    body = event("room_finished", "someone-elses-room")
    response = await post(
        client, body, signed(body, livekit_server.api_key, livekit_server.api_secret)
    )
    assert response.json() == {"status": "ignored"}


async def test_the_agent_leaving_ends_the_session_but_a_user_leaving_does_not(
    api_client, client, livekit_server
):
    session = await api_client.create_session("hooks")
    key, secret = livekit_server.api_key, livekit_server.api_secret

    def left(identity: str, kind: str) -> bytes:
        return event(
            "participant_left", session.room, participant={"identity": identity, "kind": kind}
        )

    user_left = left(session.identity, "STANDARD")
    await post(client, user_left, signed(user_left, key, secret))
    assert (await api_client.get_session(session.session_id)).status == "created"

    agent_left = left("agent-AJ_1", "AGENT")
    await post(client, agent_left, signed(agent_left, key, secret))
    state = await api_client.get_session(session.session_id)
    assert state.status == "ended"
    assert state.end_reason == "agent_left"
