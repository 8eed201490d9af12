"""Handoffs between the file's agents, the way LiveKit Agents does them.

- `transfer_tool`: a tool that returns another `Agent`; LiveKit then hands the session to it
  (its `on_enter` greets). The new agent starts with the current agent's chat context, its
  instructions left out (the new agent brings its own), so it knows what was said.
- `intake_tool`: a tool that awaits a `TaskIntake` (an `AgentTask`): the sub-dialogue runs,
  control returns to the calling agent with a typed `IntakeResult`, and the task is created
  here, only when the user confirmed it.
- `ActiveAgentAttribute`: the agent in charge, as an attribute of the worker's participant,
  which the web client shows.
"""

import asyncio
from collections.abc import Callable

from livekit import rtc
from livekit.agents import Agent, AgentSession, RunContext, ToolError, function_tool
from livekit.agents import llm as lk_llm
from livekit.agents.llm import AgentHandoff, FunctionTool
from livekit.agents.voice.events import ConversationItemAddedEvent

from voice_common.agents_file import ACTIVE_AGENT_ATTRIBUTE, AgentsFile, AgentSpec
from voice_common.projects import ProjectError, ProjectStore

from .project_tools import task_line
from .session_data import SessionData
from .task_intake import IntakeResult, TaskIntake


def tool_name(prefix: str, agent_id: str) -> str:
    return f"{prefix}_{agent_id.replace('-', '_')}"


def carried_context(context: RunContext[SessionData]) -> lk_llm.ChatContext:
    """What the next agent is told of the conversation: everything but the instructions."""
    return context.session.current_agent.chat_ctx.copy(exclude_instructions=True)


def transfer_tool(
    target: AgentSpec, build: Callable[[AgentSpec, lk_llm.ChatContext], Agent]
) -> FunctionTool:
    async def transfer(context: RunContext[SessionData]) -> Agent:
        # The agent alone, no output: the handing agent says nothing more, the new one greets.
        return build(target, carried_context(context))

    return function_tool(
        transfer,
        name=tool_name("transfer_to", target.id),
        description=f"Hand the conversation to the {target.display_name}: {target.description}",
    )


def intake_tool(
    target: AgentSpec,
    build: Callable[[AgentSpec, lk_llm.ChatContext], TaskIntake],
    projects: ProjectStore,
) -> FunctionTool:
    async def start(context: RunContext[SessionData]) -> str:
        result: IntakeResult = await build(target, carried_context(context))
        if not result.confirmed:
            return "The user did not confirm the task, so nothing was created."
        draft = result.draft
        assert draft.project_name and draft.title  # confirm_task only takes a complete draft
        try:
            task = await projects.create_task(
                draft.project_name,
                draft.title,
                assignee=draft.assignee,
                due_date=draft.due_date,
                created_by=context.userdata.user_id,
            )
        except ProjectError as exc:
            raise ToolError(str(exc)) from None
        return f"Created task {task_line(task)} in {draft.project_name}."

    return function_tool(
        start,
        name=tool_name("start", target.id),
        description=f"Start the {target.display_name}: {target.description} Use it when the user "
        "wants a new task but has not given all of its details.",
    )


class ActiveAgentAttribute:
    """Keeps the worker participant's `ACTIVE_AGENT_ATTRIBUTE` at the display name of the
    agent in charge (LiveKit adds an `AgentHandoff` item at every change, the first too)."""

    def __init__(self, session: AgentSession, room: rtc.Room, agents: AgentsFile) -> None:
        self._room = room
        self._agents = agents
        self._updates: set[asyncio.Task[None]] = set()
        session.on("conversation_item_added", self._on_item)

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        if not isinstance(event.item, AgentHandoff) or not self._room.isconnected():
            return
        spec = self._agents.get(event.item.new_agent_id)
        name = spec.display_name if spec else event.item.new_agent_id
        update = asyncio.create_task(
            self._room.local_participant.set_attributes({ACTIVE_AGENT_ATTRIBUTE: name})
        )
        self._updates.add(update)
        update.add_done_callback(self._updates.discard)
