"""Health, readiness, Prometheus metrics, and secrets kept out of responses and logs."""

import re


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"redis": "ok", "livekit": "ok"}}


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_by_route_template_and_sessions(client):
    before = (await client.get("/metrics")).text
    created = (await client.post("/api/voice/session", json={"user_id": "mia"})).json()
    await client.get(f"/api/voice/session/{created['session_id']}")
    await client.post("/api/voice/session", json={"user_id": "bad user"})
    after = (await client.get("/metrics")).text

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("http_requests_total", route="/api/voice/session", status="201") == 1
    assert delta("http_requests_total", route="/api/voice/session", status="422") == 1
    assert delta("http_requests_total", route="/api/voice/session/{session_id}", status="200") == 1
    assert delta("voice_sessions_created_total", agent_id="pm-agent") == 1
    assert delta("http_request_duration_seconds_count", route="/api/voice/session") == 2
    assert "voice_sessions_active " in after


async def test_the_api_secret_appears_in_no_response_and_no_log(
    client, session_api, livekit_server
):
    secret = livekit_server.api_secret
    responses = [
        await client.post("/api/voice/session", json={"user_id": "nia"}),
        await client.post("/api/token", json={"user_id": "nia"}),
        await client.get("/api/voice/sessions", params={"user_id": "nia"}),
        await client.get("/openapi.json"),
        await client.get("/metrics"),
        await client.get("/readyz"),
        await client.post("/api/voice/session", json={"user_id": "nia", "agent_id": "nope"}),
    ]
    for response in responses:
        assert secret not in response.text
        assert "secret" not in response.headers.get("set-cookie", "")
    assert secret not in session_api.proc.log_text()
    assert f"LIVEKIT_API_SECRET={secret}" not in session_api.proc.log_text()
