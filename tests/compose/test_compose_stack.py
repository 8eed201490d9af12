"""`docker compose up -d` for real: the README's quick start against the real containers.

One stack for the module, built and started once (`build`, then `up -d --wait`), then used in
order: what a user does first (health, the worker's ready line, the README's curl, the page and
its /api proxy, a spoken conversation from a real Chromium on the host), then the faults and
operations that change the stack (Redis restarted, livekit-server crashing, two workers, a LAN
address, `stop`, `down` and `up` again). The LLM is the ScriptedLLM fake, reachable as `ollama`
(tests/compose/docker-compose.test.yml); speech is Whisper tiny.en and Piper in the worker image.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from harness.browser import (
    artifact,
    browser_launcher,
    expect,
    microphone_flags,
    with_leading_silence,
)
from harness.caller import CallerError, VoiceCaller
from harness.compose import (
    API_URL,
    PROJECT,
    SERVICES,
    WEB_URL,
    ComposeStack,
    create_session,
    create_session_once_served,
    end_session,
    get_session,
    require_docker,
    wait_agent_joined,
    wait_until,
)
from harness.speech_samples import synthesize_wav
from voice_agent.log_messages import JOB_STARTED, WORKER_READY
from voice_common.logs import find_log_records

QUESTION = "What is the status of Apollo?"
HEARD = re.compile(r"^(?!0\.00)\d+\.\d+$")  # the page's meter: a level of 0.01 or more
SIGKILLED = 137
LOGS = artifact("compose-logs.txt")  # every container's logs, kept across `down`


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    require_docker()
    stack = ComposeStack(env={**os.environ})
    stack.down("--volumes", "--remove-orphans")  # what an aborted run left
    LOGS.unlink(missing_ok=True)
    try:
        stack.compose("build", timeout=1800)
        stack.compose("up", "-d", "--wait", timeout=300)
        yield stack
    finally:
        stack.down("--volumes", "--remove-orphans", log_to=LOGS)


def test_compose_config_accepts_the_compose_file() -> None:
    """The real CLI validates docker-compose.yml as a user runs it (no override)."""
    require_docker()
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["docker", "compose", "-f", "docker-compose.yml", "config", "--quiet"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_up_wait_brings_every_service_to_healthy(stack: ComposeStack) -> None:
    states = stack.states()
    for service in SERVICES:
        (row,) = states[service]
        assert (row["State"], row["Health"]) == ("running", "healthy"), row


def test_worker_logs_that_it_is_ready(stack: ComposeStack) -> None:
    """The README: `docker compose logs -f voice-agent-worker` shows the ready line; healthy
    means registered, so it is there as soon as `up --wait` returns."""
    logs = stack.compose("logs", "--no-log-prefix", "voice-agent-worker")
    assert find_log_records(logs, WORKER_READY)


def test_readme_curl_creates_a_session_that_the_agent_joins(stack: ComposeStack) -> None:
    session = create_session("test")
    assert session["livekit_url"] == "ws://localhost:7880"
    assert session["room"].startswith("voice-") and session["token"]
    state = wait_agent_joined(session["session_id"], within=30)
    assert state["status"] in ("created", "active")
    end_session(session["session_id"])


def test_web_serves_the_page_and_proxies_the_api(stack: ComposeStack) -> None:
    page = httpx.get(WEB_URL, timeout=10)
    assert page.status_code == 200
    assert "<title>Voice Agent</title>" in page.text
    listed = httpx.get(f"{WEB_URL}/api/voice/sessions", params={"user_id": "test"}, timeout=10)
    assert listed.status_code == 200
    assert listed.json()["sessions"], "the session created through port 8000 is listed via 3000"
    # nginx refuses an oversized body itself, in the API's error shape.
    big = httpx.post(
        f"{WEB_URL}/api/voice/session",
        content=json.dumps({"user_id": "x" * 20_000}),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"


# --- a browser on the host --------------------------------------------------------------------


@contextlib.contextmanager
def host_reaches_containers_only_through_published_ports(stack: ComposeStack) -> Iterator[None]:
    """As on Docker Desktop, where the host cannot reach container addresses: drop new
    connections from this host to the compose network unless Docker's port publishing made
    them (DNAT). Replies to connections the containers opened still pass. Needs root and
    iptables; without them the test runs as on a Linux host."""
    network = f"{PROJECT}_default"
    inspected = subprocess.run(
        ["docker", "network", "inspect", network], capture_output=True, text=True, check=True
    )
    subnet = json.loads(inspected.stdout)[0]["IPAM"]["Config"][0]["Subnet"]
    rule = ["OUTPUT", "-d", subnet, "-m", "conntrack", "--ctstate", "NEW"]
    rule += ["-m", "conntrack", "!", "--ctstate", "DNAT", "-j", "DROP"]
    iptables = shutil.which("iptables")
    if os.geteuid() != 0 or iptables is None:
        yield
        return
    subprocess.run([iptables, "-I", *rule], check=True)
    try:
        yield
    finally:
        subprocess.run([iptables, "-D", *rule], check=True)


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "question.wav"
    return with_leading_silence(synthesize_wav(QUESTION, path, silence_after=60.0), 1.5)


@pytest.fixture
async def launch_page() -> AsyncIterator:
    async with browser_launcher() as launch:
        yield launch


async def test_a_browser_on_the_host_talks_with_the_agent(
    stack: ComposeStack, launch_page, question_wav: Path
) -> None:
    """Enable Voice in Chromium on the host, with media reaching livekit-server only through
    the published ports: the question is heard and answered with the tool, by voice."""
    with host_reaches_containers_only_through_published_ports(stack):
        browser = await launch_page(microphone_flags(question_wav))
        page = browser.page
        await page.goto(WEB_URL)
        await page.get_by_role("button", name="Enable Voice").click()

        def lines(speaker: str, text: str | re.Pattern[str]):
            return page.locator(f'#transcript li[data-speaker="{speaker}"]').filter(has_text=text)

        await expect(lines("user", re.compile("apollo", re.I)).first).to_be_visible(timeout=90_000)
        await expect(lines("agent", "Apollo is").first).to_be_visible(timeout=90_000)
        await expect(lines("tool", "Looked up the status of Apollo")).to_have_count(
            1, timeout=15_000
        )
        # The agent's voice reached the page, measured on the received track.
        await expect(page.locator("#agent-meter")).to_have_attribute(
            "data-max-level", HEARD, timeout=15_000
        )
        await page.screenshot(path=artifact("compose-web-client.png"))
        await page.get_by_role("button", name="End session").click()
        await expect(page.get_by_role("button", name="Enable Voice")).to_be_visible()
    assert browser.errors == []


async def test_without_an_llm_the_page_says_what_to_set_before_the_call(
    stack: ComposeStack, launch_page
) -> None:
    """The README's `docker compose up -d` with no OPENAI_API_KEY and no `local` profile: no LLM
    answers at the worker's LLM_BASE_URL (here, the fake stopped). The worker reports it, the
    API says so, and the page tells the user what to set before they click; when an LLM
    answers again the warning is gone."""
    status_url = f"{WEB_URL}/api/voice/agents/pm-agent"
    stack.compose("stop", "fake-llm")
    try:
        status = wait_until(
            lambda: (s := httpx.get(status_url, timeout=10).json())["ready"] is False and s,
            60,
            "the worker reporting that no LLM answers",
        )
        assert any("OPENAI_API_KEY" in p and "--profile local" in p for p in status["problems"])
        browser = await launch_page([])
        await browser.page.goto(WEB_URL)
        problem = browser.page.locator("#problem")
        await expect(problem).to_be_visible(timeout=15_000)
        await expect(problem).to_contain_text("The assistant cannot answer yet")
        await expect(problem).to_contain_text("OPENAI_API_KEY")
    finally:
        stack.compose("start", "fake-llm")
    wait_until(
        lambda: httpx.get(status_url, timeout=10).json()["ready"] is True,
        60,
        "the worker reporting ready again",
    )


# --- faults and operations --------------------------------------------------------------------


def test_redis_restart_loses_no_session(stack: ComposeStack) -> None:
    session = create_session("redis-restart")
    before = get_session(session["session_id"])
    stack.compose("restart", "redis")
    stack.wait_healthy("redis")
    after = wait_until(
        lambda: _session_or_none(session["session_id"]), 30, "the API answering again"
    )
    assert (after["session_id"], after["created_at"]) == (
        before["session_id"],
        before["created_at"],
    )
    end_session(session["session_id"])


def _session_or_none(session_id: str) -> dict | None:
    response = httpx.get(f"{API_URL}/api/voice/session/{session_id}", timeout=10)
    return response.json() if response.status_code == 200 else None


async def _greeting_heard(api_url: str = API_URL, within: float = 60) -> None:
    """A caller on the host joins a new session and hears the agent's greeting: media flows
    between the host, livekit-server and the worker.

    Right after a livekit-server crash the API may still answer 503 livekit_unavailable now and
    then (livekit-server routes some requests to its dead node for a while; troubleshooting.md):
    the caller tries again, as the page's user would, within `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            async with VoiceCaller.connect(api_url, "greeting-check", within=30) as caller:
                await caller.wait_for_greeting(within=60)
            return
        except CallerError as exc:
            if "503" not in str(exc) or "livekit_unavailable" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.5)


