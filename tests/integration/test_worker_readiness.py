"""A worker that cannot answer says so: with no OPENAI_API_KEY and no LLM server at LLM_BASE_URL
it logs one line naming both fixes, and GET /api/voice/agents/{id} reports it not ready with
that line, so the web client tells the user before a call; once an LLM server answers there,
the worker reports itself ready again by itself.
"""

import asyncio
import json

import httpx

from harness.fakes.pm_script import RULES
from harness.fakes.scripted_llm import ScriptedLLM
from harness.processes import free_port

AGENT = "readiness-agent"


async def agent_status(client: httpx.AsyncClient, workers: int = 1) -> dict:
    """The agent's status once `workers` workers have reported (bounded by the caller)."""
    while True:
        response = await client.get(f"/api/voice/agents/{AGENT}")
        assert response.status_code == 200, response.text
        status = response.json()
        if status["workers"] >= workers:
            return status
        await asyncio.sleep(0.2)


async def test_a_worker_without_an_llm_reports_it_and_recovers_when_one_answers(
    new_worker, start_api
) -> None:
    api = start_api(AGENTS=json.dumps({AGENT: {"agent_name": AGENT}}))
    llm_port = free_port()  # nothing listens here yet
    llm_url = f"http://127.0.0.1:{llm_port}/v1"
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        before = (await client.get(f"/api/voice/agents/{AGENT}")).json()
        assert (before["workers"], before["ready"]) == (0, None)

        worker = new_worker(
            "worker-readiness", llm_url=llm_url,
            AGENT_NAME=AGENT, IDLE_PROCESSES="1", OPENAI_API_KEY="", WORKER_METRICS_PORT="0",
        )  # fmt: skip
        try:
            status = await asyncio.wait_for(agent_status(client), 30)
            assert status["ready"] is False
            (problem,) = status["problems"]
            assert "OPENAI_API_KEY" in problem and llm_url in problem
            assert "docker compose --profile local up -d" in problem
            logged = [
                json.loads(line)["message"]
                for line in worker.log_text().splitlines()
                if line.startswith("{") and "worker cannot answer" in line
            ]
            assert logged == [f"worker cannot answer: {problem}"]

            llm = ScriptedLLM(RULES)
            await llm.start(port=llm_port)
            try:

                async def ready() -> None:
                    while (await agent_status(client))["ready"] is not True:  # noqa: ASYNC110
                        await asyncio.sleep(0.5)

                await asyncio.wait_for(ready(), 40)  # one report interval (15 s) and a margin
                assert "worker providers ready again" in worker.log_text()
            finally:
                await llm.stop()
        finally:
            worker.stop()


async def test_an_unknown_agent_is_404(client) -> None:
    response = await client.get("/api/voice/agents/nobody")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_agent"
