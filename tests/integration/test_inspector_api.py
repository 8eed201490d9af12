"""The inspector's endpoints: the operator token, every user's sessions (filters, pagination,
newest first), one session's record, and bad input in the JSON error shape.

The app runs in this process on the real Redis; sessions are written by the real `SessionStore`
(LiveKit is never reached) and transcripts as the worker writes them."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis.asyncio import Redis

from harness.session_api import INSPECTOR_TOKEN
from harness.session_records import append_entries, seed_session
from voice_common import redis_keys as keys
from voice_common.transcript import AgentTurn, LatencyStages, ToolCall, UserTurn

SESSIONS = "/api/inspector/sessions"
AUTH = {"Authorization": f"Bearer {INSPECTOR_TOKEN}"}


@pytest.fixture
async def redis(redis_server) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def client(in_process_api) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_api() as client:
        yield client


def a_window() -> datetime:
    """The start of a day of this test's own, years ahead, so that no other session (and no
    retention trim, which removes the oldest) falls into it."""
    return datetime(2090, 1, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 20_000)


async def inspect(client: httpx.AsyncClient, **params: object) -> httpx.Response:
    """GET the session list with the operator token."""
    return await client.get(SESSIONS, params=params, headers=AUTH)


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no token"),
        pytest.param(
            {"Authorization": "Bearer wrong-token-of-the-same-length-0123456789"}, id="wrong"
        ),
        pytest.param({"Authorization": f"Basic {INSPECTOR_TOKEN}"}, id="not bearer"),
        pytest.param({"Authorization": f"Bearer {INSPECTOR_TOKEN}x"}, id="longer"),
    ],
)
@pytest.mark.parametrize("path", [SESSIONS, f"{SESSIONS}/{'0' * 32}"])
async def test_without_the_token_401(client, headers, path):
    response = await client.get(path, headers=headers)
    error = assert_error(response, 401, "unauthorized")
    assert "Bearer" in error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_off_without_a_configured_token_even_with_one_sent(in_process_api):
    async with in_process_api(INSPECTOR_TOKEN="") as client:
        response = await client.get(SESSIONS, headers=AUTH)
    error = assert_error(response, 401, "inspector_disabled")
    assert "INSPECTOR_TOKEN" in error["message"]


async def test_per_user_endpoints_need_no_token(client, redis):
    user = f"u{uuid.uuid4().hex[:12]}"
    sid = await seed_session(redis, user, datetime.now(UTC))
    assert (await client.get(f"/api/voice/session/{sid}")).status_code == 200
    listed = (await client.get("/api/voice/sessions", params={"user_id": user})).json()
    assert [s["session_id"] for s in listed["sessions"]] == [sid]


async def test_every_users_sessions_newest_first_in_pages(client, redis):
    day = a_window()
    ids = [await seed_session(redis, f"user{n % 2}", day + timedelta(minutes=n)) for n in range(5)]
    window = {"created_from": day.isoformat(), "created_to": (day + timedelta(hours=1)).isoformat()}

    first = (await inspect(client, **window, limit=2)).json()
    second = (await inspect(client, **window, limit=2, offset=2)).json()
    last = (await inspect(client, **window, limit=2, offset=4)).json()

    pages = [first, second, last]
    assert [[s["session_id"] for s in p["sessions"]] for p in pages] == [
        ids[4:2:-1],
        ids[2:0:-1],
        ids[0:1],
    ]
    assert [p["next_offset"] for p in pages] == [2, 4, None]
    row = last["sessions"][0]
    assert row["user_id"] == "user0" and row["agent_id"] == "pm-agent"
    assert row["status"] == "created" and row["transcript_entries"] == 0


async def test_filters_by_user_status_and_date(client, redis):
    day = a_window()
    user = f"u{uuid.uuid4().hex[:12]}"
    ended = await seed_session(redis, user, day, status="ended", end_reason="user_left")
    active = await seed_session(redis, user, day + timedelta(hours=2), status="active")
    created = await seed_session(redis, user, day + timedelta(hours=4))
    other_user = await seed_session(redis, "someone-else", day + timedelta(hours=1), status="ended")

    async def listed(**params: str) -> list[str]:
        response = await client.get(SESSIONS, params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        return [s["session_id"] for s in response.json()["sessions"]]

    assert await listed(user_id=user) == [created, active, ended]
    assert await listed(user_id=user, status="ended") == [ended]
    start, end = day.isoformat(), (day + timedelta(hours=5)).isoformat()
    assert await listed(created_from=start, created_to=end, status="ended") == [other_user, ended]
    assert await listed(
        user_id=user,
        created_from=(day + timedelta(hours=1)).isoformat(),
        created_to=(day + timedelta(hours=3)).isoformat(),
    ) == [active]
    row = (await inspect(client, user_id=user, status="ended")).json()
    assert row["sessions"][0]["end_reason"] == "user_left"


async def test_status_filter_pages_across_skipped_sessions(client, redis):
    day = a_window()
    statuses = ["ended", "active", "ended", "active", "ended", "ended"]
    ids = [
        await seed_session(redis, "pager", day + timedelta(minutes=n), status=status)
        for n, status in enumerate(statuses)
    ]
    ended = [sid for sid, status in zip(ids, statuses, strict=True) if status == "ended"][::-1]
    window = {"created_from": day.isoformat(), "created_to": (day + timedelta(hours=1)).isoformat()}
    params = {**window, "status": "ended", "limit": 3}
    first = (await client.get(SESSIONS, params=params, headers=AUTH)).json()
    second = (await client.get(SESSIONS, params={**params, "offset": 3}, headers=AUTH)).json()
    assert [s["session_id"] for s in first["sessions"]] == ended[:3]
    assert first["next_offset"] == 3
    assert [s["session_id"] for s in second["sessions"]] == ended[3:]
    assert second["next_offset"] is None


async def test_an_expired_record_is_skipped(client, redis):
    day = a_window()
    kept = await seed_session(redis, "expiry", day)
    gone = await seed_session(redis, "expiry", day + timedelta(minutes=1))
    await redis.delete(keys.session(gone))
    window = {"created_from": day.isoformat(), "created_to": (day + timedelta(hours=1)).isoformat()}
    page = (await client.get(SESSIONS, params=window, headers=AUTH)).json()
    assert [s["session_id"] for s in page["sessions"]] == [kept]


async def test_one_session_is_its_redis_record(client, redis):
    at = datetime.now(UTC)
    sid = await seed_session(
        redis,
        "inspected",
        at,
        status="ended",
        end_reason="user_left",
        usage=json.dumps({"user_turns": 1, "agent_turns": 1, "tool_calls": 1}),
    )
    entries = [
        UserTurn(text="What is the status of Apollo?", latency=LatencyStages(stt_delay=0.3), at=at),
        ToolCall(
            name="get_project_status",
            arguments={"project": "apollo"},
            output="on track",
            is_error=False,
            at=at,
        ),
        AgentTurn(
            text="Apollo is on track.",
            latency=LatencyStages(
                end_of_turn_delay=0.5, llm_ttft=0.2, tts_ttfb=0.1, voice_to_voice=0.9
            ),
            at=at,
        ),
    ]
    await append_entries(redis, sid, *entries)

    response = await client.get(f"{SESSIONS}/{sid}", headers=AUTH)
    assert response.status_code == 200, response.text
    state = response.json()
    assert state["status"] == "ended" and state["end_reason"] == "user_left"
    assert state["usage"] == {"user_turns": 1, "agent_turns": 1, "tool_calls": 1}
    stored = [json.loads(line) for line in await redis.lrange(keys.transcript(sid), 0, -1)]
    assert [{k: v for k, v in e.items() if k != "at"} for e in state["transcript"]] == [
        {k: v for k, v in e.items() if k != "at"} for e in stored
    ]
    page = (await client.get(SESSIONS, params={"user_id": "inspected"}, headers=AUTH)).json()
    assert page["sessions"][0]["transcript_entries"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"created_from": "2026-01-01T00:00:00"}, "created_from", id="no offset"),
        pytest.param({"created_to": "yesterday"}, "created_to", id="not a date"),
        pytest.param({"status": "paused"}, "status", id="unknown status"),
        pytest.param({"user_id": "bad user!"}, "user_id", id="bad user id"),
        pytest.param({"limit": "0"}, "limit", id="limit 0"),
        pytest.param({"limit": "101"}, "limit", id="limit 101"),
        pytest.param({"offset": "-1"}, "offset", id="negative offset"),
    ],
)
async def test_bad_filters_422(client, params, field):
    error = assert_error(await inspect(client, **params), 422, "validation_error")
    assert field in error["message"]


async def test_a_date_range_backwards_422(client):
    params = {"created_from": "2026-02-01T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"}
    error = assert_error(await inspect(client, **params), 422, "validation_error")
    assert "created_from" in error["message"]


async def test_unknown_or_malformed_session(client):
    assert_error(await client.get(f"{SESSIONS}/{'0' * 32}", headers=AUTH), 404, "session_not_found")
    assert_error(await client.get(f"{SESSIONS}/not-an-id", headers=AUTH), 422, "validation_error")
