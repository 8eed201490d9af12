"""The session inspector's endpoints: every user's sessions and one session's full record.
All of them need the operator token (`operator_auth`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from voice_common.redis_keys import SessionStatus

from ..dependencies import Services
from ..errors import ApiError
from ..models import (
    ErrorResponse,
    InspectorSessionPage,
    InspectorSessionSummary,
    SessionState,
    UserId,
)
from ..operator_auth import require_operator
from ..session_search import SessionFilter, SessionSearch
from .sessions import SessionId, session_state

router = APIRouter(
    prefix="/api/inspector",
    tags=["inspector"],
    dependencies=[Depends(require_operator)],
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 422, 503)
}


@router.get("/sessions", response_model=InspectorSessionPage, responses=_ERRORS)
async def list_all_sessions(
    services: Services,
    user_id: Annotated[UserId | None, Query()] = None,
    status: Annotated[SessionStatus | None, Query()] = None,
    created_from: Annotated[
        AwareDatetime | None, Query(description="Created at or after (ISO 8601 with offset)")
    ] = None,
    created_to: Annotated[
        AwareDatetime | None, Query(description="Created at or before (ISO 8601 with offset)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> InspectorSessionPage:
    """Every user's sessions (or one user's), newest first, filtered by status and creation
    time."""
    if created_from and created_to and created_from > created_to:
        raise ApiError(422, "validation_error", "created_from is after created_to")
    where = SessionFilter(user_id, status, created_from, created_to)
    rows, has_more = await SessionSearch(services.redis).page(where, offset, limit)
    return InspectorSessionPage(
        sessions=[InspectorSessionSummary.model_validate(row) for row in rows],
        next_offset=offset + limit if has_more else None,
    )


@router.get("/sessions/{session_id}", response_model=SessionState, responses=_ERRORS)
async def inspect_session(session_id: SessionId, services: Services) -> SessionState:
    """One session's record: status, end reason, participants, transcript (turns with their
    latency stages, tool calls) and usage."""
    return await session_state(services, session_id)
