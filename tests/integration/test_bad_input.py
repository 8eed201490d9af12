"""Bad input gets its status and the JSON error shape; rate limits and CORS hold.

The checks on the shared `client` run the app in this process (they never reach LiveKit); the
rate limits run on session APIs started as processes, with their own settings."""

import json

import httpx
import pytest

from harness.api_client import ApiClient

SESSION = "/api/voice/session"


@pytest.fixture
async def client(app_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """In this module the shared client is the in-process app."""
    return app_client


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"agent_id": "pm-agent"}, id="user_id missing"),
        pytest.param({"user_id": ""}, id="user_id empty"),
        pytest.param({"user_id": "x" * 65}, id="user_id 65 chars"),
        pytest.param({"user_id": "bad user!"}, id="user_id bad characters"),
        pytest.param({"user_id": 42}, id="user_id not a string"),
        pytest.param({"user_id": "ok", "metadata": "text"}, id="metadata not an object"),
        pytest.param({"user_id": "ok", "metadata": {"blob": "x" * 4100}}, id="metadata over 4KB"),
        pytest.param({"user_id": "ok", "language": "english!"}, id="language not BCP 47"),
        pytest.param({"user_id": "ok", "surprise": 1}, id="unknown field"),
        pytest.param(["user_id"], id="not an object"),
    ],
)
async def test_invalid_bodies_are_422(client, body):
    error = assert_error(await client.post(SESSION, json=body), 422, "validation_error")
    assert error["details"], "the client is told which field is wrong"


async def test_malformed_json_is_422(client):
    response = await client.post(
        SESSION, content=b'{"user_id": ', headers={"content-type": "application/json"}
    )
    error = assert_error(response, 422, "validation_error")
    assert "not valid JSON" in error["message"]


async def test_a_body_that_is_not_even_text_is_422(client):
    response = await client.post(
        SESSION, content=b"\xff\xfe\x13", headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "validation_error")


async def test_405_lists_every_method_the_path_serves(client):
    response = await client.put(f"{SESSION}/{'0' * 32}")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE, GET"


async def test_metadata_limit_names_the_size(client):
    response = await client.post(SESSION, json={"user_id": "ok", "metadata": {"b": "x" * 5000}})
    error = assert_error(response, 422, "validation_error")
    assert "4096" in error["message"]


async def test_unknown_agent_is_404_and_lists_known_ones(client):
    response = await client.post(SESSION, json={"user_id": "ok", "agent_id": "nope"})
    error = assert_error(response, 404, "unknown_agent")
    assert "pm-agent" in error["message"]


async def test_body_over_16kb_is_413_declared_or_streamed(client):
    big = json.dumps({"user_id": "ok", "metadata": {"b": "x" * 17000}}).encode()
    assert_error(
        await client.post(SESSION, content=big, headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )

    async def chunks():  # no Content-Length: the limit must hold while streaming too
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    assert_error(
        await client.post(SESSION, content=chunks(), headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )


async def test_other_errors_use_the_shape_too(client):
    assert_error(await client.get("/api/nowhere"), 404, "not_found")
    assert_error(await client.put(SESSION), 405, "method_not_allowed")
    assert_error(await client.get(f"{SESSION}/not-a-session-id"), 422, "validation_error")
    assert_error(await client.get("/api/voice/sessions"), 422, "validation_error")
    assert_error(
        await client.get("/api/voice/sessions", params={"user_id": "ok", "limit": 0}),
        422,
        "validation_error",
    )


async def test_per_user_rate_limit_is_429_with_retry_after(start_api):
    limited = start_api(RATE_LIMIT_PER_USER_PER_MINUTE="2")
    async with limited.client() as client:
        for _ in range(2):
            assert (await client.post(SESSION, json={"user_id": "greedy"})).status_code == 201
        refused = await client.post(SESSION, json={"user_id": "greedy"})
        other_user = await client.post(SESSION, json={"user_id": "patient"})
    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 30  # 2/min: one more every 30 s
    assert other_user.status_code == 201
    async with ApiClient(limited.url) as api:
        listed = (await api.list_sessions("greedy")).sessions
    assert len(listed) == 2, "a refused request creates nothing"


async def test_per_ip_rate_limit_spans_users_and_token_route(start_api):
    limited = start_api(RATE_LIMIT_PER_IP_PER_MINUTE="3", RATE_LIMIT_PER_USER_PER_MINUTE="100")
    async with limited.client() as client:
        statuses = [
            (await client.post(SESSION, json={"user_id": f"user{i}"})).status_code for i in range(3)
        ]
        refused = await client.post("/api/token", json={"user_id": "user9"})
    assert statuses == [201, 201, 201]
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1


async def test_cors_allows_only_configured_origins(client):
    preflight = {"access-control-request-method": "POST"}
    allowed = await client.options(
        SESSION, headers={"origin": "http://localhost:3000", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"

    refused = await client.options(SESSION, headers={"origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers

    simple = await client.get("/healthz", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers
