"""Scale-out on LiveKit's own multi-node mode: two livekit-server nodes sharing one Redis, one
worker on each. Sessions created through the API are served across both nodes and both workers;
when one worker is killed (SIGKILL) mid-conversation its sessions end with a reason and new
sessions are served by the other."""

import json
from collections.abc import Callable

import pytest

from harness.api_client import ApiClient
from harness.processes import ManagedProcess
from harness.session_api import TEST_SETTINGS
from harness.stack import Stack
from harness.worker import local_providers
from voice_agent.log_messages import JOB_STARTED
from voice_common.logs import find_log_records

AGENT = "multinode-agent"
SESSIONS = 6


@pytest.fixture
def cluster(new_stack, scripted_llm_server) -> Stack:
    """Two livekit nodes on the shared Redis, one API, and node i's worker connected to node i."""
    stack = new_stack("multinode")
    for _ in range(2):
        # Place each new room on the node with the fewest rooms.
        stack.add_livekit(node_selector={"kind": "any", "sort_by": "rooms", "algorithm": "lowest"})
    # The dispatch watchdog on, as in production: after a worker dies, livekit-server may
    # still send it a job and drop the dispatch.
    stack.add_api(
        {
            **TEST_SETTINGS,
            "AGENT_DISPATCH_ATTEMPTS": "5",
            "AGENTS": json.dumps({AGENT: {"agent_name": AGENT}}),
            "AGENT_JOIN_TIMEOUT_SECONDS": "3",
        }
    )
    for node in range(2):
        stack.add_worker(
            {
                **local_providers(scripted_llm_server.url),
                "AGENT_NAME": AGENT,
                "WORKER_METRICS_PORT": "0",
                "IDLE_PROCESSES": "1",
            },
            node=node,
        )
    return stack


async def serve_one(client: ApiClient) -> str:
    """Create a session and wait until its agent joined; its session id."""
    session_id = (await client.create_session("mn", agent_id=AGENT)).session_id
    await client.wait_agent_joined(session_id, within=60)
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
    nodes, workers = [node.proc for node in cluster.livekit_nodes], cluster.workers
    async with ApiClient(cluster.api.url) as client:
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
            state = await client.wait_ended(session_id, within=60)
            assert state.end_reason == "agent_left"
        after = [await serve_one(client) for _ in range(2)]
    assert all(started_job(workers[1], sid) for sid in after)
