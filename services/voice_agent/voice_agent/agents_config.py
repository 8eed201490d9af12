"""`AgentBuilder`: the agents file's agents, built for one session.

Each agent gets its instructions (filled in for the session, with the user's earlier turns), the
tools the file gives it from one catalogue (`ProjectTools` and `end_call`), one handoff tool per
agent it may hand over to (`handoffs`), and its own TTS when the file gives it a voice or a
language other than the session's. Agents are built when they take over, with the chat context
of the agent before them.
"""

from collections.abc import Callable
from datetime import date

from livekit.agents import NOT_GIVEN, NotGivenOr
from livekit.agents import llm as lk_llm
from livekit.agents import tts as lk_tts

from voice_common.agents_file import AgentKind, AgentsFile, AgentSpec, ToolName
from voice_common.projects import ProjectStore

from .agent import ConversationAgent, compose_instructions
from .call_endings import end_call
from .docs_search import DocsIndex
from .handoffs import intake_tool, transfer_tool
from .project_tools import ProjectTools
from .providers import session_tts
from .session_data import SessionData
from .settings import TTSProvider, WorkerSettings
from .task_intake import TaskIntake

# (voice, language) -> the TTS an agent with its own voice or language speaks with
TTSFactory = Callable[[str | None, str], lk_tts.TTS]

# Where each TTS provider takes its voice from
_VOICE_FIELD = {
    TTSProvider.openai: "openai_tts_voice",
    TTSProvider.sarvam: "sarvam_tts_speaker",
    TTSProvider.piper: "piper_voice",
}


def settings_tts(settings: WorkerSettings) -> TTSFactory:
    """The configured TTS with another voice (the primary provider's voice setting) and
    language; built only for agents that need one."""

    def build(voice: str | None, language: str) -> lk_tts.TTS:
        field = _VOICE_FIELD[settings.chosen_providers()[2]]
        changed = settings.model_copy(update={field: voice}) if voice else settings
        return session_tts(changed, language)

    return build


class AgentBuilder:
    def __init__(
        self,
        *,
        agents: AgentsFile,
        projects: ProjectStore,
        docs: DocsIndex,
        data: SessionData,
        today: date,
        memory: list[str],
        filler_delay: float,
        tts: TTSFactory | None = None,
    ) -> None:
        self._agents = agents
        self._projects = projects
        self._data = data
        self._today = today
        self._memory = memory
        self._tts = tts
        self._tools: dict[str, lk_llm.Tool] = {
            **ProjectTools(projects=projects, docs=docs, filler_delay=filler_delay).by_name(),
            ToolName.end_call: end_call,
        }
        if missing := set(ToolName) - set(self._tools):  # the catalogue and its names agree
            raise RuntimeError(f"tools named in ToolName but not built: {sorted(missing)}")

    def start(self, agent_id: str | None) -> ConversationAgent:
        """The agent a session starts with: the one `agent_id` names, else the file's first."""
        spec = self._agents.get(agent_id) if agent_id else None
        if spec is None or not spec.startable:
            spec = self._agents.first
        return self.conversation(spec, None)

    def conversation(
        self, spec: AgentSpec, chat_ctx: lk_llm.ChatContext | None
    ) -> ConversationAgent:
        return ConversationAgent(
            spec=spec,
            instructions=self._instructions(spec),
            tools=[self._tools[name] for name in spec.tools] + self._handoff_tools(spec),
            chat_ctx=chat_ctx,
            tts=self._agent_tts(spec),
        )

    def intake(self, spec: AgentSpec, chat_ctx: lk_llm.ChatContext) -> TaskIntake:
        return TaskIntake(
            spec=spec,
            instructions=self._instructions(spec),
            projects=self._projects,
            chat_ctx=chat_ctx,
            today=self._today,
        )

    def _language(self, spec: AgentSpec) -> str:
        return spec.language or self._data.language

    def _instructions(self, spec: AgentSpec) -> str:
        return compose_instructions(
            spec.instructions, self._language(spec), self._today, self._memory
        )

    def _handoff_tools(self, spec: AgentSpec) -> list[lk_llm.Tool]:
        tools: list[lk_llm.Tool] = []
        for target_id in spec.handoffs:
            target = self._agents.get(target_id)
            assert target is not None  # AgentsFile checks every handoff names an agent
            if target.kind is AgentKind.task_intake:
                tools.append(intake_tool(target, self.intake, self._projects))
            else:
                tools.append(transfer_tool(target, self.conversation))
        return tools

    def _agent_tts(self, spec: AgentSpec) -> NotGivenOr[lk_tts.TTS]:
        own_language = spec.language not in (None, self._data.language)
        if self._tts is None or (spec.voice is None and not own_language):
            return NOT_GIVEN  # the session's
        return self._tts(spec.voice, self._language(spec))