async def test_livekit_crash_is_recovered_by_docker_without_a_manual_step(
    stack: ComposeStack,
) -> None:
    """livekit-server dies (SIGKILL from outside, as a crash); Docker's restart policy starts
    it again; the worker, in its own network namespace, reconnects by itself; a new session
    is served, media included."""
    stack.wait_healthy("livekit")
    livekit = stack.container_id("livekit")
    worker = stack.container_id("voice-agent-worker")
    worker_started = stack.inspect(worker)["State"]["StartedAt"]
    ready_before = len(stack.messages(worker, WORKER_READY))
    state = stack.inspect(livekit)
    restarts, pid = state["RestartCount"], state["State"]["Pid"]
    assert pid > 0, state["State"]  # never os.kill(0): that is this process group

    os.kill(pid, signal.SIGKILL)
    wait_until(
        lambda: stack.inspect(livekit)["RestartCount"] > restarts, 60, "Docker restarting livekit"
    )
    stack.wait_healthy("livekit")
    wait_until(
        lambda: len(stack.messages(worker, WORKER_READY)) > ready_before,
        90,
        "the worker registering again",
    )
    assert stack.inspect(worker)["State"]["StartedAt"] == worker_started, "worker restarted"
    after_crash = create_session_once_served("after-crash")["session_id"]
    # A room created just after the restart may be dispatched only by the watchdog (measured:
    # its third re-dispatch, 18 s later, once): LiveKit still routes some requests to the dead
    # node for a few seconds.
    wait_agent_joined(after_crash, within=60)
    end_session(after_crash)
    await _greeting_heard()


