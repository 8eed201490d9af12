"""`ProjectStore`: the projects and tasks the agent's tools read and write, kept in Redis.

Both the worker (voice tools) and session-api (read-only endpoints) use it. Errors the caller can
fix are `ProjectError`s whose message is one sentence an LLM can relay to the user as it is.

Keys (see `voice_common.redis_keys`): `projects:index` (set of slugs), `project:{slug}` (hash),
`project:{slug}:tasks` (hash: task id -> JSON), `tasks:next_id` (counter), `projects:seeded`.
"""

import asyncio
import difflib
import json
import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import cast

from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import WatchError
from redis.typing import EncodableT, FieldT

from . import redis_keys as keys

DEFAULT_FIXTURE = Path(__file__).parent / "data" / "projects.json"

TITLE_MIN, TITLE_MAX = 3, 200
ASSIGNEE_MAX = 64
UPCOMING_LIMIT = 3
MAX_LISTED_SUGGESTIONS = 6  # with no close match, suggest every project if there are this few
VOCABULARY_LIMIT = 50  # names handed to speech recognizers (Deepgram takes up to 100 keyterms)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FILLER_WORDS = {"the", "project", "projects"}  # "the Apollo project" names Apollo


class ProjectHealth(StrEnum):
    on_track = "on_track"
    at_risk = "at_risk"
    blocked = "blocked"
    done = "done"


class TaskStatus(StrEnum):
    todo = "todo"
    in_progress = "in_progress"
    done = "done"


class TaskSource(StrEnum):
    seed = "seed"
    voice = "voice"


class Project(BaseModel):
    name: str = Field(description="Display name", examples=["Apollo"])
    slug: str = Field(description="Stable lowercase identifier", examples=["apollo"])
    description: str
    owner: str
    status: ProjectHealth
    due_date: date | None = None
    updated_at: datetime


class Task(BaseModel):
    id: str = Field(description="Unique across projects", examples=["T-23"])
    project: str = Field(description="The project's slug")
    title: str
    assignee: str | None = None
    due_date: date | None = None
    status: TaskStatus = TaskStatus.todo
    created_at: datetime
    created_by: str | None = Field(None, description="User id of whoever asked for the task")
    source: TaskSource


class ProjectStatus(BaseModel):
    project: Project
    counts: dict[TaskStatus, int] = Field(description="Number of tasks in each status")
    overdue: list[Task] = Field(description="Open tasks due before today, oldest due date first")
    upcoming: list[Task] = Field(
        description=f"The next {UPCOMING_LIMIT} open tasks not overdue, by due date (undated last)"
    )


