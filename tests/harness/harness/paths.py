"""Where things are: the repository, the tools cache `make setup` fills, and how to install each
binary the stack needs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# tests/harness/harness/paths.py -> the repository root
REPO = Path(__file__).resolve().parents[3]
TOOLS_BIN = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voice-stack" / "bin"
LIVEKIT_VERSION = "1.13.5"
GECKODRIVER_VERSION = "0.37.1"

INSTALL_HINTS = {
    "redis-server": "install it: apt-get install redis-server (or run `make setup`)",
    "livekit-server": (
        f"install it: `make setup`, or CGO_ENABLED=0 go install "
        f"github.com/livekit/livekit-server/cmd/server@v{LIVEKIT_VERSION} and rename the binary"
    ),
    "nginx": "install it: apt-get install nginx-light (or run `make setup`)",
    "chromium": "install it: apt-get install chromium (or run `make setup`)",
    "firefox-esr": "install it: apt-get install firefox-esr (or run `make setup`)",
    "geckodriver": (
        f"install it: `make setup`, or cargo install geckodriver --version {GECKODRIVER_VERSION} "
        "--locked --root ~/.cache/voice-stack"
    ),
    "pulseaudio": "install it: apt-get install pulseaudio pulseaudio-utils (or run `make setup`)",
    "paplay": "install it: apt-get install pulseaudio-utils (or run `make setup`)",
    "node": "install Node.js 22.22 or later, then `make setup` (npm ci in frontend/)",
    "libportaudio2": "install it: apt-get install libportaudio2 (or run `make setup`)",
}


def find_binary(name: str) -> str | None:
    """The path of `name` on PATH or in the tools cache `make setup` fills, else None."""
    return shutil.which(name) or shutil.which(name, path=str(TOOLS_BIN))
