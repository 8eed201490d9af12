"""The web client's failures in real headless Chromium, each against real servers: what the
page says, that it offers a way forward, and that it leaves no session behind."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from harness.browser import (
    LaunchPage,
    artifact,
    expect,
    microphone_flags,
    route_session_api,
)
from harness.processes import free_port
from harness.voice_page import AGENT_JOIN_S, MICROPHONE_BLOCKED, MICROPHONE_HOW_TO

# For sessions that must not start an agent job: a dispatch no worker serves. (A session deleted
# right after it was created would otherwise still get its agent, alone in a room LiveKit
# creates again, holding a worker slot until the room's empty timeout.)
NO_WORKER = {"AGENTS": json.dumps({"pm-agent": {"agent_name": "no-worker-serves-this"}})}


@asynccontextmanager
async def created_then_deleted(page: Any) -> AsyncIterator[tuple[Any, Any]]:
    """Waits, on leaving, for the answers to the page's POST of a session and its DELETE."""
    async with (
        page.expect_response("**/api/voice/session") as created,
        page.expect_response(
            lambda response: response.request.method == "DELETE", timeout=30_000
        ) as deleted,
    ):
        yield created, deleted


async def assert_the_page_ended_its_session(api_url: str, created: Any, deleted: Any) -> None:
    """The page's DELETE was for the session it created, and the session is ended on the
    server: the page leaves nothing behind."""
    session_id = (await (await created.value).json())["session_id"]
    hang_up = await deleted.value
    assert hang_up.url.endswith(f"/api/voice/session/{session_id}")
    assert hang_up.status == 200
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        state = (await client.get(f"/api/voice/session/{session_id}")).json()
    assert (state["status"], state["end_reason"]) == ("ended", "ended_by_client")
    assert state["ended_at"] is not None


async def test_a_refused_microphone_says_how_to_allow_it_and_typing_still_works(
    launch_page: LaunchPage, web_server: str, voice_worker, silence_wav: Path
) -> None:
    # Without --use-fake-ui-for-media-stream, headless Chromium refuses the permission itself.
    browser = await launch_page(microphone_flags(silence_wav, allow=False))
    page = browser.page
    await page.goto(web_server)
    await page.get_by_role("button", name="Enable Voice").click()

    problem = page.get_by_role("alert")
    await expect(problem).to_contain_text(MICROPHONE_BLOCKED)
    await expect(problem).to_contain_text(MICROPHONE_HOW_TO)
    await expect(page.get_by_role("button", name="Try microphone again")).to_be_visible()
    await page.screenshot(path=artifact("web-client-microphone-blocked.png"))
    # The session goes on without the microphone: typed messages get answers.
    await expect(page.locator("#agent-state")).to_have_attribute(
        "data-state", "listening", timeout=AGENT_JOIN_S * 1000
    )
    await page.get_by_label("Type a message").fill("What is the status of Apollo?")
    await page.get_by_role("button", name="Send").click()
    await expect(
        page.locator('#transcript li[data-speaker="agent"]').filter(has_text="Apollo is").first
    ).to_be_visible(timeout=60_000)
    await page.get_by_role("button", name="End session").click()
    await expect(page.get_by_role("button", name="Enable Voice")).to_be_visible()


async def test_an_unreachable_livekit_server_is_named_and_the_session_is_ended(
    launch_page: LaunchPage, web_server: str, start_api, silence_wav: Path
) -> None:
    api = start_api(**NO_WORKER)
    closed = f"ws://127.0.0.1:{free_port()}"
    browser = await launch_page(microphone_flags(silence_wav))
    page = browser.page
    await route_session_api(page, api.url, edit=lambda body: body.update(livekit_url=closed))
    await page.goto(web_server)

    async with created_then_deleted(page) as session:
        await page.get_by_role("button", name="Enable Voice").click()
    problem = page.get_by_role("alert")
    await expect(problem).to_contain_text("Cannot connect to the voice server")
    await expect(problem).to_contain_text(closed)
    await expect(page.get_by_role("button", name="Try again")).to_be_visible()
    await expect(page.get_by_role("button", name="Enable Voice")).to_be_enabled()
    # The page never reached LiveKit, yet its hang-up ended the session on the server.
    await assert_the_page_ended_its_session(api.url, *session)


async def test_an_agent_that_never_joins_times_out_with_a_message(
    launch_page: LaunchPage, web_server: str, start_api, silence_wav: Path
) -> None:
    """A real session whose dispatch names an agent no worker serves; ?agentTimeout=3."""
    api = start_api(**NO_WORKER)
    browser = await launch_page(microphone_flags(silence_wav))
    page = browser.page
    await route_session_api(page, api.url)
    await page.goto(f"{web_server}/?agentTimeout=3")

    async with created_then_deleted(page) as session:
        await page.get_by_role("button", name="Enable Voice").click()
    problem = page.get_by_role("alert")
    await expect(problem).to_contain_text("The assistant did not join")
    await expect(problem).to_contain_text("within 3 seconds")
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=artifact("web-client-agent-timeout-phone.png"))
    await expect(page.locator("#agent-state")).to_have_attribute("data-state", "off")
    await assert_the_page_ended_its_session(api.url, *session)