class ProjectError(Exception):
    """A request the caller can correct; the message is a sentence fit to say to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownProjectError(ProjectError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        if suggestions:
            hint = f"Did you mean: {_spoken_list(suggestions)}?"
        else:
            hint = "There are no projects yet."
        super().__init__(f"No project named '{name}'. {hint}")
        self.name = name
        self.suggestions = suggestions


class InvalidTaskError(ProjectError):
    pass


class _SeedTask(BaseModel):
    title: str
    assignee: str | None = None
    due_date: date | None = None
    status: TaskStatus
    created_at: datetime


class _SeedProject(Project):
    tasks: list[_SeedTask]


class _SeedFile(BaseModel):
    projects: list[_SeedProject]


class ProjectStore:
    """Projects and tasks in Redis. `redis` must be created with `decode_responses=True`."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._seed_checked = False

    async def seed_if_empty(self, fixture: Path = DEFAULT_FIXTURE) -> bool:
        """Load the fixture unless projects exist or were ever seeded; True if this call did it.

        Safe when several processes start at once: the check and the writes are one optimistic
        transaction on the marker, the index and the id counter, so exactly one of them seeds.
        """
        seed = _SeedFile.model_validate_json(await asyncio.to_thread(fixture.read_bytes))
        watched = (keys.projects_seeded(), keys.projects_index(), keys.task_counter())
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(*watched)
            if await pipe.exists(keys.projects_seeded()) or await pipe.scard(keys.projects_index()):
                return False
            next_id = int(await pipe.get(keys.task_counter()) or 0)
            pipe.multi()
            for entry in seed.projects:
                project = Project.model_validate(entry.model_dump(exclude={"tasks"}))
                tasks: dict[FieldT, EncodableT] = {}
                for item in entry.tasks:
                    next_id += 1
                    task = Task(
                        id=f"T-{next_id}",
                        project=project.slug,
                        source=TaskSource.seed,
                        **item.model_dump(),
                    )
                    tasks[task.id] = task.model_dump_json()
                pipe.hset(keys.project(project.slug), mapping=_project_fields(project))
                if tasks:
                    pipe.hset(keys.project_tasks(project.slug), mapping=tasks)
                pipe.sadd(keys.projects_index(), project.slug)
            pipe.set(keys.task_counter(), next_id)
            pipe.set(keys.projects_seeded(), _utc_now().isoformat())
            try:
                await pipe.execute()
            except WatchError:
                return False  # only a concurrent seeder writes these keys while the store is empty
        return True

    async def ensure_seeded(self, fixture: Path = DEFAULT_FIXTURE) -> None:
        """`seed_if_empty` once per store object: a cheap call before every read."""
        if not self._seed_checked:
            await self.seed_if_empty(fixture)
            self._seed_checked = True

    async def list_projects(self) -> list[Project]:
        """Every project, by name."""
        # decode_responses=True: redis-py returns str, though its annotations allow bytes too.
        slugs = sorted(cast(set[str], await self._redis.smembers(keys.projects_index())))
        async with self._redis.pipeline(transaction=False) as pipe:
            for slug in slugs:
                pipe.hgetall(keys.project(slug))
            records = await pipe.execute()
        projects = [Project.model_validate(record) for record in records if record]
        return sorted(projects, key=lambda project: project.name.casefold())

    async def vocabulary(self) -> list[str]:
        """The names a speech recognizer should expect in talk about these projects."""
        return spoken_vocabulary(await self.list_projects())

    async def find_project(self, name: str) -> Project:
        """The project called `name` (or with that slug), ignoring case, "the" and "project"."""
        projects = await self.list_projects()
        wanted = _match_key(name)
        by_key: dict[str, Project] = {}
        for project in projects:
            by_key.setdefault(_match_key(project.name), project)
            by_key.setdefault(_match_key(project.slug), project)
        if wanted in by_key:
            return by_key[wanted]
        close = difflib.get_close_matches(wanted, list(by_key), n=3, cutoff=0.6)
        suggestions = list(dict.fromkeys(by_key[key].name for key in close))
        if not suggestions and len(projects) <= MAX_LISTED_SUGGESTIONS:
            suggestions = [project.name for project in projects]
        raise UnknownProjectError(name, suggestions)

    async def _resolve(self, project: str | Project) -> Project:
        """A Project as it is; a name through `find_project`. Callers that already resolved the
        name pass the Project, so one request lists the projects once, not once per step."""
        return project if isinstance(project, Project) else await self.find_project(project)

    async def project_status(
        self, project: str | Project, today: date | None = None
    ) -> ProjectStatus:
        """The project, its task counts by status, its overdue tasks and its next open tasks."""
        today = today or date.today()
        project = await self._resolve(project)
        tasks = await self._tasks(project.slug)
        counts = dict.fromkeys(TaskStatus, 0)
        for task in tasks:
            counts[task.status] += 1
        open_tasks = [task for task in tasks if task.status != TaskStatus.done]
        overdue = [task for task in open_tasks if task.due_date and task.due_date < today]
        upcoming = [task for task in open_tasks if task.due_date is None or task.due_date >= today]
        return ProjectStatus(
            project=project, counts=counts, overdue=overdue, upcoming=upcoming[:UPCOMING_LIMIT]
        )

    async def create_task(
        self,
        project: str | Project,
        title: str,
        assignee: str | None = None,
        due_date: str | date | None = None,
        created_by: str | None = None,
        today: date | None = None,
    ) -> Task:
        """Add a `todo` task to the project; `InvalidTaskError` names what is wrong.

        `due_date` is `YYYY-MM-DD` (or a date), today or later. Ids come from one counter
        (`T-<n>`); a write that fails after taking its id leaves a gap, never a duplicate.
        """
        found = await self._resolve(project)
        clean_title = valid_title(title)
        clean_assignee = valid_assignee(assignee)
        due = valid_due_date(due_date, today or date.today())
        number = await self._redis.incr(keys.task_counter())
        now = _utc_now()
        task = Task(
            id=f"T-{number}",
            project=found.slug,
            title=clean_title,
            assignee=clean_assignee,
            due_date=due,
            created_at=now,
            created_by=created_by,
            source=TaskSource.voice,
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.project_tasks(found.slug), task.id, task.model_dump_json())
            pipe.hset(keys.project(found.slug), "updated_at", now.isoformat())
            await pipe.execute()
        return task

    async def list_tasks(self, project: str | Project, status: str | None = None) -> list[Task]:
        """The project's tasks (only those in `status` if given), by due date, undated last."""
        found = await self._resolve(project)
        wanted = _valid_status(status) if status is not None else None
        tasks = await self._tasks(found.slug)
        return [task for task in tasks if wanted is None or task.status == wanted]

    async def _tasks(self, slug: str) -> list[Task]:
        """All of a project's tasks by due date (undated last), then by creation time."""
        stored = await self._redis.hvals(keys.project_tasks(slug))
        tasks = [Task.model_validate(json.loads(entry)) for entry in stored]
        return sorted(
            tasks, key=lambda t: (t.due_date is None, t.due_date or date.min, t.created_at)
        )


