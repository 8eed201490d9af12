"""What the browser tests of the voice page look for, in whichever browser drives it (Chromium
through Playwright, Firefox through WebDriver): the question spoken, where the page shows
things, and how long the stack may take."""

from __future__ import annotations

import re

QUESTION = "What is the status of Apollo?"
TYPED_QUESTION = "What is the status of Mercury?"
# An RMS level above this is sound, not silence (speech is around 0.05 to 0.3).
HEARD = re.compile(r"^(?!0\.00)\d+\.\d+$")  # >= 0.01, as the page writes it (4 decimals)
# Bounds for waits on the stack: a job starts (models load), Whisper and Piper run on CPU.
AGENT_REPLY_S = 90
AGENT_JOIN_S = 45
# What the page says when the microphone is refused.
MICROPHONE_BLOCKED = "Microphone access is blocked"
MICROPHONE_HOW_TO = "Allow the microphone"

AGENT_STATE = "#agent-state"
AGENT_METER = "#agent-meter"
USER_METER = "#user-meter"
CHAT_INPUT = "#chat-input"


def transcript_lines(speaker: str) -> str:
    """The CSS selector of the transcript's lines of `speaker` (user, agent or tool)."""
    return f'#transcript li[data-speaker="{speaker}"]'


# What Firefox reports when livekit-server closes the room (the page's DELETE) while the page is
# still closing its own connection (docs/web-client.md, Browsers): teardown, after End session.
TEARDOWN_ERRORS = (
    "was interrupted while the page was loading",
    "error reading from signal stream",
    "Cannot close a stream that has errored",
)


def teardown_only(errors: list[str]) -> list[str]:
    """The errors that are not the room's teardown (see TEARDOWN_ERRORS)."""
    return [e for e in errors if not any(known in e for known in TEARDOWN_ERRORS)]
