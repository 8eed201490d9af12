"""Playwright helpers for the browser tests: Debian's Chromium (never a downloaded browser) with
a fake microphone that plays a WAV file, and pages that record their console errors.

The tests are async on purpose: the ScriptedLLM fixture serves from the test session's event
loop, which only runs while a test awaits.

Waiting without a user gesture: every Playwright `evaluate`, `wait_for_function` and locator
wait runs in the page with `userGesture: true`, which gives the page the user activation that
unlocks audio playback. `evaluate_without_gesture` runs an expression through the DevTools
protocol with `userGesture: false` instead, for the autoplay test.
"""

from __future__ import annotations

import json
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.infra import missing
from harness.paths import INSTALL_HINTS, REPO, find_binary

try:
    from playwright.async_api import async_playwright, expect
except ImportError:  # reported by require_playwright() when a test launches a browser
    async_playwright = expect = None  # type: ignore[assignment]

CHROMIUM = "chromium"
CHROMIUM_HINT = INSTALL_HINTS.get(CHROMIUM, "install it: apt-get install chromium")
PLAYWRIGHT_HINT = "install it: uv sync (the `playwright` package of the dev dependency group)"
ARTIFACTS = REPO / "test-artifacts"

# The flags that work on these machines (DESIGN.md, "Browser"). Playwright adds --headless and
# a fresh temporary --user-data-dir itself.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> str:
    path = find_binary(CHROMIUM)
    if path is None:
        missing(f"{CHROMIUM} not found; {CHROMIUM_HINT}")
    assert path is not None
    return path


def require_playwright() -> None:
    if async_playwright is None:
        missing(f"the Python package playwright is missing; {PLAYWRIGHT_HINT}")


def write_silence(path: Path, seconds: float = 2.0, sample_rate: int = 48000) -> Path:
    """A silent mono WAV: a fake microphone that never speaks (the default one beeps)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(b"\0\0" * round(seconds * sample_rate))
    return path


def with_leading_silence(path: Path, seconds: float) -> Path:
    """Prepend `seconds` of silence to a 16-bit WAV, in place: a person clicks, then speaks,
    and the microphone (with its pre-connect buffer) needs a moment to start recording."""
    with wave.open(str(path), "rb") as wav:
        params, frames = wav.getparams(), wav.readframes(wav.getnframes())
    with wave.open(str(path), "wb") as wav:
        wav.setparams(params)
        wav.writeframes(
            b"\0" * params.sampwidth * params.nchannels * round(seconds * params.framerate)
        )
        wav.writeframes(frames)
    return path


def microphone_flags(wav: Path, *, allow: bool = True) -> list[str]:
    """A fake microphone playing `wav` in a loop; `allow=False` leaves the permission to be asked
    (and, headless, refused)."""
    flags = ["--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}"]
    return (["--use-fake-ui-for-media-stream"] if allow else []) + flags


@dataclass
class BrowserPage:
    """A page and the console errors and uncaught exceptions it produced."""

    page: Any
    errors: list[str] = field(default_factory=list)

    async def evaluate_without_gesture(self, expression: str) -> Any:
        """Evaluate `expression` (awaiting a promise) with no user gesture; returns its value."""
        cdp = await self.page.context.new_cdp_session(self.page)
        try:
            result = await cdp.send(
                "Runtime.evaluate",
                {
                    "expression": expression,
                    "awaitPromise": True,
                    "returnByValue": True,
                    "userGesture": False,
                },
            )
        finally:
            await cdp.detach()
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise AssertionError(details.get("exception", {}).get("description", details))
        return result["result"].get("value")

    async def wait_without_gesture(self, condition: str, timeout_s: float) -> None:
        """Wait until the JavaScript expression `condition` is true, checking it inside the page
        whenever the DOM changes (a MutationObserver), not by polling from Playwright, so that
        no user gesture is given."""
        expression = """new Promise((resolve, reject) => {
            const holds = () => Boolean(CONDITION);
            if (holds()) { resolve(true); return; }
            const observer = new MutationObserver(() => {
                if (holds()) { observer.disconnect(); clearTimeout(timer); resolve(true); }
            });
            observer.observe(document.body, { subtree: true, childList: true, attributes: true });
            const timer = setTimeout(() => {
                observer.disconnect();
                reject(new Error(DESCRIPTION + " not true within TIMEOUT ms"));
            }, TIMEOUT);
        })"""
        expression = (
            expression.replace("CONDITION", condition)
            .replace("DESCRIPTION", json.dumps(condition))
            .replace("TIMEOUT", str(int(timeout_s * 1000)))
        )
        await self.evaluate_without_gesture(expression)


LaunchPage = Callable[..., Awaitable[BrowserPage]]


async def route_session_api(
    page: Any,
    api_url: str,
    edit: Callable[[dict], None] | None = None,
    pattern: str = "**/api/voice/session**",
) -> None:
    """Send the page's session API calls (those matching `pattern`) to the session API at
    `api_url` (another instance with its own settings) instead of the one behind the web server;
    `edit` may change the JSON body of a successful answer to the POST on its way to the page."""

    async def forward(route: Any) -> None:
        url = urlsplit(route.request.url)
        response = await route.fetch(
            url=api_url + url.path + (f"?{url.query}" if url.query else "")
        )
        if edit is None or route.request.method != "POST" or not response.ok:
            await route.fulfill(response=response)
            return
        body = await response.json()
        edit(body)
        await route.fulfill(response=response, json=body)

    await page.route(pattern, forward)


@asynccontextmanager
async def browser_launcher() -> AsyncIterator[LaunchPage]:
    """Yields `launch(flags)`: each call starts a fresh Chromium with `flags` (on top of
    CHROMIUM_FLAGS) and opens a desktop-sized page in it. Everything launched is closed at the
    end. Each test module wraps it in its `launch_page` fixture."""
    require_playwright()
    executable = require_chromium()
    async with async_playwright() as driver:
        browsers: list[Any] = []

        async def launch(flags: list[str]) -> BrowserPage:
            browser = await driver.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_FLAGS + flags
            )
            browsers.append(browser)
            context = await browser.new_context(viewport={"width": 1100, "height": 900})
            page = await context.new_page()
            recorded = BrowserPage(page)

            def on_console(message: Any) -> None:
                if message.type == "error":
                    recorded.errors.append(f"console: {message.text} ({message.location})")

            page.on("console", on_console)
            page.on("pageerror", lambda error: recorded.errors.append(f"uncaught: {error}"))
            return recorded

        try:
            yield launch
        finally:
            for browser in browsers:
                await browser.close()


def artifact(name: str) -> Path:
    """A path under test-artifacts/ (gitignored) for screenshots and logs worth looking at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
