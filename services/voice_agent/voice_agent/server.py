"""The AgentServer: registers with livekit-server and runs one AgentSession per dispatched room.

`prewarm` loads the models once per job process (VAD, the local end-of-turn model, local speech
engines). `entrypoint` reads the session API's dispatch metadata, builds the session's providers
for its language, gives the agent the user's earlier turns as memory, records every turn in
Redis, and marks the session ended with a usage summary when the job ends, however it ends.
"""

import asyncio
import importlib
import json
import logging
import math
import tempfile
import time
from datetime import UTC, date, datetime
from typing import Any

from livekit import api, rtc
from livekit.agents import (
    AgentServer,
    AgentSession,
    APIConnectOptions,
    CloseEvent,
    CloseReason,
    JobContext,
    JobProcess,
    JobRequest,
)
from livekit.agents.inference import TurnDetector
from livekit.agents.voice.agent_session import SessionConnectOptions
from livekit.plugins import silero
from redis.asyncio import Redis
from redis.exceptions import RedisError

from voice_common import redis_client
from voice_common import redis_keys as keys
from voice_common.dispatch import DispatchMetadata
from voice_common.projects import ProjectStore
from voice_common.redis_keys import SessionStatus
from voice_common.session_status import SessionTransitions

from . import metrics
from .agent import INSTRUCTIONS, ProjectAssistant, SessionData, language_name
from .docs_search import get_index
from .draining import DrainingAgentServer
from .health import clear_registered, mark_registered
from .memory import memory_instructions, previous_turns
from .providers import build_stt, build_tts, session_llm, session_stt, session_tts
from .readiness import ReadinessReporter
from .settings import STTProvider, TTSProvider, WorkerSettings
from .transcript import TranscriptRecorder
from .trouble import TroubleNotifier

log = logging.getLogger("voice_agent")


def prewarm(proc: JobProcess) -> None:
    """Once per job process, before any job: load what every session needs."""
    settings = WorkerSettings()
    proc.userdata["settings"] = settings
    proc.userdata["vad"] = silero.VAD.load()
    from livekit.local_inference import init_eot

    init_eot()
    stt, _, tts = settings.chosen_providers()
    if stt is STTProvider.whisper:
        build_stt(settings, stt, settings.default_language).prewarm()
    if tts is TTSProvider.piper:
        build_tts(settings, tts, settings.default_language).prewarm()
    get_index(settings.docs_folder)
    import_lazy_modules()


# Modules the OpenAI SDK and anyio import on first use, which is the first LLM request of a
# session, on the job's event loop: LiveKit logs each as "event loop blocked for 100-300 ms
# importing ...", delaying the greeting. Imported once per process here instead.
LAZY_MODULES = (
    "anyio._backends._asyncio",
    "openai.lib.streaming.chat",
    "openai.pagination",
    "openai.resources.audio",
    "openai.resources.chat.completions.completions",
    "openai.resources.models",
)


def import_lazy_modules() -> None:
    for name in LAZY_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # moved in another version: the cost returns, nothing breaks
            log.warning("prewarm could not import %s", name)


def session_conn_options(settings: WorkerSettings) -> SessionConnectOptions:
    """One quick LLM retry, then the fallback provider or an apology (TroubleNotifier): a dead
    or hanging provider must not mean a minute of silence."""
    return SessionConnectOptions(
        llm_conn_options=APIConnectOptions(
            max_retry=1, retry_interval=0.5, timeout=settings.llm_timeout_seconds
        ),
    )


def build_session(
    settings: WorkerSettings, vad: silero.VAD, data: SessionData, vocabulary: list[str]
) -> AgentSession:
    return AgentSession[SessionData](
        stt=session_stt(settings, data.language, vad, vocabulary),
        llm=session_llm(settings),
        tts=session_tts(settings, data.language),
        vad=vad,
        conn_options=session_conn_options(settings),
        turn_handling={
            # Pinned to the local model: never a cloud-only detector on a self-hosted server.
            "turn_detection": TurnDetector(version="v1-mini"),
            "endpointing": {
                "min_delay": settings.min_endpointing_delay,
                "max_delay": settings.max_endpointing_delay,
            },
            "interruption": {
                "mode": "vad",
                "resume_false_interruption": True,
                "false_interruption_timeout": settings.false_interruption_timeout,
            },
            "preemptive_generation": {"enabled": settings.preemptive_generation},
        },
        userdata=data,
    )


