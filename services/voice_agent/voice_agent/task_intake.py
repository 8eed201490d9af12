"""`TaskIntake`: a structured sub-dialogue (LiveKit's `AgentTask`) that collects one new task.

The agent that starts it (its `start_...` handoff tool, `handoffs.intake_tool`) waits for the
typed `IntakeResult`. The intake asks only for what the conversation has not said yet (it starts
with the caller's chat context), checks each detail as it is given (the project must exist, the
due date must be a date, today or later), reads the complete task back, and ends with the user's
yes (`confirm_task`) or no (`cancel_task`). It creates nothing itself: the caller creates the
task only from a confirmed result.
"""

from dataclasses import dataclass
from datetime import date

from livekit.agents import AgentTask, RunContext, ToolError, function_tool
from livekit.agents import llm as lk_llm
from pydantic import BaseModel

from voice_common.agents_file import AgentSpec
from voice_common.projects import (
    ProjectError,
    ProjectStore,
    valid_assignee,
    valid_due_date,
    valid_title,
)

from .agent import QuietLLMFailures
from .session_data import SessionData


class TaskDraft(BaseModel):
    """The task as collected so far."""

    project_name: str | None = None
    title: str | None = None
    assignee: str | None = None
    due_date: date | None = None

    def missing(self) -> list[str]:
        labels = {"project_name": "project", "title": "title", "assignee": "assignee"}
        missing = [label for name, label in labels.items() if getattr(self, name) is None]
        return missing + (["due date"] if self.due_date is None else [])

    def spoken(self) -> str:
        return (
            f"'{self.title}' in {self.project_name}, assigned to {self.assignee}, "
            f"due {self.due_date.isoformat() if self.due_date else 'unknown'}"
        )


@dataclass(frozen=True)
class IntakeResult:
    """How the intake ended: `confirmed` only when the user said yes to the complete `draft`."""

    confirmed: bool
    draft: TaskDraft


class TaskIntake(QuietLLMFailures, AgentTask[IntakeResult]):
    def __init__(
        self,
        *,
        spec: AgentSpec,
        instructions: str,
        projects: ProjectStore,
        chat_ctx: lk_llm.ChatContext,
        today: date,
    ) -> None:
        super().__init__(instructions=instructions, chat_ctx=chat_ctx)
        self._id = spec.id  # AgentTask takes no id; the transcript names agents by the file's
        self.spec = spec
        self.draft = TaskDraft()
        self._projects = projects
        self._today = today

    async def on_enter(self) -> None:
        if self.spec.greeting:
            self.session.generate_reply(instructions=self.spec.greeting)

    @function_tool
    async def record_task_details(
        self,
        context: RunContext[SessionData],
        project_name: str | None = None,
        title: str | None = None,
        assignee: str | None = None,
        due_date: str | None = None,
    ) -> str:
        """Record the details of the new task the user has given; leave out what they have not
        said.

        Args:
            project_name: The project's name as the user said it.
            title: A short title for the task.
            assignee: Who should do it.
            due_date: The due date as YYYY-MM-DD.
        """
        try:
            if project_name:
                self.draft.project_name = (await self._projects.find_project(project_name)).name
            if title:
                self.draft.title = valid_title(title)
            if assignee:
                self.draft.assignee = valid_assignee(assignee)
            if due_date:
                self.draft.due_date = valid_due_date(due_date, self._today)
        except ProjectError as exc:
            raise ToolError(str(exc)) from None
        if missing := self.draft.missing():
            return f"Noted. Still missing: {', '.join(missing)}. Ask only for those."
        return f"Complete: {self.draft.spoken()}. Read it back and ask the user to confirm."

    @function_tool
    async def confirm_task(self, context: RunContext[SessionData]) -> None:
        """The user said yes to the task as read back: hand it on to be created."""
        if missing := self.draft.missing():
            raise ToolError(f"The task is not complete: still missing {', '.join(missing)}.")
        self.complete(IntakeResult(confirmed=True, draft=self.draft))

    @function_tool
    async def cancel_task(self, context: RunContext[SessionData]) -> None:
        """The user said no, or does not want the task after all: nothing is created."""
        self.complete(IntakeResult(confirmed=False, draft=self.draft))
