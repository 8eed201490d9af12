"""`TroubleNotifier`: when a provider fails for good, the agent says so instead of going silent.

A provider error is "unrecoverable" once its retries (and any fallback provider) are used up.
The agent then tells the user in a sentence and the session goes on; LiveKit closes it only
after several such errors in a row. An LLM failure leaves the user's turn unanswered, so each
one is apologised for; an STT failure can repeat while the user talks, so "trouble hearing" is
said at most once per interval.
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
MIN_INTERVAL_SECONDS = 10.0  # between two "trouble hearing" sentences


class TroubleNotifier:
    """Says a sentence when a provider fails for good (logged with the job's session fields)."""

    def __init__(self, session: AgentSession) -> None:
        self._session = session
        self._last_said_hearing = float("-inf")
        session.on("error", self._on_error)

    def _on_error(self, event: ErrorEvent) -> None:
        kind = getattr(event.error, "type", "")
        if getattr(event.error, "recoverable", True):
            return
        cause = getattr(event.error, "error", None)
        # The one record of the failure, with its traceback (`QuietLLMFailures.llm_node` keeps
        # LiveKit from logging an LLM's again); console mode shows it as one line (`console`).
        log.error(
            "provider failed",
            extra={"kind": kind, "error": str(cause)},
            exc_info=cause if isinstance(cause, BaseException) else None,
        )
        message = MESSAGES.get(kind)  # a TTS failure cannot be announced by voice
        if message is None:
            return
        if kind == "stt_error":
            now = time.monotonic()
            if now - self._last_said_hearing < MIN_INTERVAL_SECONDS:
                return
            self._last_said_hearing = now
        self._session.say(message, allow_interruptions=True)
