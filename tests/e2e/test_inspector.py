"""The session inspector (/inspector) in real headless Chromium, behind the real nginx and
session API: the list and its filters, a session's timeline against its Redis record, a live
session updating as entries arrive, what the page says without the operator token, and a real
conversation with the worker followed from the inspector as it happens.

Except in the last test, sessions are written into Redis as session-api and the worker write
them (`harness.session_records`), so each test controls states and times exactly."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from harness.browser import (
    BrowserPage,
    LaunchPage,
    artifact,
    expect,
    microphone_flags,
    route_session_api,
)
from harness.session_api import INSPECTOR_TOKEN
from harness.session_records import append_entries, seed_session
from harness.voice_page import AGENT_JOIN_S, AGENT_REPLY_S, AGENT_STATE, QUESTION
from voice_common import redis_keys as keys
from voice_common.transcript import AgentTurn, LatencyStages, ToolCall, UserTurn

# The page polls a live session every 2 s (POLL_MS in frontend/src/inspector/page.ts).
LIVE_UPDATE_MS = 10_000


@pytest.fixture
async def redis(redis_server) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


async def open_inspector(
    launch_page: LaunchPage, web_server: str, token: str | None, fragment: str = ""
) -> BrowserPage:
    """The inspector page, with `token` already entered in this tab (as the token form keeps
    it) unless None."""
    browser = await launch_page([])
    if token is not None:
        await browser.page.add_init_script(
            f"window.sessionStorage.setItem('inspector-token', {json.dumps(token)})"
        )
    await browser.page.goto(f"{web_server}/inspector{fragment}")
    return browser


def conversation(at: datetime) -> list[UserTurn | AgentTurn | ToolCall]:
    return [
        UserTurn(
            text="What is the status of Apollo?",
            latency=LatencyStages(end_of_turn_delay=0.61, stt_delay=0.42),
            at=at,
        ),
        ToolCall(
            name="get_project_status",
            arguments={"project_name": "Apollo"},
            output='{"project": "Apollo", "status": "on track"}',
            is_error=False,
            at=at + timedelta(seconds=1),
        ),
        AgentTurn(
            text="Apollo is on track.",
            latency=LatencyStages(
                end_of_turn_delay=0.61,
                stt_delay=0.42,
                llm_ttft=0.35,
                tts_ttfb=0.18,
                voice_to_voice=1.42,
            ),  # fmt: skip
            at=at + timedelta(seconds=2),
        ),
    ]


async def test_the_list_is_newest_first_and_filters_by_user_status_and_date(
    launch_page: LaunchPage, web_server: str, redis: Redis
) -> None:
    user = f"inspect-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    ended = await seed_session(
        redis, user, now - timedelta(minutes=3), status="ended", end_reason="user_left"
    )
    active = await seed_session(redis, user, now - timedelta(minutes=2), status="active")
    created = await seed_session(redis, user, now - timedelta(minutes=1))
    browser = await open_inspector(launch_page, web_server, INSPECTOR_TOKEN)
    page = browser.page
    rows = page.locator("#sessions tr")

    await page.get_by_label("User").fill(user)
    await page.get_by_role("button", name="Apply").click()
    await expect(rows).to_have_count(3)
    assert [await row.get_attribute("data-session-id") for row in await rows.all()] == [
        created, active, ended
    ]  # fmt: skip
    await expect(rows.nth(2)).to_contain_text("user_left")
    await page.screenshot(path=artifact("inspector-list.png"), full_page=True)

    await page.get_by_label("Status").select_option("ended")
    await page.get_by_role("button", name="Apply").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-session-id", ended)

    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%d")
    await page.get_by_label("Status").select_option("")
    await page.get_by_label("From").fill(tomorrow)
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#sessions-empty")).to_be_visible()
    await expect(rows).to_have_count(0)
    assert browser.errors == []


async def test_the_timeline_shows_the_redis_record(
    launch_page: LaunchPage, web_server: str, redis: Redis
) -> None:
    at = datetime.now(UTC) - timedelta(minutes=5)
    usage = {"user_turns": 1, "agent_turns": 1, "tool_calls": 1, "mean_llm_ttft": 0.35}
    sid = await seed_session(
        redis, f"timeline-{uuid.uuid4().hex[:8]}", at, status="ended",
        end_reason="user_left", usage=json.dumps(usage),
    )  # fmt: skip
    await append_entries(redis, sid, *conversation(at))
    stored = [json.loads(line) for line in await redis.lrange(keys.transcript(sid), 0, -1)]

    browser = await open_inspector(launch_page, web_server, INSPECTOR_TOKEN, f"#session={sid}")
    page = browser.page
    detail = page.locator("#detail")
    await expect(detail).to_have_attribute("data-session-id", sid)
    await expect(page.locator('#detail-facts dd[data-fact="end reason"]')).to_have_text("user_left")
    entries = page.locator("#timeline > li")
    await expect(entries).to_have_count(len(stored))
    for index, entry in enumerate(stored):
        item = entries.nth(index)
        await expect(item).to_have_attribute("data-entry-type", entry["type"])
        if entry["type"] == "tool":
            shown = json.loads(await item.locator(".tool-arguments").inner_text())
            assert shown == entry["arguments"]
            await expect(item.locator(".tool-output")).to_have_text(entry["output"])
        else:
            await expect(item.locator(".entry-text")).to_have_text(entry["text"])
        if entry["type"] == "agent":
            bars = item.locator(".stage")
            drawn = {
                await bar.get_attribute("data-stage"): float(
                    await bar.get_attribute("data-seconds")
                )
                for bar in await bars.all()
            }
            for stage in ("end_of_turn_delay", "stt_delay", "llm_ttft", "tts_ttfb"):
                assert drawn[stage] == pytest.approx(entry["latency"][stage])
            rest = entry["latency"]["voice_to_voice"] - sum(
                entry["latency"][s] for s in ("end_of_turn_delay", "llm_ttft", "tts_ttfb")
            )
            assert drawn["rest"] == pytest.approx(rest)
            await expect(item.locator("figcaption")).to_have_text("Voice to voice 1.42 s")
    await expect(page.locator('#usage dd[data-fact="user_turns"]')).to_have_text("1")
    await expect(page.locator('#usage dd[data-fact="mean_llm_ttft"]')).to_have_text("0.35 s")
    await expect(page.locator("#detail-live")).to_be_hidden()

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download JSON").click()
    download = await download_info.value
    assert download.suggested_filename == f"session-{sid}.json"
    downloaded = json.loads((await download.path()).read_text())
    assert downloaded["transcript"] == stored
    assert downloaded["usage"] == usage
    await page.screenshot(path=artifact("inspector-timeline.png"), full_page=True)
    assert browser.errors == []


async def test_a_live_session_updates_while_it_runs(
    launch_page: LaunchPage, web_server: str, redis: Redis
) -> None:
    at = datetime.now(UTC)
    user_turn, tool_call, agent_turn = conversation(at)
    sid = await seed_session(redis, f"live-{uuid.uuid4().hex[:8]}", at, status="active")
    await append_entries(redis, sid, user_turn)

    browser = await open_inspector(launch_page, web_server, INSPECTOR_TOKEN, f"#session={sid}")
    page = browser.page
    entries = page.locator("#timeline > li")
    await expect(entries).to_have_count(1)
    await expect(page.locator("#detail-live")).to_be_visible()

    await append_entries(redis, sid, tool_call, agent_turn)
    await expect(entries).to_have_count(3, timeout=LIVE_UPDATE_MS)
    await expect(entries.nth(2).locator(".entry-text")).to_have_text("Apollo is on track.")

    await redis.hset(keys.session(sid), mapping={"status": "ended", "end_reason": "user_left"})
    await expect(page.locator("#detail")).to_have_attribute(
        "data-status", "ended", timeout=LIVE_UPDATE_MS
    )
    await expect(page.locator("#detail-live")).to_be_hidden()
    assert browser.errors == []


async def test_without_the_token_the_page_asks_for_it(
    launch_page: LaunchPage, web_server: str
) -> None:
    browser = await open_inspector(launch_page, web_server, token=None)
    page = browser.page
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Operator token needed")
    await expect(page.locator("#access")).to_have_attribute("data-code", "unauthorized")
    await expect(page.locator("#list")).to_be_hidden()

    await page.get_by_label("Operator token").fill("not-the-token")
    await page.get_by_role("button", name="Open").click()
    await expect(alert).to_contain_text("Operator token needed")

    await page.get_by_label("Operator token").fill(INSPECTOR_TOKEN)
    await page.get_by_role("button", name="Open").click()
    await expect(page.locator("#list")).to_be_visible()
    await expect(alert).to_be_hidden()


async def test_with_no_token_configured_the_page_says_how_to_enable_it(
    launch_page: LaunchPage, web_server: str, start_api: Any
) -> None:
    api = start_api(INSPECTOR_TOKEN="")
    browser = await launch_page([])
    page = browser.page
    await page.add_init_script(
        f"window.sessionStorage.setItem('inspector-token', {json.dumps(INSPECTOR_TOKEN)})"
    )
    await route_session_api(page, api.url, pattern="**/api/inspector/**")
    async with page.expect_response("**/api/inspector/sessions?**") as answer:
        await page.goto(f"{web_server}/inspector")
    assert (await answer.value).status == 401
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("The inspector is off")
    await expect(alert).to_contain_text("Set INSPECTOR_TOKEN")
    await expect(page.locator("#token-form")).to_be_hidden()
    await page.screenshot(path=artifact("inspector-off.png"))


async def test_a_real_conversation_shows_as_it_happens(
    launch_page: LaunchPage, web_server: str, voice_worker, silence_wav: Path, redis: Redis
) -> None:
    """The voice page holds a conversation with the real worker while the inspector, in another
    tab, shows its turns, the tool call and the latency the worker recorded, then its end."""
    browser = await launch_page(microphone_flags(silence_wav))
    voice = browser.page
    await voice.goto(web_server)
    async with voice.expect_response("**/api/voice/session") as created:
        await voice.get_by_role("button", name="Enable Voice").click()
    sid = (await (await created.value).json())["session_id"]
    await expect(voice.locator(AGENT_STATE)).to_have_attribute(
        "data-state", "listening", timeout=AGENT_JOIN_S * 1000
    )

    inspector = await voice.context.new_page()
    await inspector.add_init_script(
        f"window.sessionStorage.setItem('inspector-token', {json.dumps(INSPECTOR_TOKEN)})"
    )
    await inspector.goto(f"{web_server}/inspector#session={sid}")
    await expect(inspector.locator("#detail-live")).to_be_visible()

    await voice.get_by_label("Type a message").fill(QUESTION)
    await voice.get_by_role("button", name="Send").click()
    timeline = inspector.locator("#timeline > li")
    await expect(timeline.filter(has_text=QUESTION)).to_have_count(1, timeout=AGENT_REPLY_S * 1000)
    await expect(
        inspector.locator('#timeline li[data-entry-type="tool"]').filter(
            has_text="get_project_status"
        )
    ).to_have_count(1, timeout=AGENT_REPLY_S * 1000)
    answer = inspector.locator('#timeline li[data-entry-type="agent"]').filter(has_text="Apollo is")
    await expect(answer).to_have_count(1, timeout=AGENT_REPLY_S * 1000)
    await expect(answer.locator('.stage[data-stage="llm_ttft"]')).to_have_count(1)

    # What the inspector shows is what the worker wrote to Redis, entry for entry.
    stored = [json.loads(line) for line in await redis.lrange(keys.transcript(sid), 0, -1)]
    shown = await timeline.evaluate_all("items => items.map(i => i.dataset.entryType)")
    assert shown == [entry["type"] for entry in stored[: len(shown)]]
    await inspector.screenshot(path=artifact("inspector-live-conversation.png"), full_page=True)

    await voice.get_by_role("button", name="End session").click()
    await expect(inspector.locator("#detail")).to_have_attribute(
        "data-status", "ended", timeout=LIVE_UPDATE_MS
    )
    await expect(inspector.locator('#detail-facts dd[data-fact="end reason"]')).to_have_text(
        "ended_by_client"
    )
    await expect(inspector.locator("#detail-live")).to_be_hidden()
    row = inspector.locator(f'#sessions tr[data-session-id="{sid}"]')
    await expect(row).to_have_attribute("data-status", "ended")
    await expect(row).to_contain_text("ended_by_client")
