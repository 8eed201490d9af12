"""`TroubleNotifier`: when a provider fails for good, the agent says so instead of going silent.

A provider error is "unrecoverable" once its retries (and any fallback provider) are used up.
The agent then tells the user in a sentence, at most once per interval, and the session goes on;
LiveKit closes it only after several such errors in a row.
"""

import logging
import time

from livekit.agents import AgentSession
from livekit.agents.voice.events import ErrorEvent

log = logging.getLogger(__name__)

MESSAGES = {
    "llm_error": "Sorry, I'm having trouble thinking right now. Please try again in a moment.",
    "stt_error": "Sorry, I'm having trouble hearing you right now. Please try again in a moment.",
}
MIN_INTERVAL_SECONDS = 10.0


class TroubleNotifier:
    """Says a sentence when a provider fails for good (logged with the job's session fields)."""

    def __init__(self, session: AgentSession) -> None:
        self._session = session
        self._last_said = float("-inf")
        session.on("error", self._on_error)

    def _on_error(self, event: ErrorEvent) -> None:
        kind = getattr(event.error, "type", "")
        if getattr(event.error, "recoverable", True):
            return
        log.warning("provider failed", extra={"kind": kind})
        message = MESSAGES.get(kind)  # a TTS failure cannot be announced by voice
        now = time.monotonic()
        if message is None or now - self._last_said < MIN_INTERVAL_SECONDS:
            return
        self._last_said = now
        self._session.say(message, allow_interruptions=True)
