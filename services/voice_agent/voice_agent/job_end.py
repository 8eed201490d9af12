"""How a job ends: `end_job` ends it when its conversation is over, and `JobEnd.finish` (the
job's shutdown callback) leaves the session ended, with its usage, however the job ended."""

import json
import logging
from datetime import UTC, datetime

from livekit import api, rtc
from livekit.agents import CloseEvent, CloseReason, JobContext
from redis.asyncio import Redis

from voice_common import redis_keys as keys
from voice_common.redis_keys import SessionStatus
from voice_common.session_status import SessionTransitions

from . import metrics
from .log_messages import JOB_ENDED
from .transcript import TranscriptRecorder

log = logging.getLogger("voice_agent")


class JobEnd:
    """What the end of a job leaves behind: the transcript flushed, the usage written, the
    session ended with its reason, the room closed if the user is still in it."""

    def __init__(
        self, ctx: JobContext, session_id: str, redis: Redis, recorder: TranscriptRecorder
    ) -> None:
        self._ctx = ctx
        self._session_id = session_id
        self._redis = redis
        self._recorder = recorder

    async def finish(self, reason: str) -> None:
        """Whatever ended the job: flush the transcript, write the usage, end the session, and
        close the room if the user is still in it (the worker is stopping, or failed): their
        page then says the call ended at once, instead of waiting in a room with no agent."""
        reason = reason or "job_ended"
        metrics.ACTIVE_SESSIONS.dec()
        await self._recorder.aclose()
        usage = {**self._recorder.stats.summary(), "ended_at": datetime.now(UTC).isoformat()}
        try:
            await self._redis.hset(keys.session(self._session_id), "usage", json.dumps(usage))
            await SessionTransitions(self._redis).advance(
                self._session_id, SessionStatus.ended, reason
            )
        finally:
            await self._redis.aclose()
        ctx = self._ctx
        if any(
            p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
            for p in ctx.room.remote_participants.values()
        ):
            try:
                await ctx.api.room.delete_room(api.DeleteRoomRequest(room=ctx.job.room.name))
            except api.TwirpError as exc:
                log.warning("could not close the room", extra={"error": exc.message})
        metrics.SESSIONS_ENDED.labels(reason).inc()
        log.info(JOB_ENDED, extra={"reason": reason, "usage": usage})


def end_job(ctx: JobContext, event: CloseEvent) -> None:
    """The conversation is over once its AgentSession closes (the user hung up, or errors LiveKit
    cannot recover from): leave the room now. Otherwise the job process stays in the room, holding
    a worker slot and its memory, until livekit-server closes the empty room (its departure
    timeout) and cuts the agent off mid-connection."""
    if event.reason is CloseReason.JOB_SHUTDOWN:
        return  # the job is already ending
    if event.reason is CloseReason.PARTICIPANT_DISCONNECTED:
        reason = "user_left"
    elif event.error is not None:
        reason = f"agent_error: {type(event.error).__name__}"
    else:
        reason = event.reason.value
    ctx.shutdown(reason=reason)
