"""`ConversationAgent`: one conversation agent of the agents file, with its instructions,
greeting and tools (`agents_config` builds it).

The agent's instructions are the file's, filled in with what the session knows (the language,
today's date) and followed by the end of the user's earlier conversations, so the whole prompt
is assembled here (`compose_instructions`).
"""

from collections.abc import AsyncIterable, Sequence
from datetime import date

from livekit import rtc
from livekit.agents import NOT_GIVEN, Agent, APIError, ModelSettings, NotGivenOr
from livekit.agents import llm as lk_llm
from livekit.agents import tts as lk_tts
from livekit.agents.types import FlushSentinel

from voice_common.agents_file import AgentSpec

from .audio_trim import TrimmedSpeech
from .context_budget import ContextBudget
from .greeting import Greeting
from .session_data import SessionData

__all__ = ["ConversationAgent", "QuietLLMFailures", "SessionData", "compose_instructions"]

LANGUAGE_NAMES = {
    "en": "English", "hi": "Hindi", "bn": "Bengali", "ta": "Tamil", "te": "Telugu",
    "kn": "Kannada", "ml": "Malayalam", "mr": "Marathi", "gu": "Gujarati", "pa": "Punjabi",
    "od": "Odia", "es": "Spanish", "fr": "French", "de": "German",
}  # fmt: skip

MEMORY_INSTRUCTIONS = (
    "\n\nYou have spoken with this user before. The end of your earlier conversations, "
    "oldest first (use it when the user refers back; do not recite it):\n"
)


def language_name(language: str) -> str:
    return LANGUAGE_NAMES.get(language.split("-")[0].lower(), language)


def compose_instructions(template: str, language: str, today: date, memory: list[str]) -> str:
    """The system prompt: the agent's instructions in the user's language, as of `today`, with
    the lines of the user's earlier sessions (`memory.previous_turns`) when there are any."""
    text = template.replace("{language}", language_name(language))
    text = text.replace("{today}", today.isoformat())
    if memory:
        text += MEMORY_INSTRUCTIONS + "\n".join(memory)
    return text


class QuietLLMFailures(TrimmedSpeech):
    """The LLM node of every agent of the session: the request fitted into the session's
    context budget (`context_budget`), and LLM failures reported once; its replies start at
    their first sound (`TrimmedSpeech`)."""

    async def llm_node(
        self, chat_ctx: lk_llm.ChatContext, tools: list[lk_llm.Tool], model_settings: ModelSettings
    ) -> AsyncIterable[lk_llm.ChatChunk | str | FlushSentinel]:
        """The LLM's answer; no answer when the LLM failed for good.

        By then the failure is reported: the LLM emitted the session's error event before
        raising, so `TroubleNotifier` has logged it and apologised. Raised on, the same error
        would be logged again with its traceback and mark the turn failed, which ends LiveKit's
        console text mode (`python -m voice_agent console --text`)."""
        budget = getattr(self.session.userdata, "context_budget", None)
        if isinstance(budget, ContextBudget):
            llm = self.session.llm
            chat_ctx = budget.fit(chat_ctx, llm if isinstance(llm, lk_llm.LLM) else None)
        try:
            async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
                yield chunk
        except APIError:
            return


class ConversationAgent(QuietLLMFailures):
    """An agent of the file that talks until it hands over (a `conversation` agent)."""

    def __init__(
        self,
        *,
        spec: AgentSpec,
        instructions: str,
        tools: Sequence[lk_llm.Tool | lk_llm.Toolset],
        chat_ctx: lk_llm.ChatContext | None = None,
        tts: NotGivenOr[lk_tts.TTS] = NOT_GIVEN,
    ) -> None:
        super().__init__(
            id=spec.id, instructions=instructions, tools=list(tools), chat_ctx=chat_ctx, tts=tts
        )
        self.spec = spec

    # The session's first greeting when it is prepared (`greeting.py`): said without the LLM.
    greeting: Greeting | None = None

    async def on_enter(self) -> None:
        if self.greeting is not None:
            await self.greeting.play(self.session)
        elif self.spec.greeting:
            self.session.generate_reply(instructions=self.spec.greeting)

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterable[rtc.AudioFrame]:
        """Speech as `TrimmedSpeech` makes it; the greeting's also recorded when it is not
        stored yet (`Greeting.record`)."""
        frames = await super().tts_node(text, model_settings)
        if self.greeting is not None and self.greeting.recording:
            return self.greeting.record(frames)
        return frames
