"""The web client in real headless Chromium against the whole stack (nginx serving the built
page, session-api, livekit-server, the worker with Whisper, Piper and the ScriptedLLM): a
spoken question gets a spoken answer, a typed one gets an answer, and audio the browser blocks
can be started with one click."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from harness.browser import (
    BrowserPage,
    LaunchPage,
    artifact,
    expect,
    microphone_flags,
    with_leading_silence,
)
from harness.speech_samples import synthesize_wav
from harness.voice_page import (
    AGENT_JOIN_S,
    AGENT_METER,
    AGENT_REPLY_S,
    HEARD,
    QUESTION,
    TYPED_QUESTION,
    USER_METER,
    transcript_lines,
)


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake microphone's file: a short pause, the question, then a long pause so that the
    agent can answer before the file loops and the question comes again."""
    path = tmp_path_factory.mktemp("speech") / "question.wav"
    return with_leading_silence(synthesize_wav(QUESTION, path, silence_after=60.0), 1.5)


def lines(page: BrowserPage, speaker: str, text: str | re.Pattern[str]):
    return page.page.locator(transcript_lines(speaker)).filter(has_text=text)


async def session_end(api_url: str, session_id: str) -> tuple[str, str | None]:
    """The session's status and end reason, as the API records them."""
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        state = (await client.get(f"/api/voice/session/{session_id}")).json()
    return state["status"], state["end_reason"]


async def test_a_spoken_question_gets_a_spoken_answer(
    launch_page: LaunchPage, web_server: str, voice_worker, session_api, question_wav: Path
) -> None:
    browser = await launch_page(microphone_flags(question_wav))
    page = browser.page
    await page.goto(web_server)
    await expect(page).to_have_title("Voice Agent")

    async with page.expect_response("**/api/voice/session") as created:
        await page.get_by_role("button", name="Enable Voice").click()
    session_id = (await (await created.value).json())["session_id"]

    # The user's words, the tool the agent used, and its spoken reply, in the transcript.
    await expect(lines(browser, "user", re.compile("apollo", re.I)).first).to_be_visible(
        timeout=AGENT_REPLY_S * 1000
    )
    reply = lines(browser, "agent", "Apollo is").first
    await expect(reply).to_be_visible(timeout=AGENT_REPLY_S * 1000)
    await expect(lines(browser, "tool", "Looked up the status of Apollo")).to_have_count(
        1, timeout=15_000
    )

    # The agent was heard (level measured on the received track) and so was the microphone.
    await expect(page.locator(AGENT_METER)).to_have_attribute(
        "data-max-level", HEARD, timeout=15_000
    )
    await expect(page.locator(USER_METER)).to_have_attribute("data-max-level", HEARD)
    await page.screenshot(path=artifact("web-client-conversation.png"))

    await expect(reply).to_have_attribute("data-final", "true", timeout=AGENT_REPLY_S * 1000)
    state = page.locator("#agent-state")
    await expect(state).to_have_attribute(
        "data-history", re.compile(r"^connecting .*listening .*thinking .*speaking")
    )
    await expect(page.get_by_text(re.compile(r"Response times · last \d+\.\d\d s"))).to_be_visible(
        timeout=15_000
    )
    await page.screenshot(path=artifact("web-client-final.png"))

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=artifact("web-client-phone.png"), full_page=True)

    # Every segment is one line: no segment id twice.
    ids = await page.locator("#transcript li").evaluate_all("items => items.map(i => i.dataset.id)")
    assert len(ids) == len(set(ids)), ids

    await page.get_by_role("button", name="End session").click()
    await expect(page.get_by_role("button", name="Enable Voice")).to_be_visible()
    await expect(state).to_have_attribute("data-state", "off")
    assert await session_end(session_api.url, session_id) == ("ended", "ended_by_client")
    assert browser.errors == []


async def test_a_typed_message_gets_an_answer_using_only_the_keyboard(
    launch_page: LaunchPage, web_server: str, voice_worker, silence_wav: Path
) -> None:
    browser = await launch_page(microphone_flags(silence_wav))
    page = browser.page
    await page.goto(web_server)

    await page.get_by_role("button", name="Enable Voice").focus()
    await page.keyboard.press("Enter")
    state = page.locator("#agent-state")
    await expect(state).to_have_attribute("data-state", "listening", timeout=AGENT_JOIN_S * 1000)
    # The agent in charge (the worker participant's attribute; handoffs change it).
    await expect(page.locator("#active-agent")).to_have_text("(Project assistant)")

    # Once connected, the focus is in the text box: type and press Enter.
    message = page.get_by_label("Type a message")
    await expect(message).to_be_focused()
    await page.keyboard.type(TYPED_QUESTION)
    await page.keyboard.press("Enter")
    await expect(message).to_have_value("")

    await expect(lines(browser, "user", TYPED_QUESTION)).to_have_count(1)
    await expect(lines(browser, "agent", "Mercury is").first).to_be_visible(
        timeout=AGENT_REPLY_S * 1000
    )
    await expect(lines(browser, "tool", "Looked up the status of Mercury")).to_have_count(
        1, timeout=15_000
    )

    # Mute and unmute from the keyboard too.
    await page.get_by_role("button", name="Mute").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Unmute")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Mute")).to_be_focused()
    await page.get_by_role("button", name="End session").click()
    await expect(page.get_by_role("button", name="Enable Voice")).to_be_visible()
    assert browser.errors == []


async def test_blocked_audio_shows_start_audio_until_clicked(
    launch_page: LaunchPage, web_server: str, voice_worker, silence_wav: Path
) -> None:
    """Autoplay: with no user activation the browser refuses to play the agent, and the page
    offers "Start audio"; one click on it plays the agent.

    Making playback really blocked takes two things. The session is started with a click
    dispatched through the DevTools protocol with userGesture false (the page never had a user
    activation), and the microphone is refused, because Chromium lets a page that is capturing
    the microphone autoplay (with the microphone on, the agent's audio plays without any gesture
    and the button only flickers while LiveKit's AudioContext is suspended). Until the click,
    the test waits inside the page instead of with Playwright locators, whose polling runs as a
    user gesture and would unlock playback by itself."""
    browser = await launch_page(
        microphone_flags(silence_wav, allow=False)
        + ["--autoplay-policy=document-user-activation-required"]
    )
    page = browser.page
    await page.goto(web_server)

    await browser.evaluate_without_gesture("document.getElementById('enable').click()")
    agent_audio = "document.querySelector('#audio-sink audio')"
    await browser.wait_without_gesture(
        f"{agent_audio} && !document.getElementById('start-audio').hidden",
        timeout_s=AGENT_JOIN_S,
    )
    # The agent's audio arrived, but its <audio> element could not play.
    assert await browser.evaluate_without_gesture(f"{agent_audio}.paused") is True

    start_audio = page.get_by_role("button", name="Start audio")
    await start_audio.click()
    await expect(start_audio).to_be_hidden()
    assert await page.locator("#audio-sink audio").evaluate("audio => audio.paused") is False
    await page.get_by_label("Type a message").fill("What is the status of Apollo?")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(AGENT_METER)).to_have_attribute(
        "data-max-level", HEARD, timeout=AGENT_REPLY_S * 1000
    )
    await page.get_by_role("button", name="End session").click()
    await expect(page.get_by_role("button", name="Enable Voice")).to_be_visible()
    assert browser.errors == []
