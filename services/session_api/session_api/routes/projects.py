"""Projects and their tasks, read-only: the data the voice agent's tools work on."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from voice_common.projects import Project, ProjectStore, Task, TaskStatus, UnknownProjectError

from ..dependencies import Services
from ..errors import error_body
from ..models import ErrorDetail, ErrorResponse

router = APIRouter(prefix="/api/projects", tags=["projects"])


class ProjectList(BaseModel):
    projects: list[Project]


class ProjectTasks(BaseModel):
    project: Project
    tasks: list[Task]


class ProjectNotFoundDetail(ErrorDetail):
    suggestions: list[str]


class ProjectNotFound(BaseModel):
    error: ProjectNotFoundDetail


async def _projects(services: Services) -> ProjectStore:
    """The store, seeded first if startup could not do it (Redis was down then)."""
    await services.projects.ensure_seeded()
    return services.projects


Projects = Annotated[ProjectStore, Depends(_projects)]
ProjectName = Annotated[
    str, Path(min_length=1, max_length=100, description="Name or slug, in any case")
]

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ProjectNotFound},
    422: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


@router.get("", response_model=ProjectList, responses={503: {"model": ErrorResponse}})
async def list_projects(projects: Projects) -> ProjectList:
    """Every project, by name."""
    return ProjectList(projects=await projects.list_projects())


@router.get("/{name}/tasks", response_model=ProjectTasks, responses=_ERRORS)
async def list_tasks(
    name: ProjectName,
    projects: Projects,
    status: Annotated[TaskStatus | None, Query(description="Only tasks in this status")] = None,
) -> ProjectTasks | JSONResponse:
    """A project's tasks by due date (undated last); 404 suggests the names closest to `name`."""
    try:
        project = await projects.find_project(name)
    except UnknownProjectError as exc:
        body = error_body("project_not_found", exc.message, suggestions=exc.suggestions)
        return JSONResponse(body, status_code=404)
    return ProjectTasks(project=project, tasks=await projects.list_tasks(project, status))
