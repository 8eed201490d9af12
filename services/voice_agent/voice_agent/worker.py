"""The AgentServer: registers with livekit-server, admits jobs (`admission`), prewarms its job
processes (`prewarm`) and runs `server.entrypoint` for each dispatched room."""

import logging
import math
import tempfile
from typing import Any

from livekit.agents import JobExecutorType
from livekit.agents.cli import AgentsConsole
from livekit.agents.cli.log import JsonFormatter as LiveKitJsonFormatter

from voice_common.logs import JsonLogFormatter

from .admission import JobAdmission, JobCountLoad
from .console import quiet_provider_errors
from .draining import DrainingAgentServer
from .health import clear_registered, mark_registered
from .log_messages import WORKER_READY
from .prewarm import FORKSERVER_PRELOAD, prewarm
from .readiness import ReadinessReporter
from .server import entrypoint
from .settings import WorkerSettings

log = logging.getLogger("voice_agent")


class VoiceAgentServer(DrainingAgentServer):
    """Writes the project's JSON log lines (`voice_common.logs`) instead of LiveKit's own.

    LiveKit's CLI installs its handler just before it runs the server, so the formatter is
    swapped here, before the first record. Records of the job processes reach this process
    and its handler with their fields. Development mode's coloured lines are left alone, and
    console mode's terminal shows a provider failure as one line (`console`).
    """

    async def run(self, *, devmode: bool = False, unregistered: bool = False) -> None:
        for handler in logging.getLogger().handlers:
            if isinstance(handler.formatter, LiveKitJsonFormatter):
                handler.setFormatter(JsonLogFormatter())
        if AgentsConsole.get_instance().enabled:
            quiet_provider_errors()
        await super().run(devmode=devmode, unregistered=unregistered)


def metrics_dir(settings: WorkerSettings) -> str | None:
    """Where job processes leave their Prometheus samples for the main process to serve. Not
    needed with no metrics, nor with thread jobs (one process); without it LiveKit also stops
    counting the worker's child processes every 0.5 s, which scans every process of the
    machine."""
    if not settings.worker_metrics_port or settings.job_executor == "thread":
        return None
    return tempfile.mkdtemp(prefix="voice-agent-metrics-")


def build_server(settings: WorkerSettings) -> VoiceAgentServer:
    # LiveKit's own default (one prewarmed process per CPU in production) unless configured.
    idle: dict[str, Any] = (
        {} if settings.idle_processes is None else {"num_idle_processes": settings.idle_processes}
    )
    server = VoiceAgentServer(
        ws_url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
        host=settings.worker_http_host,
        port=settings.worker_http_port,
        job_executor_type=JobExecutorType(settings.job_executor),
        load_fnc=JobCountLoad(settings.max_concurrent_jobs),
        drain_timeout=settings.drain_timeout_seconds,
        initialize_process_timeout=settings.process_init_timeout_seconds,
        **idle,
        load_threshold=math.inf,  # admission is JobAdmission's
        setup_fnc=prewarm,
        preload_modules=list(FORKSERVER_PRELOAD),
        prometheus_port=settings.worker_metrics_port or None,
        prometheus_multiproc_dir=metrics_dir(settings),
    )

    clear_registered(settings.worker_http_port)  # a restarted container keeps its /tmp

    readiness = ReadinessReporter(settings)

    def _ready(worker_id: str, _server_info: object) -> None:
        mark_registered(settings.worker_http_port, worker_id)
        log.info(WORKER_READY, extra={"worker_id": worker_id})
        readiness.registered(worker_id)

    server.on("worker_registered", _ready)
    # Job processes are spawned and receive the entrypoint by pickling: it must be module-level.
    admission = JobAdmission(server, settings.max_concurrent_jobs, settings.redis_url)
    server.rtc_session(entrypoint, agent_name=settings.agent_name, on_request=admission)
    return server
