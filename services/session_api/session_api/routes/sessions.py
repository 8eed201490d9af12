"""Voice sessions: create, read, end, list; and the short token form."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from voice_common.session_status import EndReason

from ..dependencies import AppServices, Services
from ..errors import ApiError
from ..models import (
    ErrorResponse,
    SessionCreated,
    SessionPage,
    SessionRequest,
    SessionState,
    SessionSummary,
    TokenCreated,
    TokenRequest,
    UserId,
)
from ..session_service import NewSession

router = APIRouter(prefix="/api", tags=["sessions"])

SessionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Session id")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 413, 422, 429, 503)
}


async def _create(services: AppServices, request: Request, body: SessionRequest) -> NewSession:
    client_ip = request.client.host if request.client else "unknown"
    await services.rate_limiter.check(user_id=body.user_id, client_ip=client_ip)
    return await services.sessions.create(body)


async def session_state(services: AppServices, session_id: str) -> SessionState:
    """The session's record, or a 404."""
    state = await services.store.get(session_id)
    if state is None:
        raise ApiError(404, "session_not_found", f"No session '{session_id}'")
    return SessionState.model_validate(state)


@router.post("/voice/session", status_code=201, response_model=SessionCreated, responses=_ERRORS)
async def create_session(
    body: SessionRequest, request: Request, services: Services
) -> SessionCreated:
    """Create the room with the agent dispatched to it, and a token to join it."""
    new = await _create(services, request, body)
    return SessionCreated(
        session_id=new.record.session_id,
        room=new.record.room,
        identity=new.record.identity,
        token=new.token,
        livekit_url=services.settings.livekit_public_url,
        agent_id=new.record.agent_id,
        expires_at=new.record.expires_at,
    )


@router.post("/token", status_code=201, response_model=TokenCreated, responses=_ERRORS)
async def create_token(body: TokenRequest, request: Request, services: Services) -> TokenCreated:
    """The short form: a new session's token and the LiveKit URL, nothing else."""
    new = await _create(
        services, request, SessionRequest(user_id=body.user_id, agent_id=body.agent_id)
    )
    return TokenCreated(token=new.token, url=services.settings.livekit_public_url)


@router.get("/voice/session/{session_id}", response_model=SessionState, responses=_ERRORS)
async def get_session(session_id: SessionId, services: Services) -> SessionState:
    """Status, timestamps, participants and transcript."""
    return await session_state(services, session_id)


@router.delete("/voice/session/{session_id}", response_model=SessionState, responses=_ERRORS)
async def end_session(session_id: SessionId, services: Services) -> SessionState:
    """Delete the room and mark the session ended. Ending an ended session changes nothing."""
    state = await services.sessions.end(session_id, reason=EndReason.ended_by_client)
    return SessionState.model_validate(state)


@router.get("/voice/sessions", response_model=SessionPage, responses=_ERRORS)
async def list_sessions(
    user_id: Annotated[UserId, Query()],
    services: Services,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SessionPage:
    """A user's sessions, newest first."""
    rows, has_more = await services.store.list_for_user(user_id, offset, limit)
    return SessionPage(
        sessions=[SessionSummary.model_validate(row) for row in rows],
        next_offset=offset + limit if has_more else None,
    )
