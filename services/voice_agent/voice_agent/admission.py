"""Which jobs this worker takes (`JobAdmission`) and the load it reports (`JobCountLoad`):
both by the number of conversations, the bounded resource of a voice worker."""

import logging
import time

from livekit.agents import AgentServer, JobRequest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from voice_common import redis_client
from voice_common import redis_keys as keys
from voice_common.dispatch import DispatchMetadata

log = logging.getLogger("voice_agent")

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
                "job refused, worker full",
                extra={"room": request.room.name, "running": len(running)},
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
        if not session_id:
            return
        if self._redis is None:
            self._redis = redis_client.connect(self._redis_url)
        try:
            await self._redis.set(
                keys.agent_starting(session_id), request.id, ex=AGENT_START_GRACE_SECONDS
            )
        except RedisError as exc:  # the watchdog may then dispatch again; the job goes on
            log.warning(
                "could not announce the job", extra={"session_id": session_id, "error": str(exc)}
            )


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
