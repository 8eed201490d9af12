"""How a job ends, and why the session's end is written before the agent leaves the room.

LiveKit's job shutdown disconnects from the room first and runs the shutdown callbacks after.
A session ended only in a shutdown callback would race livekit-server's `participant_left`
webhook for the agent, which ends the session as `agent_left`: under load the webhook won, and
a user who hung up was recorded as the agent leaving. So a job this code ends (`JobEnd.end`,
also when the conversation closes) first writes the usage and the reason, then shuts down;
`JobEnd.finish`, the shutdown callback, does the same for jobs ended from outside (the worker
stopping, the room closing) and closes the room if the user is still in it.
"""

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

from livekit import api, rtc
from livekit.agents import CloseEvent, CloseReason, JobContext
from redis.asyncio import Redis

from voice_common import redis_keys as keys
from voice_common.redis_keys import SessionStatus
from voice_common.session_status import EndReason, SessionTransitions

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
        self._reason = ""
        self._written: asyncio.Task[dict[str, Any]] | None = None

    def end(self, reason: str) -> None:
        """End the job for `reason`: the session's end is written, then the job shuts down."""
        if self._written is not None:
            return  # already ending
        self._reason = reason
        self._written = asyncio.create_task(self._write(reason), name="job-end-write")
        self._written.add_done_callback(lambda _: self._ctx.shutdown(reason=reason))

    def session_closed(self, event: CloseEvent) -> None:
        """The conversation is over once its AgentSession closes (the user hung up, or errors
        LiveKit cannot recover from): end the job now. Otherwise the job process stays in the
        room, holding a worker slot and its memory, until livekit-server closes the empty room
        (its departure timeout) and cuts the agent off mid-connection."""
        if event.reason is CloseReason.JOB_SHUTDOWN:
            return  # the job is already ending
        if event.reason is CloseReason.PARTICIPANT_DISCONNECTED:
            self.end(EndReason.user_left)
        elif event.error is not None:
            self.end(EndReason.error(event.error))
        else:
            self.end(event.reason.value)

    async def _write(self, reason: str) -> dict[str, Any]:
        """Flush the transcript, write the usage and end the session with `reason`."""
        await self._recorder.aclose()
        usage = {**self._recorder.stats.summary(), "ended_at": datetime.now(UTC).isoformat()}
        await self._redis.hset(keys.session(self._session_id), "usage", json.dumps(usage))
        await SessionTransitions(self._redis).advance(self._session_id, SessionStatus.ended, reason)
        return usage

    async def finish(self, reason: str) -> None:
        """The job's shutdown callback, whatever ended the job: the session's end written (if
        `end` has not already), and the room closed if the user is still in it (the worker is
        stopping, or failed): their page then says the call ended at once, instead of waiting
        in a room with no agent."""
        reason = self._reason or reason or EndReason.job_ended
        metrics.ACTIVE_SESSIONS.dec()
        if self._written is None:
            self._written = asyncio.create_task(self._write(reason), name="job-end-write")
        try:
            usage = await self._written
        finally:
            await self._redis.aclose()
        ctx = self._ctx
        if not ctx.is_fake_job() and any(  # console mode's job has no room on a server
            p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
            for p in ctx.room.remote_participants.values()
        ):
            try:
                await ctx.api.room.delete_room(api.DeleteRoomRequest(room=ctx.job.room.name))
            except api.TwirpError as exc:
                log.warning("could not close the room", extra={"error": exc.message})
        metrics.SESSIONS_ENDED.labels(reason).inc()
        log.info(JOB_ENDED, extra={"reason": reason, "usage": usage})
