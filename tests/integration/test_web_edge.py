"""nginx at the edge, configured by the server block of frontend/nginx/default.conf.template as
the web image configures it: it refuses a large body itself, in the API's error shape, and
overwrites a forged X-Forwarded-For, so the API's per-IP limits count the real client."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from harness.infra import require_binary
from harness.processes import StartupError, free_port
from harness.web import start_web
from voice_common import redis_keys as keys

SESSION = "/api/voice/session"


@dataclass(frozen=True)
class Edge:
    web_url: str  # nginx
    api_url: str  # the session API behind it, reached directly
    redis_url: str  # the API's own Redis


@pytest.fixture
def edge(tmp_path: Path, start_api, private_redis) -> Iterator[Edge]:
    """nginx, configured as the web image configures it, in front of a session API of its own
    that trusts X-Forwarded-For from loopback (the default) and counts sessions per client IP in a
    Redis of its own, so its rate-limit keys show which address it took for the client. One
    session per IP and minute: each key then lives for a minute (GCRA keeps a key one emission
    interval), and each test creates at most one session per address."""
    require_binary("nginx")
    api = start_api(
        REDIS_URL=private_redis.url,
        FORWARDED_ALLOW_IPS="127.0.0.1",
        RATE_LIMIT_PER_IP_PER_MINUTE="1",
    )
    port = free_port()
    try:
        proc = start_web(port, api.port, tmp_path / "web", tmp_path / "logs")
    except StartupError as exc:
        pytest.fail(str(exc))
    yield Edge(f"http://127.0.0.1:{port}", api.url, private_redis.url)
    proc.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def api_413_count(http: httpx.AsyncClient, api_url: str) -> float:
    """How many requests the session API itself has answered with 413 (its /metrics)."""
    text = (await http.get(f"{api_url}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "http_requests_total" and sample.labels["status"] == "413"
    )


async def test_nginx_refuses_a_large_body_itself_in_the_apis_error_shape(
    edge: Edge, http: httpx.AsyncClient
) -> None:
    body = {"user_id": "large-body", "metadata": {"padding": "x" * 20_000}}

    refused_by_nginx = await http.post(f"{edge.web_url}{SESSION}", json=body)
    assert refused_by_nginx.status_code == 413
    assert refused_by_nginx.headers["content-type"] == "application/json"
    assert await api_413_count(http, edge.api_url) == 0, "nginx passed the body on to the API"

    refused_by_api = await http.post(f"{edge.api_url}{SESSION}", json=body)
    assert refused_by_api.status_code == 413
    assert await api_413_count(http, edge.api_url) == 1
    assert refused_by_nginx.json() == refused_by_api.json()
    assert refused_by_nginx.json()["error"]["code"] == "payload_too_large"


async def test_nginx_overwrites_a_forged_x_forwarded_for(
    edge: Edge, http: httpx.AsyncClient
) -> None:
    """The API takes a trusted proxy's X-Forwarded-For as the client IP (the direct request shows
    it does), so nginx must replace a client's own header with the address it saw: loopback."""
    direct = await http.post(
        f"{edge.api_url}{SESSION}",
        json={"user_id": "direct"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    proxied = await http.post(
        f"{edge.web_url}{SESSION}",
        json={"user_id": "proxied"},
        headers={"X-Forwarded-For": "198.51.100.9"},
    )
    assert direct.status_code == proxied.status_code == 201, (direct.text, proxied.text)

    redis = Redis.from_url(edge.redis_url, decode_responses=True)
    try:
        counted = {key async for key in redis.scan_iter(match=keys.rate_limit("ip", "*"))}
    finally:
        await redis.aclose()
    assert counted == {keys.rate_limit("ip", "203.0.113.7"), keys.rate_limit("ip", "127.0.0.1")}

    for created in (direct, proxied):
        session_id = created.json()["session_id"]
        assert (await http.delete(f"{edge.api_url}{SESSION}/{session_id}")).status_code == 200
