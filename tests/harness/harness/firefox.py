"""Firefox (Debian's firefox-esr) driven through WebDriver: geckodriver, built from its crate
by `make setup`, and Selenium. The microphone and speaker are a private PulseAudio server
(`harness.pulse_audio`): Firefox has no option to capture from a file.

Selenium blocks; the browser tests are async (the ScriptedLLM serves from the test's event
loop), so every call runs in a thread (`asyncio.to_thread`) and waits never block the loop.
Waits are WebDriver's explicit waits on a JavaScript condition in the page."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.infra import missing, require_binary
from harness.pulse_audio import PulseAudio

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.firefox.options import Options
    from selenium.webdriver.firefox.service import Service
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:  # reported by require_selenium() when a test launches Firefox
    webdriver = None  # type: ignore[assignment]

FIREFOX = "firefox-esr"
GECKODRIVER = "geckodriver"
SELENIUM_HINT = "install it: uv sync (the `selenium` package of the dev dependency group)"

# Preferences that make headless Firefox usable by a test: getUserMedia answers without a
# permission prompt (none can be clicked headless) and records the default PulseAudio source,
# not Firefox's fake stream (a generated tone, no speech); no first-run checks, updates or
# telemetry. WebRTC needs nothing: Firefox reaches livekit-server on loopback as it is (measured
# with and without media.peerconnection.ice.loopback).
BASE_PREFERENCES: dict[str, str | int | bool] = {
    "media.navigator.permission.disabled": True,
    "media.navigator.streams.fake": False,
    "browser.shell.checkDefaultBrowser": False,
    "app.update.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
}
# The microphone refused, as a user who clicks "Block" (getUserMedia: NotAllowedError).
MICROPHONE_BLOCKED: dict[str, str | int | bool] = {
    "media.navigator.permission.disabled": False,
    "permissions.default.microphone": 2,
}


def require_selenium() -> None:
    if webdriver is None:
        missing(f"the Python package selenium is missing; {SELENIUM_HINT}")


@dataclass
class FirefoxPage:
    """One Firefox window, with async calls of what the tests do in it."""

    driver: Any
    errors: list[str] = field(default_factory=list)

    async def _run(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(call, *args)

    async def goto(self, url: str) -> None:
        await self._run(self.driver.get, url)

    async def evaluate(self, expression: str) -> Any:
        return await self._run(self.driver.execute_script, f"return ({expression});")

    async def wait_for(self, condition: str, timeout_s: float, what: str = "") -> None:
        """Wait until the JavaScript expression `condition` is true in the page."""

        def wait() -> None:
            WebDriverWait(self.driver, timeout_s, poll_frequency=0.2).until(
                lambda driver: driver.execute_script(f"return Boolean({condition});"),
                message=f"{what or condition} not true within {timeout_s} s",
            )

        await self._run(wait)

    async def wait_for_text(self, selector: str, text: str, timeout_s: float) -> None:
        """Wait until an element matching `selector` contains `text` (case-insensitive)."""
        condition = (
            f"[...document.querySelectorAll({json.dumps(selector)})].some(e => "
            f"e.textContent.toLowerCase().includes({json.dumps(text.lower())}))"
        )
        try:
            await self.wait_for(condition, timeout_s, f"{selector} containing {text!r}")
        except TimeoutException:
            shown = await self.evaluate(
                "[...document.querySelectorAll('#transcript li, [role=alert]')]"
                ".map(e => e.dataset.speaker + ': ' + e.textContent.trim())"
            )
            raise AssertionError(
                f"no {selector} containing {text!r} within {timeout_s} s; the page shows {shown}"
            ) from None

    async def click(self, selector: str) -> None:
        await self._run(lambda: self.driver.find_element(By.CSS_SELECTOR, selector).click())

    async def type(self, selector: str, text: str, *, enter: bool = False) -> None:
        keys = text + (Keys.ENTER if enter else "")
        await self._run(lambda: self.driver.find_element(By.CSS_SELECTOR, selector).send_keys(keys))

    async def attribute(self, selector: str, name: str) -> str | None:
        return await self.evaluate(
            f"document.querySelector({json.dumps(selector)})?.getAttribute({json.dumps(name)})"
        )

    async def screenshot(self, path: Path) -> None:
        await self._run(self.driver.save_screenshot, str(path))


LaunchFirefox = Callable[..., Awaitable[FirefoxPage]]


@asynccontextmanager
async def firefox_launcher(pulse: PulseAudio, log_dir: Path) -> AsyncIterator[LaunchFirefox]:
    """Yields `launch(microphone=True)`: each call starts a fresh headless Firefox (its own
    profile) whose audio goes through `pulse`; `microphone=False` refuses the microphone.
    Everything launched is quit at the end."""
    require_selenium()
    firefox = require_binary(FIREFOX)
    geckodriver = require_binary(GECKODRIVER)
    drivers: list[Any] = []
    await asyncio.to_thread(log_dir.mkdir, parents=True, exist_ok=True)

    async def launch(*, microphone: bool = True) -> FirefoxPage:
        options = Options()
        options.binary_location = firefox
        options.add_argument("-headless")
        preferences = {**BASE_PREFERENCES, **({} if microphone else MICROPHONE_BLOCKED)}
        for name, value in preferences.items():
            options.set_preference(name, value)
        options.enable_bidi = True  # console messages and uncaught errors, as in Chromium
        service = Service(
            geckodriver,
            env={**os.environ, **pulse.env, "MOZ_HEADLESS": "1"},
            log_output=str(log_dir / f"geckodriver-{len(drivers)}.log"),
        )
        driver = await asyncio.to_thread(
            lambda: webdriver.Firefox(options=options, service=service)
        )
        drivers.append(driver)
        driver.set_window_size(1100, 900)
        page = FirefoxPage(driver)

        def on_console(entry: Any) -> None:
            if getattr(entry, "level", "") == "error":
                page.errors.append(f"console: {entry.text}")

        def on_error(entry: Any) -> None:
            page.errors.append(f"uncaught: {entry.text}")

        await asyncio.to_thread(driver.script.add_console_message_handler, on_console)
        await asyncio.to_thread(driver.script.add_javascript_error_handler, on_error)
        return page

    try:
        yield launch
    finally:
        for driver in drivers:
            await asyncio.to_thread(driver.quit)