async def test_a_session_closed_on_the_server_ends_the_call_with_a_message(
    launch_page: LaunchPage, web_server: str, start_api, silence_wav: Path
) -> None:
    """The room is deleted under the page (DELETE from elsewhere): LiveKit disconnects it. No
    worker serves this API's agent, so only the page's own disconnect is seen."""
    api = start_api(**NO_WORKER)
    browser = await launch_page(microphone_flags(silence_wav))
    page = browser.page
    await route_session_api(page, api.url)
    await page.goto(f"{web_server}/?agentTimeout=120")

    async with page.expect_response("**/api/voice/session") as created:
        await page.get_by_role("button", name="Enable Voice").click()
    session_id = (await (await created.value).json())["session_id"]
    await expect(page.get_by_role("button", name="End session")).to_be_visible()
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        assert (await client.delete(f"/api/voice/session/{session_id}")).status_code == 200

    problem = page.get_by_role("alert")
    await expect(problem).to_contain_text("The call ended")
    await expect(problem).to_contain_text("The session was closed on the server.")
    await expect(page.get_by_role("button", name="Start a new session")).to_be_visible()
    await expect(page.get_by_role("button", name="Enable Voice")).to_be_visible()


async def test_a_503_names_the_dependency_that_is_down(
    launch_page: LaunchPage, web_server: str, start_api, silence_wav: Path
) -> None:
    api = start_api(LIVEKIT_URL=f"http://127.0.0.1:{free_port()}")
    browser = await launch_page(microphone_flags(silence_wav))
    page = browser.page
    await route_session_api(page, api.url)
    await page.goto(web_server)

    await page.get_by_role("button", name="Enable Voice").click()
    problem = page.get_by_role("alert")
    await expect(problem).to_contain_text("The voice service is unavailable (LiveKit)")
    await expect(problem).to_contain_text("LiveKit is unavailable")
    await expect(page.get_by_role("button", name="Try again")).to_be_enabled()


async def test_a_rate_limit_says_how_long_to_wait(
    launch_page: LaunchPage, web_server: str, start_api, silence_wav: Path
) -> None:
    api = start_api(RATE_LIMIT_PER_USER_PER_MINUTE="1", **NO_WORKER)
    user_id = "web-rate-limited-browser"
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        first = await client.post("/api/voice/session", json={"user_id": user_id})
        assert first.status_code == 201, first.text
        await client.delete(f"/api/voice/session/{first.json()['session_id']}")
    browser = await launch_page(microphone_flags(silence_wav))
    page = browser.page
    await page.add_init_script(f"localStorage.setItem('voice-agent.user-id', '{user_id}')")
    await route_session_api(page, api.url)
    await page.goto(web_server)

    await page.get_by_role("button", name="Enable Voice").click()
    problem = page.get_by_role("alert")
    await expect(problem).to_contain_text("Too many sessions started")
    await expect(problem).to_contain_text(re.compile(r"Wait \d+ seconds, then try again"))
    # Retrying before the wait is over is pointless: both buttons wait too.
    await expect(page.get_by_role("button", name="Try again")).to_be_disabled()
    await expect(page.get_by_role("button", name="Enable Voice")).to_be_disabled()


async def test_an_unreachable_session_api_says_so(
    launch_page: LaunchPage, web_server: str, silence_wav: Path
) -> None:
    browser = await launch_page(microphone_flags(silence_wav))
    page = browser.page
    await page.route("**/api/voice/session", lambda route: route.abort("connectionrefused"))
    await page.goto(web_server)

    await page.get_by_role("button", name="Enable Voice").click()
    await expect(page.get_by_role("alert")).to_contain_text("Cannot reach the voice service")


async def test_a_page_that_is_not_secure_explains_https_or_localhost(
    launch_page: LaunchPage, web_server: str, silence_wav: Path
) -> None:
    """An http:// origin other than localhost is not a secure context: no microphone at all.
    The host name is mapped to the loopback web server by Chromium's resolver."""
    browser = await launch_page(
        microphone_flags(silence_wav) + ["--host-resolver-rules=MAP voice.example 127.0.0.1"]
    )
    page = browser.page
    await page.goto(web_server.replace("localhost", "voice.example"))

    await page.get_by_role("button", name="Enable Voice").click()
    problem = page.get_by_role("alert")
    await expect(problem).to_contain_text("Voice needs a secure page")
    await expect(problem).to_contain_text("https")