async def build_agent(
    settings: WorkerSettings, redis: Redis, data: SessionData
) -> ProjectAssistant:
    """The session's agent: tools on seeded project data, instructions in the user's language
    with the end of their earlier conversations."""
    projects = ProjectStore(redis)
    await projects.seed_if_empty()
    memory = await previous_turns(redis, data.user_id, data.session_id, settings.memory_turns)
    instructions = INSTRUCTIONS.format(
        language=language_name(data.language), today=date.today().isoformat()
    ) + memory_instructions(memory)
    return ProjectAssistant(
        projects=projects,
        docs=get_index(settings.docs_folder),
        instructions=instructions,
        filler_delay=settings.tool_filler_delay_seconds,
    )


async def entrypoint(ctx: JobContext) -> None:
    """One job: the agent talks with the user of one session."""
    settings: WorkerSettings = ctx.proc.userdata["settings"]
    meta = DispatchMetadata.parse(ctx.job.metadata)
    data = SessionData(
        session_id=meta.session_id or ctx.job.room.name,
        user_id=meta.user_id or "anonymous",
        language=meta.language or settings.default_language,
    )
    log.info("job started session_id=%s room=%s", data.session_id, ctx.job.room.name)
    redis = redis_client.connect(settings.redis_url)
    transitions = SessionTransitions(redis)
    recorder = TranscriptRecorder(
        redis,
        data.session_id,
        settings.session_retention_days * 86400,
        on_latency=metrics.observe_turn,
    )
    metrics.ACTIVE_SESSIONS.inc()

    async def finish(reason: str) -> None:
        """Whatever ended the job: flush the transcript, write the usage, end the session, and
        close the room if the user is still in it (the worker is stopping, or failed): their
        page then says the call ended at once, instead of waiting in a room with no agent."""
        metrics.ACTIVE_SESSIONS.dec()
        await recorder.aclose()
        usage = {**recorder.stats.summary(), "ended_at": datetime.now(UTC).isoformat()}
        try:
            await redis.hset(keys.session(data.session_id), "usage", json.dumps(usage))
            await transitions.advance(data.session_id, SessionStatus.ended, reason or "job_ended")
        finally:
            await redis.aclose()
        if any(
            p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
            for p in ctx.room.remote_participants.values()
        ):
            try:
                await ctx.api.room.delete_room(api.DeleteRoomRequest(room=ctx.job.room.name))
            except api.TwirpError as exc:
                log.warning("could not close room=%s error=%s", ctx.job.room.name, exc.message)
        metrics.SESSIONS_ENDED.labels(reason or "job_ended").inc()
        log.info("job ended session_id=%s reason=%s usage=%s", data.session_id, reason, usage)

    ctx.add_shutdown_callback(finish)
    try:
        await ctx.connect()  # the agent joins now, the user may still be on the way
        try:
            await asyncio.wait_for(
                ctx.wait_for_participant(kind=rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD),
                settings.user_join_timeout_seconds,
            )
        except TimeoutError:
            log.info("user never joined session_id=%s", data.session_id)
            ctx.shutdown(reason="user_never_joined")
            return
        except RuntimeError:
            if ctx.room.isconnected():
                raise
            # The room closed before the user joined: the session was ended (DELETE, the
            # worker's drain) or the user's connection aborted. Nothing went wrong here.
            log.info("room closed before the user joined session_id=%s", data.session_id)
            ctx.shutdown(reason="user_never_joined")
            return
        agent = await build_agent(settings, redis, data)
        vocabulary = await ProjectStore(redis).vocabulary()  # seeded by build_agent
        session = build_session(settings, ctx.proc.userdata["vad"], data, vocabulary)
        recorder.attach(session)
        TroubleNotifier(session, data.session_id)
        session.on("close", lambda event: end_job(ctx, event))
        session.on("function_tools_executed", metrics.count_tool_calls)
        await session.start(agent=agent, room=ctx.room, record=False)
    except Exception as exc:
        log.exception("job failed session_id=%s room=%s", data.session_id, ctx.job.room.name)
        ctx.shutdown(reason=f"agent_error: {type(exc).__name__}")
        raise


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


AGENT_START_GRACE_SECONDS = 20  # how long an accepted job may take to join its room