def spoken_vocabulary(projects: list[Project], limit: int = VOCABULARY_LIMIT) -> list[str]:
    """Every project's name, then the words of its owner's name ("Apollo", ..., "Priya",
    "Raman"), each once, at most `limit`: the words to tell a speech recognizer to expect."""
    words = [project.name for project in projects]
    words += [word for project in projects for word in project.owner.split()]
    return list(dict.fromkeys(words))[:limit]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _project_fields(project: Project) -> dict[FieldT, EncodableT]:
    """The project as a Redis hash: every value a string, absent fields left out."""
    fields = project.model_dump(mode="json").items()
    return {name: str(value) for name, value in fields if value is not None}


def _match_key(text: str) -> str:
    """Lowercase words without filler: "The Apollo project" and "apollo" give "apollo"."""
    words = re.findall(r"[a-z0-9]+", text.casefold())
    return " ".join([word for word in words if word not in _FILLER_WORDS] or words)


def _spoken_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def valid_title(title: str) -> str:
    clean = " ".join(title.split())
    if len(clean) < TITLE_MIN:
        raise InvalidTaskError(f"A task title needs at least {TITLE_MIN} characters.")
    if len(clean) > TITLE_MAX:
        raise InvalidTaskError(
            f"The task title is {len(clean)} characters long; the limit is {TITLE_MAX}."
        )
    return clean


def valid_assignee(assignee: str | None) -> str | None:
    clean = " ".join((assignee or "").split())
    if len(clean) > ASSIGNEE_MAX:
        raise InvalidTaskError(f"The assignee's name is longer than {ASSIGNEE_MAX} characters.")
    return clean or None


def valid_due_date(value: str | date | None, today: date) -> date | None:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else None
        except ValueError:
            value = None
        if value is None:
            example = (today + timedelta(days=7)).isoformat()
            raise InvalidTaskError(
                f"The due date '{text}' is not a date in the form YYYY-MM-DD, such as {example}."
            )
    if isinstance(value, datetime):
        value = value.date()
    if value is not None and value < today:
        raise InvalidTaskError(
            f"The due date {value.isoformat()} is in the past; today is {today.isoformat()}."
        )
    return value


def _valid_status(status: str) -> TaskStatus:
    try:
        return TaskStatus(status.strip().lower())
    except ValueError:
        choices = _spoken_list([str(choice) for choice in TaskStatus])
        raise InvalidTaskError(f"There is no task status '{status}'; use {choices}.") from None
