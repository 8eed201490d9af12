"""`ProjectAssistant`: the voice agent's instructions and its project-management tools.

The agent assembles its own instructions from what the session knows (the user's language,
today's date, the end of the user's earlier conversations), so the whole prompt is read here.

Tools answer with short plain sentences (they are read aloud after the LLM rephrases them) built
from real data: projects and tasks in Redis, and the documentation index. Bad input becomes a
`ToolError` whose message the LLM can relay; slow tools say a filler phrase instead of silence.
"""

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from livekit.agents import Agent, APIError, ModelSettings, RunContext, ToolError, function_tool
from livekit.agents import llm as lk_llm
from livekit.agents.types import FlushSentinel

from voice_common.projects import ProjectError, ProjectStore, Task

from .call_endings import end_call
from .docs_search import DocsIndex
from .session_data import SessionData

__all__ = ["ProjectAssistant", "SessionData"]

FILLER = "One moment, let me check that."
LANGUAGE_NAMES = {
    "en": "English", "hi": "Hindi", "bn": "Bengali", "ta": "Tamil", "te": "Telugu",
    "kn": "Kannada", "ml": "Malayalam", "mr": "Marathi", "gu": "Gujarati", "pa": "Punjabi",
    "od": "Odia", "es": "Spanish", "fr": "French", "de": "German",
}  # fmt: skip

INSTRUCTIONS = """You are a project-management assistant that people talk to by voice.
You help with projects and tasks: their status, creating tasks, listing work, and finding
answers in the team's documentation. Use the tools for every fact about projects, tasks or
documentation; never invent data. Keep answers short and conversational: one to three
sentences, no lists, no markdown, no emojis, because your words are spoken aloud. Say dates
naturally. When a tool reports a problem, explain it and ask for what is missing.
When the user says goodbye or needs nothing else, call end_call.
Speak {language}. Today is {today}."""
MEMORY_INSTRUCTIONS = (
    "\n\nYou have spoken with this user before. The end of your earlier conversations, "
    "oldest first (use it when the user refers back; do not recite it):\n"
)


def language_name(language: str) -> str:
    return LANGUAGE_NAMES.get(language.split("-")[0].lower(), language)


def _task_line(task: Task) -> str:
    parts = [f"{task.id} '{task.title}' ({task.status.replace('_', ' ')}"]
    if task.assignee:
        parts.append(f", assigned to {task.assignee}")
    if task.due_date:
        parts.append(f", due {task.due_date.isoformat()}")
    return "".join(parts) + ")"


class ProjectAssistant(Agent):
    def __init__(
        self,
        *,
        projects: ProjectStore,
        docs: DocsIndex,
        language: str,
        today: date,
        memory: list[str],
        filler_delay: float,
    ) -> None:
        super().__init__(
            instructions=self.compose_instructions(language, today, memory), tools=[end_call]
        )
        self._projects = projects
        self._docs = docs
        self._filler_delay = filler_delay

    @staticmethod
    def compose_instructions(language: str, today: date, memory: list[str]) -> str:
        """The system prompt: who the agent is, in the user's language, as of `today`, with the
        lines of the user's earlier sessions (`memory.previous_turns`) when there are any."""
        text = INSTRUCTIONS.format(language=language_name(language), today=today.isoformat())
        if memory:
            text += MEMORY_INSTRUCTIONS + "\n".join(memory)
        return text

    async def on_enter(self) -> None:
        self.session.generate_reply(
            instructions="Greet the user in one short sentence and offer help with their "
            "projects. If you have spoken before, say welcome back."
        )

    async def llm_node(
        self, chat_ctx: lk_llm.ChatContext, tools: list[lk_llm.Tool], model_settings: ModelSettings
    ) -> AsyncIterable[lk_llm.ChatChunk | str | FlushSentinel]:
        """The LLM's answer; no answer when the LLM failed for good.

        By then the failure is reported: the LLM emitted the session's error event before
        raising, so `TroubleNotifier` has logged it and apologised. Raised on, the same error
        would be logged again with its traceback and mark the turn failed, which ends LiveKit's
        console text mode (`python -m voice_agent console --text`)."""
        try:
            async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
                yield chunk
        except APIError:
            return

    @asynccontextmanager
    async def _working(self, context: RunContext[SessionData]) -> AsyncIterator[None]:
        """Say a filler phrase if the work outlasts the filler delay; relay data errors
        (unknown project, invalid task) to the LLM as a ToolError it can explain."""
        async with context.with_filler(FILLER, delay=self._filler_delay):
            try:
                yield
            except ProjectError as exc:
                raise ToolError(str(exc)) from None

    @function_tool
    async def list_projects(self, context: RunContext[SessionData]) -> str:
        """List every project with its status."""
        async with self._working(context):
            projects = await self._projects.list_projects()
        if not projects:
            return "There are no projects yet."
        return "; ".join(f"{p.name}: {p.status.replace('_', ' ')}" for p in projects)

    @function_tool
    async def get_project_status(self, context: RunContext[SessionData], project_name: str) -> str:
        """Get a project's status: its state, task counts, overdue and upcoming tasks.

        Args:
            project_name: The project's name as the user said it.
        """
        async with self._working(context):
            status = await self._projects.project_status(project_name)
        project = status.project
        counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in status.counts.items())
        lines = [f"{project.name} is {project.status.replace('_', ' ')}. Tasks: {counts}."]
        if status.overdue:
            lines.append("Overdue: " + "; ".join(_task_line(t) for t in status.overdue) + ".")
        if status.upcoming:
            lines.append("Next up: " + "; ".join(_task_line(t) for t in status.upcoming) + ".")
        return " ".join(lines)

    @function_tool
    async def list_tasks(
        self, context: RunContext[SessionData], project_name: str, status: str | None = None
    ) -> str:
        """List a project's tasks, optionally only those with one status.

        Args:
            project_name: The project's name as the user said it.
            status: Only tasks with this status: todo, in_progress or done.
        """
        async with self._working(context):
            project = await self._projects.find_project(project_name)
            tasks = await self._projects.list_tasks(project, status)
        if not tasks:
            return f"{project.name} has no {status.replace('_', ' ') + ' ' if status else ''}tasks."
        return f"{project.name} tasks: " + "; ".join(_task_line(t) for t in tasks) + "."

    @function_tool
    async def create_task(
        self,
        context: RunContext[SessionData],
        project_name: str,
        title: str,
        assignee: str | None = None,
        due_date: str | None = None,
    ) -> str:
        """Create a task in a project.

        Args:
            project_name: The project's name as the user said it.
            title: A short title for the task.
            assignee: Who should do it, if the user said so.
            due_date: The due date as YYYY-MM-DD, if the user gave one.
        """
        async with self._working(context):
            project = await self._projects.find_project(project_name)
            task = await self._projects.create_task(
                project,
                title,
                assignee=assignee,
                due_date=due_date,
                created_by=context.userdata.user_id,
            )
        return f"Created task {_task_line(task)} in {project.name}."

    @function_tool
    async def search_documentation(self, context: RunContext[SessionData], query: str) -> str:
        """Search the team's documentation and return the best matching passages.

        Args:
            query: What to look for, in a few words.
        """
        async with self._working(context):
            hits = self._docs.search(query, limit=3)
        if not hits:
            return f"The documentation has nothing about '{query}'."
        return " ".join(f"From {h.source}, {h.heading}: {h.snippet}" for h in hits)
