"""LiveKit's signed webhooks move sessions between states."""

import logging

from fastapi import APIRouter, Header, Request
from livekit import api

from voice_common.redis_keys import SessionStatus
from voice_common.session_status import EndReason

from ..dependencies import Services
from ..errors import ApiError
from ..models import ErrorResponse

router = APIRouter(prefix="/api/livekit", tags=["webhooks"])
# What moves a session; every other event (room_started, track_published...) is acknowledged
# without touching Redis: each session brings several of them.
HANDLED_EVENTS = {"participant_joined", "participant_left", "room_finished"}
# livekit-server sends application/webhook+json; plain JSON is accepted too.
WEBHOOK_MEDIA_TYPES = {"application/webhook+json", "application/json"}
log = logging.getLogger(__name__)


@router.post(
    "/webhook",
    status_code=200,
    responses={code: {"model": ErrorResponse} for code in (400, 401, 503)},
)
async def receive_webhook(
    request: Request,
    services: Services,
    authorization: str | None = Header(default=None, include_in_schema=False),
) -> dict[str, str]:
    """Verify the signature (JWT over the body's SHA-256), then apply the event once."""
    raw = await request.body()
    if not authorization:
        raise ApiError(401, "unauthorized", "Missing webhook signature")
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in WEBHOOK_MEDIA_TYPES:
        raise ApiError(
            400,
            "bad_request",
            f"Webhook content type must be application/webhook+json, not {media_type or 'none'}",
        )
    try:
        body = raw.decode()
    except UnicodeDecodeError:
        raise ApiError(400, "bad_request", "Webhook body is not UTF-8") from None
    try:
        event = services.webhook_receiver.receive(body, authorization)
    except Exception:  # noqa: BLE001 - any verification failure is the same answer to the caller
        raise ApiError(401, "unauthorized", "Invalid webhook signature") from None

    if event.event not in HANDLED_EVENTS:
        return {"status": "ignored"}
    if event.id and not await services.store.mark_event_seen(event.id):
        return {"status": "duplicate"}
    session_id = await services.store.session_for_room(event.room.name) if event.room.name else None
    if session_id is None:
        return {"status": "ignored"}

    store = services.store
    if event.event == "participant_joined":
        kind = api.ParticipantInfo.Kind.Name(event.participant.kind).lower()
        await store.record_participant(session_id, event.participant.identity, kind, joined=True)
        if kind == "agent":
            await services.watchdog.agent_joined(session_id)
        if await store.advance(session_id, SessionStatus.active):
            log.info("session active", extra={"session_id": session_id, "room": event.room.name})
    elif event.event == "participant_left":
        kind = api.ParticipantInfo.Kind.Name(event.participant.kind).lower()
        await store.record_participant(session_id, event.participant.identity, kind, joined=False)
        # Without its agent the conversation is over, whether the job ended, crashed or was
        # killed. A job that ends normally has already ended the session with its own reason.
        if kind == "agent" and await store.advance(
            session_id, SessionStatus.ended, EndReason.agent_left
        ):
            log.info(
                "session ended",
                extra={"session_id": session_id, "room": event.room.name, "reason": "agent_left"},
            )
    elif event.event == "room_finished":
        if await store.advance(session_id, SessionStatus.ended, EndReason.room_finished):
            log.info(
                "session ended",
                extra={
                    "session_id": session_id,
                    "room": event.room.name,
                    "reason": "room_finished",
                },
            )
    return {"status": "applied"}
