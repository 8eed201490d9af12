"""The job: one AgentSession in one dispatched room, from the session API's dispatch metadata
to the session's end.

`entrypoint` reads the dispatch metadata, tags every log record of the job with its session and
room (LiveKit's `log_context_fields`), waits for the user, then starts the conversation built by
`session_setup`, recording every turn in Redis; `job_end` leaves the session ended with a usage
summary however the job ends. The AgentServer that runs these jobs is built in `worker`.
"""

import asyncio
import logging

from livekit import rtc
from livekit.agents import JobContext

from voice_common import redis_client
from voice_common.dispatch import DispatchMetadata
from voice_common.projects import ProjectStore
from voice_common.session_status import EndReason

from . import metrics
from .agent import SessionData
from .call_endings import AwayWatch
from .context_budget import ContextBudget
from .handoffs import ActiveAgentAttribute
from .job_end import JobEnd
from .log_messages import JOB_STARTED
from .session_setup import build_agent, build_session, room_options
from .settings import WorkerSettings
from .transcript import TranscriptRecorder
from .trouble import TroubleNotifier

log = logging.getLogger("voice_agent")


async def entrypoint(ctx: JobContext) -> None:
    """One job: the agent talks with the user of one session."""
    settings: WorkerSettings = ctx.proc.userdata["settings"]
    meta = DispatchMetadata.parse(ctx.job.metadata)
    data = SessionData(
        session_id=meta.session_id or ctx.job.room.name,
        user_id=meta.user_id or "anonymous",
        language=meta.language or settings.default_language,
        agent_id=meta.agent_id,
        trim_leading_silence=settings.tts_trim_leading_silence,
        context_budget=(
            ContextBudget(settings.llm_context_budget_tokens)
            if settings.llm_context_budget_tokens
            else None
        ),
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
    job_end = JobEnd(ctx, data.session_id, redis, recorder)
    ctx.add_shutdown_callback(job_end.finish)
    try:
        await ctx.connect()  # the agent joins now, the user may still be on the way
        try:
            await asyncio.wait_for(
                ctx.wait_for_participant(kind=rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD),
                settings.user_join_timeout_seconds,
            )
        except TimeoutError:
            log.info("user never joined")
            job_end.end(EndReason.user_never_joined)
            return
        except RuntimeError:
            if ctx.room.isconnected():
                raise
            # The room closed before the user joined: the session was ended (DELETE, the
            # worker's drain) or the user's connection aborted. Nothing went wrong here.
            log.info("room closed before the user joined")
            job_end.end(EndReason.user_never_joined)
            return
        agent = await build_agent(settings, redis, data)
        vocabulary = await ProjectStore(redis).vocabulary()  # seeded by build_agent
        session = build_session(settings, ctx.proc.userdata["vad"], data, vocabulary)
        recorder.attach(session)
        TroubleNotifier(session)
        data.end_call = job_end.end  # the agent's own endings (call_endings)
        AwayWatch(session)
        ActiveAgentAttribute(session, ctx.room, settings.agents_config())
        session.on("close", job_end.session_closed)
        session.on("function_tools_executed", metrics.count_tool_calls)
        await session.start(
            agent=agent, room=ctx.room, record=False, room_options=room_options(settings)
        )
    except Exception as exc:
        log.exception("job failed")
        job_end.end(EndReason.error(exc))
        raise
