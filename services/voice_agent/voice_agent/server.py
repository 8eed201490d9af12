"""The AgentServer: registers with livekit-server and takes the jobs dispatched to `agent_name`.

This is the foundation's minimal worker: it registers, joins the rooms it is dispatched to and
logs each job. The conversational pipeline (AgentSession, providers, tools) replaces `entrypoint`.
"""

import json
import logging

from livekit.agents import AgentServer, JobContext

from .settings import WorkerSettings

log = logging.getLogger("voice_agent")


def dispatch_metadata(ctx: JobContext) -> dict[str, object]:
    """The session API's dispatch metadata (session id, user id, language), or {} if absent."""
    try:
        value = json.loads(ctx.job.metadata or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


async def entrypoint(ctx: JobContext) -> None:
    """One job: the agent joins the room it was dispatched to."""
    meta = dispatch_metadata(ctx)
    log.info("job started session_id=%s room=%s", meta.get("session_id"), ctx.job.room.name)
    await ctx.connect()


def build_server(settings: WorkerSettings) -> AgentServer:
    server = AgentServer(
        ws_url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
        host=settings.worker_http_host,
        port=settings.worker_http_port,
    )

    def _ready(worker_id: str, _server_info: object) -> None:
        log.info("Worker ready, waiting for jobs... worker_id=%s", worker_id)

    server.on("worker_registered", _ready)

    # Job processes are spawned and receive the entrypoint by pickling: it must be module-level.
    server.rtc_session(entrypoint, agent_name=settings.agent_name)
    return server
