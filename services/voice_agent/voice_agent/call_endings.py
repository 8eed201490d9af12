"""Calls that end well: the agent ends the call when the user says goodbye (the `end_call`
tool), and a silent user is asked whether they are still there, then told goodbye
(`AwayWatch`, on LiveKit's user-away state).

Both end the same way (`end_after`): the closing sentence is spoken to its end, then the call
ends with its reason (`EndReason.agent_ended`, `EndReason.user_away`), which the session record
keeps as its `end_reason`. The agent's sentences are ordinary agent turns of the transcript.
"""

import logging

from livekit.agents import AgentSession, RunContext, function_tool
from livekit.agents.llm import ChatMessage
from livekit.agents.voice import SpeechHandle
from livekit.agents.voice.events import ConversationItemAddedEvent, UserStateChangedEvent

from voice_common.session_status import EndReason

from .session_data import SessionData

log = logging.getLogger("voice_agent")

CLOSING = "Now say one short, friendly closing sentence to the user, and nothing else."
STILL_THERE = (
    "The user has said nothing for a while. Ask them, in one short sentence, whether they are "
    "still there."
)
AWAY_GOODBYE = (
    "The user is still silent. Say, in one short sentence, that you are ending the call and "
    "that they can call again any time."
)


def end_after(speech: SpeechHandle, session: AgentSession[SessionData], reason: str) -> None:
    """End the call for `reason` once `speech` (the closing sentence) has been spoken: through
    the job (`SessionData.end_call`, which records the reason), or by closing the session."""

    def _spoken(_: SpeechHandle) -> None:
        log.info("agent ends the call", extra={"reason": reason})
        end = session.userdata.end_call
        if end is None:
            session.shutdown()
        else:
            end(reason)

    speech.add_done_callback(_spoken)


@function_tool(name="end_call")
async def end_call(context: RunContext[SessionData]) -> str:
    """End the call. Use it when the user says goodbye or that they need nothing else; never
    when they only pause or ask for something else."""
    # The closing sentence is this tool's reply, part of the same speech: the call ends after it.
    end_after(context.speech_handle, context.session, EndReason.agent_ended)
    return CLOSING


class AwayWatch:
    """Asks a silent user whether they are still there, and ends the call when they stay silent.

    LiveKit marks the user "away" after the session's `user_away_timeout` of silence on both
    sides. The first time the agent asks; once that question is spoken the away countdown
    starts again (`reset_away_timer`); away a second time without having spoken (or typed) in
    between, the agent says goodbye and the call ends as `user_away`.
    """

    def __init__(self, session: AgentSession[SessionData]) -> None:
        self._session = session
        self._asked = False
        session.on("user_state_changed", self._on_user_state)
        session.on("conversation_item_added", self._on_item)

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        if (
            isinstance(event.item, ChatMessage) and event.item.role == "user"
        ):  # typed input never makes the user "speaking"
            self._asked = False

    def _on_user_state(self, event: UserStateChangedEvent) -> None:
        if event.new_state == "speaking":
            self._asked = False
        elif event.new_state == "away":
            if self._asked:
                goodbye = self._session.generate_reply(instructions=AWAY_GOODBYE)
                end_after(goodbye, self._session, EndReason.user_away)
                return
            self._asked = True
            question = self._session.generate_reply(instructions=STILL_THERE)
            question.add_done_callback(lambda _: self._session.reset_away_timer())
