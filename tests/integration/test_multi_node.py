"""Scale-out on LiveKit's own multi-node mode: two livekit-server nodes sharing one Redis, one
worker on each. Sessions created through the API are served across both nodes and both workers;
when one worker is killed (SIGKILL) mid-conversation its sessions end with a reason and new
sessions are served by the other."""

import asyncio
import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from conftest import LiveKitHandle, api_env, worker_env

from devstack import (
    LiveKitPorts,
    ManagedProcess,
    free_port,
    livekit_config,
    start_livekit,
    start_session_api,
    start_worker,
)
from voice_agent.log_messages import JOB_STARTED
from voice_common.logs import find_log_records

pytestmark = pytest.mark.integration

AGENT = "multinode-agent"
SESSIONS = 6


@pytest.fixture
def cluster(
    run_dir, api_credentials, redis_server, scripted_llm_server
) -> Iterator[tuple[str, list[ManagedProcess], list[ManagedProcess]]]:
    """(API URL, livekit nodes, workers): node i's worker connects to node i."""
    key, secret = api_credentials
    logs, api_port = run_dir / "logs", free_port()
    webhook = f"http://127.0.0.1:{api_port}/api/livekit/webhook"
    processes: list[ManagedProcess] = []
    nodes, workers, handles = [], [], []
    try:
        for index in range(2):
            ports = LiveKitPorts.free()
            config = livekit_config(ports, redis_server.port, webhook)
            # Place each new room on the node with the fewest rooms.
            config["node_selector"] = {"kind": "any", "sort_by": "rooms", "algorithm": "lowest"}
            node = start_livekit(
                config, key, secret, run_dir / f"node{index}", logs, f"node{index}"
            )
            nodes.append(node)
            handles.append(LiveKitHandle(ports, key, secret, node))
        processes += nodes
        registry = json.dumps({AGENT: {"agent_name": AGENT}})
        # The dispatch watchdog on, as in production: after a worker dies, livekit-server may
        # still send it a job and drop the dispatch.
        env = api_env(
            handles[0], redis_server.url, api_port, AGENTS=registry,
            AGENT_DISPATCH_ATTEMPTS="5", AGENT_JOIN_TIMEOUT_SECONDS="3",
        )  # fmt: skip
        processes.append(start_session_api(env, logs, "api-multinode"))
        for index, handle in enumerate(handles):
            worker_vars = worker_env(
                handle, redis_server.url, scripted_llm_server.url, free_port(), 0,
                AGENT_NAME=AGENT, WORKER_METRICS_PORT="0", IDLE_PROCESSES="1",
            )  # fmt: skip
            workers.append(start_worker(worker_vars, logs, name=f"worker{index}"))
        processes += workers
        yield f"http://127.0.0.1:{api_port}", nodes, workers
    finally:
        for proc in reversed(processes):
            proc.stop()


async def serve_one(client: httpx.AsyncClient) -> str:
    """Create a session and wait until its agent joined; its session id."""
    response = await client.post("/api/voice/session", json={"user_id": "mn", "agent_id": AGENT})
    assert response.status_code == 201, response.text
    session_id = response.json()["session_id"]

    async def joined() -> None:
        while True:
            state = (await client.get(f"/api/voice/session/{session_id}")).json()
            if any(p["kind"] == "agent" for p in state["participants"]):
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(joined(), 60)
    return session_id


def serving(
    procs: list[ManagedProcess], served: Callable[[ManagedProcess, str], bool], session_id: str
) -> int:
    """Index of the process whose log shows it served the session."""
    [index] = [i for i, p in enumerate(procs) if served(p, session_id)]
    return index


def started_job(worker: ManagedProcess, session_id: str) -> bool:
    return bool(find_log_records(worker.log_text(), JOB_STARTED, session_id=session_id))


async def test_sessions_spread_over_nodes_and_workers_and_survive_a_killed_worker(cluster):
    api_url, nodes, workers = cluster
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        served = [await serve_one(client) for _ in range(SESSIONS)]
        # The node hosting a room is the one that starts its participants' RTC sessions.
        node_of = [
            serving(
                nodes,
                lambda p, s: f'"msg":"starting RTC session","room":"voice-{s}"' in p.log_text(),
                sid,
            )
            for sid in served
        ]
        worker_of = [serving(workers, started_job, sid) for sid in served]
        assert set(node_of) == {0, 1}, f"rooms per node: {node_of}"
        assert set(worker_of) == {0, 1}, f"jobs per worker: {worker_of}"

        workers[0].kill()
        killed = [sid for sid, worker in zip(served, worker_of, strict=True) if worker == 0]
        for session_id in killed:
            state = await asyncio.wait_for(ended(client, session_id), 60)
            assert state["end_reason"] == "agent_left"
        after = [await serve_one(client) for _ in range(2)]
    assert all(started_job(workers[1], sid) for sid in after)


async def ended(client: httpx.AsyncClient, session_id: str) -> dict:
    while True:
        state = (await client.get(f"/api/voice/session/{session_id}")).json()
        if state["status"] == "ended":
            return state
        await asyncio.sleep(0.1)
