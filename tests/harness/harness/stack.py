"""A whole stack put together from the components: `make dev` and the benchmarks start theirs
here (the test fixtures start the same components one by one, each at its own pytest scope).

    stack = Stack(run_dir, api_port=free_port())
    with stack.stopped_on_error():
        stack.add_redis()
        stack.add_livekit()
        stack.add_api(TEST_SETTINGS)
        stack.add_worker(local_providers(llm_url))
    ...
    stack.stop()                      # everything, in reverse order, by process id

Every component is optional: a stack without Redis runs livekit-server as a single node; several
`add_livekit` calls make a multi-node cluster sharing the Redis; `add_worker` may be called once
per node.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.livekit_server import LiveKitPorts, LiveKitServer, livekit_config, start_livekit
from harness.processes import ManagedProcess, free_port
from harness.redis_server import RedisServer, start_redis
from harness.session_api import SessionApi, api_env, start_session_api, webhook_url
from harness.web import start_web
from harness.worker import Worker, start_worker, worker_env


class _Stoppable(Protocol):
    def stop(self) -> Any: ...


@dataclass(frozen=True)
class StackPorts:
    """Fixed ports (`make dev`: the compose defaults). Tests and benchmarks use free ones."""

    redis: int = 6379
    livekit: LiveKitPorts = field(default_factory=LiveKitPorts)
    api: int = 8000
    worker_http: int = 8081
    web: int = 3000

    @classmethod
    def from_env(cls) -> StackPorts:
        """The compose defaults, each overridable by a DEV_*_PORT variable."""

        def port(name: str, default: int) -> int:
            return int(os.environ.get(f"DEV_{name}_PORT", default))

        return cls(
            redis=port("REDIS", 6379),
            livekit=LiveKitPorts(
                port("LIVEKIT", 7880), port("LIVEKIT_TCP", 7881), port("LIVEKIT_UDP", 7882)
            ),
            api=port("API", 8000),
            worker_http=port("WORKER", 8081),
            web=port("WEB", 3000),
        )


@dataclass
class Stack:
    run_dir: Path
    api_port: int
    api_key: str = "devkey"
    api_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    redis: RedisServer | None = None
    livekit_nodes: list[LiveKitServer] = field(default_factory=list)
    apis: list[SessionApi] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    _started: list[_Stoppable] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def livekit(self) -> LiveKitServer:
        return self.livekit_nodes[0]

    @property
    def api(self) -> SessionApi:
        return self.apis[0]

    @property
    def redis_url(self) -> str:
        if self.redis is None:
            raise RuntimeError("this stack has no Redis")
        return self.redis.url

    def processes(self) -> list[ManagedProcess]:
        """The processes started, oldest first (a component's handle holds its process)."""
        return [
            part if isinstance(part, ManagedProcess) else part.proc  # type: ignore[attr-defined]
            for part in self._started
        ]

    def _track(self, part: Any) -> Any:
        self._started.append(part)
        return part

    def add_redis(self, port: int | None = None) -> RedisServer:
        port = port or free_port()
        self.redis = self._track(start_redis(port, self.run_dir / "redis", self.logs))
        return self.redis

    def add_livekit(
        self, ports: LiveKitPorts | None = None, with_redis: bool = True, **config_changes: Any
    ) -> LiveKitServer:
        """A livekit-server node sending webhooks to the session API, on this stack's Redis if
        it has one and `with_redis` (else a single node keeping rooms in memory);
        `config_changes` are top-level livekit.yaml keys."""
        index = len(self.livekit_nodes)
        config = livekit_config(
            ports or LiveKitPorts.free(),
            self.redis.port if self.redis and with_redis else None,
            webhook_url(self.api_port),
        )
        config.update(config_changes)
        name = "livekit" if index == 0 else f"livekit{index}"
        node = start_livekit(
            config, self.api_key, self.api_secret, self.run_dir / name, self.logs, name
        )
        self.livekit_nodes.append(self._track(node))
        return node

    def add_api(
        self, settings: Mapping[str, str] | None = None, *, port: int | None = None
    ) -> SessionApi:
        """A session API replica with `settings` (environment variables) on top of the stack's;
        the first one listens on `api_port` (the webhooks' target)."""
        port = port or (self.api_port if not self.apis else free_port())
        env = api_env(self.livekit, self.redis_url, port, **(settings or {}))
        name = "session-api" if not self.apis else f"session-api-{port}"
        api = start_session_api(env, self.logs, name)
        self.apis.append(self._track(api))
        return api

    def add_worker(
        self,
        settings: Mapping[str, str] | None = None,
        *,
        node: int = 0,
        http_port: int | None = None,
    ) -> Worker:
        """A worker with `settings` (environment variables), registered with livekit `node`."""
        port = http_port or free_port()
        env = worker_env(self.livekit_nodes[node], self.redis_url, port, **(settings or {}))
        name = "voice-agent-worker" if not self.workers else f"worker-{len(self.workers)}"
        worker = start_worker(env, self.logs, name)
        self.workers.append(self._track(worker))
        return worker

    def replace_worker(
        self,
        worker: Worker,
        settings: Mapping[str, str] | None = None,
        *,
        unset: Collection[str] = (),
    ) -> Worker:
        """Stop `worker` and start a fresh one (new job processes) with `settings` changed and
        the `unset` ones back to their defaults."""
        worker.stop()
        self._started.remove(worker)
        index = self.workers.index(worker)
        env = {k: v for k, v in worker.env.items() if k not in unset} | dict(settings or {})
        fresh = start_worker(env, self.logs, f"{worker.name}-{worker.pid}")
        self.workers[index] = self._track(fresh)
        return fresh

    def add_web(self, port: int | None = None) -> ManagedProcess:
        return self._track(
            start_web(port or free_port(), self.api.port, self.run_dir / "web", self.logs)
        )

    def add_process(self, proc: ManagedProcess) -> ManagedProcess:
        """Anything else this stack should stop (provider fakes, a caller process)."""
        return self._track(proc)

    def stop(self) -> None:
        """Everything, in reverse order of start, each by its process id."""
        while self._started:
            self._started.pop().stop()

    @contextlib.contextmanager
    def stopped_on_error(self) -> Iterator[Stack]:
        """Stop what was started if starting the rest fails."""
        try:
            yield self
        except BaseException:
            self.stop()
            raise
