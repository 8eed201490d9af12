"""`ProjectTools`: the project-management tools an agent may be given (the agents file names
them, `agents_config` hands each agent its own).

Tools answer with short plain sentences (they are read aloud after the LLM rephrases them) built
from real data: projects and tasks in Redis, and the documentation index. Bad input becomes a
`ToolError` whose message the LLM can relay; slow tools say a filler phrase instead of silence.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from livekit.agents import RunContext, ToolError, function_tool
from livekit.agents.llm import FunctionTool, RawFunctionTool, find_function_tools

from voice_common.projects import ProjectError, ProjectStore, Task

from .docs_search import DocsIndex
from .session_data import SessionData

FILLER = "One moment, let me check that."


def task_line(task: Task) -> str:
    parts = [f"{task.id} '{task.title}' ({task.status.replace('_', ' ')}"]
    if task.assignee:
        parts.append(f", assigned to {task.assignee}")
    if task.due_date:
        parts.append(f", due {task.due_date.isoformat()}")
    return "".join(parts) + ")"


class ProjectTools:
    """The tools on one session's data, by name (`by_name`)."""

    def __init__(self, *, projects: ProjectStore, docs: DocsIndex, filler_delay: float) -> None:
        self._projects = projects
        self._docs = docs
        self._filler_delay = filler_delay

    def by_name(self) -> dict[str, FunctionTool | RawFunctionTool]:
        return {tool.info.name: tool for tool in find_function_tools(self)}

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
            lines.append("Overdue: " + "; ".join(task_line(t) for t in status.overdue) + ".")
        if status.upcoming:
            lines.append("Next up: " + "; ".join(task_line(t) for t in status.upcoming) + ".")
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
        return f"{project.name} tasks: " + "; ".join(task_line(t) for t in tasks) + "."

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
        return f"Created task {task_line(task)} in {project.name}."

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
