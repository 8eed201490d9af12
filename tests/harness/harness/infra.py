"""What a test does when infrastructure is missing: in CI (`CI=true`) it fails; elsewhere it is
skipped with the command that installs what is missing."""

from __future__ import annotations

import ctypes.util
import os

import pytest

from harness.paths import INSTALL_HINTS, find_binary

IN_CI = os.environ.get("CI") == "true"


def missing(message: str) -> None:
    """Fail in CI, skip (saying `message`) elsewhere."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_binary(name: str) -> str:
    """The binary's path; a missing one fails in CI and skips, saying what to install, elsewhere."""
    path = find_binary(name)
    if path is None:
        missing(f"{name} not found; {INSTALL_HINTS[name]}")
        raise AssertionError("unreachable")  # pytest.fail / pytest.skip raise
    return path


def require_portaudio() -> None:
    """PortAudio, which the worker's console mode loads even for typing (found the way the
    sounddevice package finds it); missing, it fails in CI and skips elsewhere."""
    if ctypes.util.find_library("portaudio") is None:
        missing(f"the PortAudio library not found; {INSTALL_HINTS['libportaudio2']}")
