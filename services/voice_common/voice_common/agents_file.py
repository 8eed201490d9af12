"""The agents file: which agents the worker can run, and how each one talks and hands over.

A JSON file (`AGENTS_FILE`; the one shipped is `voice_common/data/agents.json`) lists the
agents: an id, the instructions, a greeting, optionally a voice and a language, the tools the
agent may use and the agents it may hand the conversation to. Both services read it at start:
session-api offers its agents as the `agent_id`s a session may start with, the worker builds
them (`voice_agent.agents_config`). A file that does not hold together (an unknown tool, a
handoff to an agent that is not listed, two agents with one id) stops the service at start with
one message that says where.

Two kinds of agent: a `conversation` agent talks until it hands over; a `task_intake` agent is
a structured sub-dialogue (LiveKit's `AgentTask`) that collects a task, confirms it and returns
to the agent that called it, which creates the task only if the user said yes.
"""

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

SHIPPED_AGENTS_FILE = Path(__file__).parent / "data" / "agents.json"
# The worker participant's attribute naming the agent in charge (its display name).
ACTIVE_AGENT_ATTRIBUTE = "voice.active_agent"


class ToolName(StrEnum):
    """The tools an agent may be given (the worker's `project_tools` and `call_endings`)."""

    list_projects = "list_projects"
    get_project_status = "get_project_status"
    list_tasks = "list_tasks"
    create_task = "create_task"
    search_documentation = "search_documentation"
    end_call = "end_call"


class AgentKind(StrEnum):
    conversation = "conversation"
    task_intake = "task_intake"


class PreparedGreeting(BaseModel):
    """An agent's opening sentences in one language, said without asking the LLM."""

    model_config = ConfigDict(extra="forbid")

    first: str = Field(min_length=1, description="To a user the agent has not spoken with")
    returning: str = Field(min_length=1, description="To a user it has spoken with before")


class AgentSpec(BaseModel):
    """One agent of the file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="Unique id, e.g. pm-agent")
    kind: AgentKind = Field(AgentKind.conversation, description="conversation or task_intake")
    display_name: str = Field(description="Shown to users: the web client's active agent")
    description: str = Field(
        description="What the agent is for: other agents' handoff tools tell their LLM this"
    )
    instructions: str = Field(
        description="The system prompt; `{language}` and `{today}` are filled in"
    )
    greeting: str | None = Field(
        None, description="What the LLM is told to say when the agent takes over; none: silent"
    )
    prepared_greetings: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")],
                             PreparedGreeting] = Field(
        default_factory=dict,
        description="Fixed opening sentences by language (`en`, `hi`...), said when a session "
        "starts with this agent in that language, from audio recorded once per voice: no LLM "
        "round trip (PREPARED_GREETING); other languages get `greeting`",
    )  # fmt: skip
    voice: str | None = Field(
        None, description="TTS voice of this agent (the provider's voice name); none: the session's"
    )
    language: str | None = Field(
        None, description="BCP 47 tag this agent speaks; none: the session's language"
    )
    tools: list[ToolName] = Field(default_factory=list, description="Tools the agent may call")
    handoffs: list[str] = Field(
        default_factory=list, description="Ids of the agents it may hand the conversation to"
    )
    startable: bool = Field(
        True, description="Whether a session may start with it (an `agent_id` of session-api)"
    )


class AgentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    worker_agent_name: str = Field(
        "pm-agent",
        description="The name the worker registers with (its AGENT_NAME): session-api "
        "dispatches the file's agents to it",
    )
    agents: list[AgentSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [agent.id for agent in self.agents]
        if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"agent ids must be unique: {', '.join(duplicates)} repeated")
        for agent in self.agents:
            unknown = [target for target in agent.handoffs if target not in ids]
            if unknown:
                raise ValueError(
                    f"agent '{agent.id}' hands off to {', '.join(unknown)}, which the file does "
                    f"not list (agents: {', '.join(ids)})"
                )
            if agent.id in agent.handoffs:
                raise ValueError(f"agent '{agent.id}' hands off to itself")
            if agent.kind is AgentKind.task_intake and (
                agent.startable or agent.handoffs or agent.tools
            ):
                raise ValueError(
                    f"agent '{agent.id}' is a task_intake: it returns to its caller with its "
                    "own tools, so it cannot be startable, hand off or list tools"
                )
        if not any(agent.startable for agent in self.agents):
            raise ValueError("no agent is startable: a session could not begin")
        return self

    def get(self, agent_id: str) -> AgentSpec | None:
        return next((agent for agent in self.agents if agent.id == agent_id), None)

    @property
    def first(self) -> AgentSpec:
        """The first startable agent: the one a session starts with when its agent_id names
        none of the file's (a routing entry of `AGENTS` that only names a worker)."""
        return next(agent for agent in self.agents if agent.startable)


class AgentsFileError(ValueError):
    """The agents file is missing, is not JSON, or does not hold together."""


def load_agents_file(path: Path | None) -> AgentsFile:
    """The agents in `path` (None: the shipped file), validated; `AgentsFileError` says what is
    wrong and where."""
    path = path or SHIPPED_AGENTS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AgentsFileError(f"agents file {path}: cannot be read ({exc.strerror})") from None
    try:
        return AgentsFile.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise AgentsFileError(
            f"agents file {path}: not JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors()
        )
        raise AgentsFileError(f"agents file {path}: {problems}") from None
