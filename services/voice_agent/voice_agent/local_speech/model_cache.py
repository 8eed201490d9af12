"""A process-wide cache of loaded speech models, so every session in a worker shares one copy."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger("voice_agent.local_speech")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ModelCache(Generic[K, V]):
    """Loads each model once per process, whichever thread asks first; the others wait for it.

    Loading is slow (seconds) and blocking, so callers on the event loop use `prewarm` or call
    `get` through `asyncio.to_thread`.
    """

    def __init__(self, load: Callable[[K], V]) -> None:
        self._load = load
        self._models: dict[K, V] = {}
        self._lock = threading.Lock()
        self._background: set[asyncio.Future[V]] = set()

    def get(self, key: K) -> V:
        """The model for `key`, loading it now if no thread has yet (blocking)."""
        with self._lock:
            if key not in self._models:
                self._models[key] = self._load(key)
            return self._models[key]

    def prewarm(self, key: K) -> None:
        """Start loading `key` ahead of the first request.

        On a running event loop (AgentSession prewarms its STT and TTS there) the load runs in a
        worker thread so the loop never stalls; elsewhere (a worker's process prewarm) it runs
        inline. A failed background load is logged and retried by the first request.
        """
        if key in self._models:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.get(key)
            return
        future = loop.run_in_executor(None, self.get, key)
        self._background.add(future)
        future.add_done_callback(self._background_load_done)

    def _background_load_done(self, future: asyncio.Future[V]) -> None:
        self._background.discard(future)
        if not future.cancelled() and (error := future.exception()) is not None:
            log.warning(
                "model prewarm failed, the first request retries", extra={"error": repr(error)}
            )
