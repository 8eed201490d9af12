"""Serving a fake's aiohttp app on loopback: one place for the runner, the free port and the
URL, so that fakes can also be mounted together under one root (the OpenAI API is one host)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

HOST = "127.0.0.1"


class LoopbackServer:
    """An aiohttp app on `host:port` (0: a free port); `url` is its root, `http://host:port`."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = HOST, port: int = 0) -> str:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def serve_until_stopped(
    start: Callable[[], Awaitable[dict[str, str]]], stop: Callable[[], Awaitable[None]]
) -> None:
    """For `python -m harness.fakes...`: start, print the URLs as one JSON line (what a parent
    process waits for), run until SIGTERM or SIGINT, stop."""
    urls = await start()
    print(json.dumps(urls), flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await stop()
