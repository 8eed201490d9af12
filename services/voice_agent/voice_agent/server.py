"""The job: one AgentSession in one dispatched room, from the session API's dispatch metadata
to the session's end.

`entrypoint` reads the dispatch metadata, tags every log record of the job with its session and
room (LiveKit's `log_context_fields`), waits for the user, then starts the conversation built by
`session_setup`, recording every turn in Redis; `job_end` leaves the session ended with a usage
summary however the job ends. The AgentServer that runs these jobs is built in `worker`.
"""

import asyncio
import json
import logging

from livekit import rtc
from livekit.agents import JobContext

from voice_common import redis_client
from voice_common.projects import ProjectStore

from . import metrics
from .agent import SessionData
from .job_end import JobEnd, end_job
from .log_messages import JOB_STARTED
from .session_setup import build_agent, build_session
from .settings import WorkerSettings
from .transcript import TranscriptRecorder
from .trouble import TroubleNotifier

log = logging.getLogger("voice_agent")


def dispatch_metadata(text: str) -> dict[str, object]:
    """The session API's dispatch metadata (session id, user id, language), or {} if absent."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


async def entrypoint(ctx: JobContext) -> None:
    """One job: the agent talks with the user of one session."""
    settings: WorkerSettings = ctx.proc.userdata["settings"]
    meta = dispatch_metadata(ctx.job.metadata)
    data = SessionData(
        session_id=str(meta.get("session_id") or ctx.job.room.name),
        user_id=str(meta.get("user_id") or "anonymous"),
        language=str(meta.get("language") or settings.default_language),
    )
    # On every record of this job, LiveKit's included: the job process adds them.
    ctx.log_context_fields.update(session_id=data.session_id, room=ctx.job.room.name)
    log.info(JOB_STARTED)
    redis = redis_client.connect(settings.redis_url)
    recorder = TranscriptRecorder(
        redis,
        data.session_id,
        settings.session_retention_days * 86400,
        on_latency=metrics.observe_turn,
    )
    metrics.ACTIVE_SESSIONS.inc()  # JobEnd.finish counts it down
    ctx.add_shutdown_callback(JobEnd(ctx, data.session_id, redis, recorder).finish)
    try:
        await ctx.connect()  # the agent joins now, the user may still be on the way
        try:
            await asyncio.wait_for(
                ctx.wait_for_participant(kind=rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD),
                settings.user_join_timeout_seconds,
            )
        except TimeoutError:
            log.info("user never joined")
            ctx.shutdown(reason="user_never_joined")
            return
        except RuntimeError:
            if ctx.room.isconnected():
                raise
            # The room closed before the user joined: the session was ended (DELETE, the
            # worker's drain) or the user's connection aborted. Nothing went wrong here.
            log.info("room closed before the user joined")
            ctx.shutdown(reason="user_never_joined")
            return
        agent = await build_agent(settings, redis, data)
        vocabulary = await ProjectStore(redis).vocabulary()  # seeded by build_agent
        session = build_session(settings, ctx.proc.userdata["vad"], data, vocabulary)
        recorder.attach(session)
        TroubleNotifier(session)
        session.on("close", lambda event: end_job(ctx, event))
        session.on("function_tools_executed", metrics.count_tool_calls)
        await session.start(agent=agent, room=ctx.room, record=False)
    except Exception as exc:
        log.exception("job failed")
        ctx.shutdown(reason=f"agent_error: {type(exc).__name__}")
        raise
