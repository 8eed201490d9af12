"""The voice page in Firefox (Debian's firefox-esr, headless, through geckodriver and Selenium)
against the whole stack, as the Chromium tests drive it: "Enable Voice", a spoken question and
the agent's spoken answer, a typed message, and a refused microphone.

The microphone is a private PulseAudio server: the test speaks the question into it once the
agent listens (Firefox cannot capture from a file as Chromium does)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from harness.browser import artifact, with_leading_silence
from harness.firefox import FirefoxPage, LaunchFirefox, firefox_launcher
from harness.infra import require_binary
from harness.pulse_audio import PulseAudio, start_pulse_audio
from harness.speech_samples import synthesize_wav
from harness.voice_page import (
    AGENT_JOIN_S,
    AGENT_METER,
    AGENT_REPLY_S,
    AGENT_STATE,
    CHAT_INPUT,
    HEARD,
    MICROPHONE_BLOCKED,
    MICROPHONE_HOW_TO,
    QUESTION,
    TYPED_QUESTION,
    USER_METER,
    teardown_only,
    transcript_lines,
)


@pytest.fixture(scope="module")
def pulse(run_dir: Path) -> Iterator[PulseAudio]:
    require_binary("pulseaudio")
    require_binary("paplay")
    server = start_pulse_audio(run_dir / "logs")
    yield server
    server.stop()


@pytest.fixture
async def launch_firefox(pulse: PulseAudio, run_dir: Path) -> AsyncIterator[LaunchFirefox]:
    async with firefox_launcher(pulse, run_dir / "logs" / "firefox") as launch:
        yield launch


@pytest.fixture(scope="module")
def spoken_question(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A breath of silence, the question as speech, then a second of silence: the pause that
    ends the user's turn."""
    path = synthesize_wav(QUESTION, tmp_path_factory.mktemp("speech") / "question.wav")
    return with_leading_silence(path, 1.0)


async def wait_listening(page: FirefoxPage) -> None:
    await page.wait_for(
        f"document.querySelector('{AGENT_STATE}').dataset.state === 'listening'",
        AGENT_JOIN_S,
        "the agent listening",
    )


async def wait_heard(page: FirefoxPage, meter: str) -> None:
    """Wait until the level meter has measured sound (see HEARD)."""
    await page.wait_for(
        f"Number(document.querySelector('{meter}').dataset.maxLevel) >= 0.01",
        15,
        f"{meter} hearing sound",
    )
    assert HEARD.match(await page.attribute(meter, "data-max-level") or "")


async def end_session(page: FirefoxPage) -> None:
    await page.click("#end")
    await page.wait_for("!document.getElementById('enable').hidden", 30, "Enable Voice again")


async def test_a_spoken_question_gets_a_spoken_answer(
    launch_firefox: LaunchFirefox,
    web_server: str,
    voice_worker,
    session_api,
    pulse: PulseAudio,
    spoken_question: Path,
) -> None:
    page = await launch_firefox()
    await page.goto(web_server)
    assert await page.evaluate("document.title") == "Voice Agent"
    await page.click("#enable")
    # Speak once the agent has greeted and listens again, as a person would (measured: a
    # question spoken over the greeting is lost).
    await page.wait_for(
        f"document.querySelector('{AGENT_STATE}').dataset.history.endsWith('speaking listening')",
        AGENT_REPLY_S,
        "the greeting spoken",
    )
    await pulse.speak(spoken_question)
    await page.wait_for_text(transcript_lines("user"), "apollo", AGENT_REPLY_S)
    await page.wait_for_text(transcript_lines("agent"), "Apollo is", AGENT_REPLY_S)
    await page.wait_for_text(transcript_lines("tool"), "Looked up the status of Apollo", 15)
    await wait_heard(page, AGENT_METER)
    await wait_heard(page, USER_METER)
    await page.screenshot(artifact("firefox-conversation.png"))
    assert page.errors == []  # none while the conversation ran

    await end_session(page)
    assert await page.attribute(AGENT_STATE, "data-state") == "off"
    # The page's session (its user's newest) was ended by the page itself.
    user_id = await page.evaluate("window.localStorage.getItem('voice-agent.user-id')")
    async with httpx.AsyncClient(base_url=session_api.url, timeout=10) as client:
        listed = (await client.get("/api/voice/sessions", params={"user_id": user_id})).json()
        newest = listed["sessions"][0]["session_id"]
        state = (await client.get(f"/api/voice/session/{newest}")).json()
    assert (state["status"], state["end_reason"]) == ("ended", "ended_by_client")
    assert teardown_only(page.errors) == []


async def test_a_typed_message_gets_an_answer(
    launch_firefox: LaunchFirefox, web_server: str, voice_worker
) -> None:
    page = await launch_firefox()
    await page.goto(web_server)
    await page.click("#enable")
    await wait_listening(page)
    await page.type(CHAT_INPUT, TYPED_QUESTION, enter=True)
    await page.wait_for_text(transcript_lines("user"), TYPED_QUESTION, 15)
    await page.wait_for_text(transcript_lines("agent"), "Mercury is", AGENT_REPLY_S)
    await page.wait_for_text(transcript_lines("tool"), "Looked up the status of Mercury", 15)
    await end_session(page)
    assert page.errors == []


async def test_a_refused_microphone_says_how_to_allow_it_and_typing_still_works(
    launch_firefox: LaunchFirefox, web_server: str, voice_worker
) -> None:
    page = await launch_firefox(microphone=False)
    await page.goto(web_server)
    await page.click("#enable")
    await page.wait_for_text("[role=alert]", MICROPHONE_BLOCKED, AGENT_JOIN_S)
    await page.wait_for_text("[role=alert]", MICROPHONE_HOW_TO, 5)
    await page.screenshot(artifact("firefox-microphone-blocked.png"))
    await wait_listening(page)
    await page.type(CHAT_INPUT, QUESTION, enter=True)
    await page.wait_for_text(transcript_lines("agent"), "Apollo is", AGENT_REPLY_S)
    await end_session(page)
