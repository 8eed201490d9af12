"""Fixtures of the browser tests: Chromium launched per test, a silent fake microphone."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from harness.browser import LaunchPage, browser_launcher, write_silence


@pytest.fixture(scope="module")
def silence_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake microphone that hears nothing."""
    return write_silence(tmp_path_factory.mktemp("speech") / "silence.wav")


@pytest.fixture
async def launch_page() -> AsyncIterator[LaunchPage]:
    """Launch Chromium pages (with flags); all closed after the test."""
    async with browser_launcher() as launch:
        yield launch
