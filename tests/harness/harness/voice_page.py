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
