"""Fixtures of the browser tests: a silent microphone file and a Chromium launcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from browser import LaunchPage, browser_launcher, write_silence


@pytest.fixture(scope="module")
def silence_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_silence(tmp_path_factory.mktemp("speech") / "silence.wav")


@pytest.fixture
async def launch_page() -> AsyncIterator[LaunchPage]:
    async with browser_launcher() as launch:
        yield launch
