"""`SessionData`: the AgentSession's userdata, what the agents and their tools know about the
session they serve."""

from collections.abc import Callable
from dataclasses import dataclass

from .context_budget import ContextBudget


@dataclass
class SessionData:
    """Who the session serves, and how its agent may end it."""

    session_id: str
    user_id: str
    language: str
    agent_id: str | None = None  # the agent the session starts with (`AgentBuilder.start`)
    # How the job ends the call for a reason (`JobEnd.end`, which records it); None: the
    # session just shuts down (`call_endings.end_after`).
    end_call: Callable[[str], None] | None = None
    # What every LLM request of the session is fitted into (`QuietLLMFailures.llm_node`);
    # None: the whole history is sent.
    context_budget: ContextBudget | None = None
    # Whether the agents' replies start at their first sound (`audio_trim.TrimmedSpeech`).
    trim_leading_silence: bool = True