class JobAdmission:
    """Accepts a job while fewer than `max_jobs` are running or starting, and refuses it
    otherwise without ending it, so that livekit-server offers it to another worker.

    LiveKit's own availability check cannot be used for this: while no job runs it counts a job
    accepted but not yet started as `load_threshold / num_idle_processes`, so an idle worker
    with one prewarmed process refused everything after the first request of a burst, and
    livekit-server dropped those dispatches. The worker therefore reports itself always
    available (`load_threshold=inf`) and admits jobs here.
    """

    STARTING_SECONDS = 30.0  # an accepted job not running by then was not given to this worker

    def __init__(self, server: AgentServer, max_jobs: int, redis_url: str | None = None) -> None:
        self.server = server
        self.max_jobs = max_jobs
        self._starting: dict[str, float] = {}  # job id -> when it was accepted
        self._redis_url = redis_url
        self._redis: Redis | None = None

    async def __call__(self, request: JobRequest) -> None:
        running = {info.job.id for info in self.server.active_jobs}
        now = time.monotonic()
        self._starting = {
            job: at
            for job, at in self._starting.items()
            if job not in running and now - at < self.STARTING_SECONDS
        }
        if len(running) + len(self._starting) >= self.max_jobs:
            log.warning(
                "job refused, worker full room=%s running=%d", request.room.name, len(running)
            )
            await request.reject(terminate=False)
            return
        self._starting[request.id] = now
        await self._announce_start(request)  # first: accept() returns once a process is free
        await request.accept()

    async def _announce_start(self, request: JobRequest) -> None:
        """Tell session-api's dispatch watchdog that the agent is on its way.

        livekit-server lists no job for a dispatch until the agent has joined, so a job that
        takes a while to start (no prewarmed process free) looks like a dropped dispatch, and
        the watchdog would send a second agent. A marker that lives AGENT_START_GRACE_SECONDS
        makes it wait instead.
        """
        if not self._redis_url:
            return
        session_id = DispatchMetadata.parse(request.job.metadata).session_id
        if session_id is None:
            return
        if self._redis is None:
            self._redis = redis_client.connect(self._redis_url)
        try:
            await self._redis.set(
                keys.agent_starting(session_id), request.id, ex=AGENT_START_GRACE_SECONDS
            )
        except RedisError as exc:  # the watchdog may then dispatch again; the job goes on
            log.warning("could not announce the job session_id=%s error=%s", session_id, exc)


class JobCountLoad:
    """The load the worker reports to livekit-server, which sends a job to the least loaded
    worker: running jobs / capacity, instead of LiveKit's default CPU measure.

    Each conversation is a bounded load, while CPU readings spike whenever a job process starts
    and loads its models; those spikes say nothing about how many more conversations a worker
    can take. (Whether it takes one is JobAdmission's decision.)
    """

    def __init__(self, max_jobs: int) -> None:
        self.max_jobs = max_jobs

    def __call__(self, server: AgentServer) -> float:
        return min(1.0, len(server.active_jobs) / self.max_jobs)


def build_server(settings: WorkerSettings) -> AgentServer:
    # LiveKit's own default (one prewarmed process per CPU in production) unless configured.
    idle: dict[str, Any] = (
        {} if settings.idle_processes is None else {"num_idle_processes": settings.idle_processes}
    )
    server = DrainingAgentServer(
        ws_url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
        host=settings.worker_http_host,
        port=settings.worker_http_port,
        load_fnc=JobCountLoad(settings.max_concurrent_jobs),
        drain_timeout=settings.drain_timeout_seconds,
        initialize_process_timeout=settings.process_init_timeout_seconds,
        **idle,
        load_threshold=math.inf,  # admission is JobAdmission's
        setup_fnc=prewarm,
        prometheus_port=settings.worker_metrics_port or None,
        prometheus_multiproc_dir=tempfile.mkdtemp(prefix="voice-agent-metrics-"),
    )

    clear_registered(settings.worker_http_port)  # a restarted container keeps its /tmp

    readiness = ReadinessReporter(settings)

    def _ready(worker_id: str, _server_info: object) -> None:
        mark_registered(settings.worker_http_port, worker_id)
        log.info("Worker ready, waiting for jobs... worker_id=%s", worker_id)
        readiness.registered(worker_id)

    server.on("worker_registered", _ready)
    # Job processes are spawned and receive the entrypoint by pickling: it must be module-level.
    admission = JobAdmission(server, settings.max_concurrent_jobs, settings.redis_url)
    server.rtc_session(entrypoint, agent_name=settings.agent_name, on_request=admission)
    return server
