"""Tokens let no one in where they don't belong, proved against the real livekit-server."""

import base64
import json
import time

import jwt
import pytest
from livekit import api, rtc


async def identities(lk: api.LiveKitAPI, room: str) -> set[str]:
    listed = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
    return {p.identity for p in listed.participants}


async def test_a_token_joins_its_own_room_only(api_client, lk, livekit_server):
    alice, bob = (
        await api_client.create_session("iso-alice"),
        await api_client.create_session("iso-bob"),
    )
    room = rtc.Room()
    await room.connect(livekit_server.ws_url, alice.token)
    try:
        assert room.name == alice.room
        assert alice.identity in await identities(lk, alice.room)
        assert alice.identity not in await identities(lk, bob.room)
    finally:
        await room.disconnect()


def with_claims_keeping_signature(token: str, claims: dict) -> str:
    """The token with its claims replaced and its original signature kept: all an attacker
    without the API secret can do to a token."""
    head, _, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{signature}"


async def test_retargeting_a_token_at_another_room_is_refused(api_client, livekit_server):
    alice, bob = (
        await api_client.create_session("iso-carol"),
        await api_client.create_session("iso-dave"),
    )
    claims = jwt.decode(alice.token, options={"verify_signature": False})
    claims["video"]["room"] = bob.room
    forged = with_claims_keeping_signature(alice.token, claims)
    with pytest.raises(rtc.ConnectError):
        await rtc.Room().connect(livekit_server.ws_url, forged)


async def test_an_expired_token_cannot_join(api_client, livekit_server):
    session = await api_client.create_session("iso-erin")
    claims = jwt.decode(session.token, livekit_server.api_secret, algorithms=["HS256"])
    claims.update(nbf=int(time.time()) - 120, exp=int(time.time()) - 60)
    expired = jwt.encode(claims, livekit_server.api_secret, algorithm="HS256")
    with pytest.raises(rtc.ConnectError):
        await rtc.Room().connect(livekit_server.ws_url, expired)


async def test_a_session_token_cannot_administer_rooms(api_client, livekit_server):
    session = await api_client.create_session("iso-frank")
    as_user = api.LiveKitAPI(livekit_server.http_url, token=session.token, failover=False)
    try:
        with pytest.raises(api.ServerError) as refused:
            await as_user.room.list_rooms(api.ListRoomsRequest())
        # livekit-server answers a missing grant as unauthenticated (401), not 403.
        assert refused.value.status == 401
        with pytest.raises(api.ServerError) as refused:
            await as_user.room.create_room(api.CreateRoomRequest(name="not-yours"))
        assert refused.value.status == 401
    finally:
        await as_user.aclose()