def test_two_workers_from_scale_both_serve_sessions(stack: ComposeStack) -> None:
    """`up -d --scale voice-agent-worker=2`: LiveKit sends each job to the least loaded worker,
    and sessions nobody joins keep their job, so a few sessions reach both."""
    stack.compose("up", "-d", "--wait", "--scale", "voice-agent-worker=2", timeout=300)
    workers = stack.container_ids("voice-agent-worker")
    assert len(workers) == 2

    def sessions_served_by(worker: str) -> set[str]:
        started = stack.log_records(worker)
        return {r["session_id"] for r in started if r.get("message") == JOB_STARTED}

    created = []
    for attempt in range(6):
        session_id = create_session(f"scale-{attempt}")["session_id"]
        wait_agent_joined(session_id, within=30)
        created.append(session_id)
        served = [sessions_served_by(w) & set(created) for w in workers]
        if all(served):
            break
    assert all(served), f"sessions per worker: {served}"
    for session_id in created:
        end_session(session_id)
    stack.compose("up", "-d", "--wait", "--scale", "voice-agent-worker=1", timeout=300)


def _host_docker_address() -> str:
    """An address of this host other than loopback, on Docker's default bridge (docker0): it
    stands in for the host's LAN address (the tests publish ports on loopback and on it only)."""
    inspected = subprocess.run(
        ["docker", "network", "inspect", "bridge"], capture_output=True, text=True, check=True
    )
    interface = json.loads(inspected.stdout)[0]["Options"]["com.docker.network.bridge.name"]
    shown = subprocess.run(
        ["ip", "-j", "-4", "addr", "show", "dev", interface],
        capture_output=True,
        text=True,
        check=True,
    )
    address = json.loads(shown.stdout)[0]["addr_info"][0]["local"]
    assert not ipaddress.ip_address(address).is_loopback
    return address


async def test_a_lan_address_set_as_livekit_node_ip_serves_clients_on_it(
    stack: ComposeStack,
) -> None:
    """LIVEKIT_NODE_IP (and LIVEKIT_PUBLIC_URL) set to a non-loopback address of the host: a
    client reaching the stack through that address gets media, and so does the worker."""
    address = _host_docker_address()
    lan = {
        **stack.env,
        "LIVEKIT_NODE_IP": address,
        "LIVEKIT_PUBLIC_URL": f"ws://{address}:7880",
        "TEST_PUBLISH_ADDRESS": address,
    }
    on_lan = ComposeStack(env=lan)
    on_lan.compose("up", "-d", "--wait", timeout=300)
    try:
        session = create_session("lan-check")
        assert session["livekit_url"] == f"ws://{address}:7880"
        await _greeting_heard()
    finally:
        stack.compose("up", "-d", "--wait", timeout=300)


async def test_stop_ends_within_the_grace_periods_with_no_kill(stack: ComposeStack) -> None:
    """With a session nobody joined (the README's curl) and a user in a conversation, `stop`
    ends every container by itself: the worker closes the unjoined room at once and ends the
    conversation after its drain, so livekit-server has nobody left to wait for."""
    unjoined = create_session("stop-unjoined")["session_id"]
    wait_agent_joined(unjoined, within=30)
    async with VoiceCaller.connect(API_URL, "stop-user", within=30) as caller:
        await caller.wait_for_greeting(within=60)
        started = time.monotonic()
        await asyncio.to_thread(stack.compose, "stop", timeout=120)
        elapsed = time.monotonic() - started
    states = stack.states()
    for service in SERVICES:
        (row,) = states[service]
        assert row["State"] == "exited", row
        assert row["ExitCode"] != SIGKILLED, f"{service} was killed: {row}"
    # The worker's grace period (40 s) bounds the whole stop: its drain is 25 s.
    assert elapsed < 40, f"stop took {elapsed:.1f} s"
    stack.compose("up", "-d", "--wait", timeout=300)
    assert get_session(unjoined)["status"] == "ended"


def test_down_and_up_keep_redis_data(stack: ComposeStack) -> None:
    before = get_session(create_session("down-up")["session_id"])
    stack.down(log_to=LOGS)
    stack.compose("up", "-d", "--wait", timeout=300)
    after = get_session(before["session_id"])
    assert (after["user_id"], after["created_at"]) == ("down-up", before["created_at"])
