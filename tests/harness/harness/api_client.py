"""A typed client of the session API for tests and benchmarks: the API's own response models,
one place for creating, reading, ending and waiting on sessions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from session_api.models import SessionCreated, SessionPage, SessionState

M = TypeVar("M", bound=BaseModel)


class ApiError(RuntimeError):
    """A non-2xx answer, with the API's error code (`{"error": {"code", "message"}}`)."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        self.code: str = error.get("code", "")
        self.message: str = error.get("message", response.text[:200])
        super().__init__(f"{response.request.method} {response.request.url.path}: "
                         f"{self.status_code} {self.code} {self.message}")  # fmt: skip


class ApiClient:
    """`async with ApiClient(url) as api: created = await api.create_session("alice")`."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def _call(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        response = await self.http.request(method, path, **kwargs)
        if response.is_error:
            raise ApiError(response)
        return model.model_validate(response.json())

    async def create_session(self, user_id: str, **fields: Any) -> SessionCreated:
        """POST /api/voice/session; `fields` are the request's other fields (agent_id, language,
        metadata)."""
        body = {"user_id": user_id, **fields}
        return await self._call(SessionCreated, "POST", "/api/voice/session", json=body)

    async def get_session(self, session_id: str) -> SessionState:
        return await self._call(SessionState, "GET", f"/api/voice/session/{session_id}")

    async def end_session(self, session_id: str) -> SessionState:
        return await self._call(SessionState, "DELETE", f"/api/voice/session/{session_id}")

    async def list_sessions(self, user_id: str, **params: Any) -> SessionPage:
        query = {"user_id": user_id, **params}
        return await self._call(SessionPage, "GET", "/api/voice/sessions", params=query)

    async def wait_session(
        self,
        session_id: str,
        condition: Callable[[SessionState], bool],
        what: str,
        within: float = 30.0,
    ) -> SessionState:
        """Read the session until `condition` holds; TimeoutError saying `what` and the last
        state otherwise. (The API has no push channel; a read every 100 ms is the event.)"""
        deadline = time.monotonic() + within
        while True:
            state = await self.get_session(session_id)
            if condition(state):
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"session {session_id}: not {what} after {within:.0f} s: "
                                   f"{state.model_dump_json()}")  # fmt: skip
            await asyncio.sleep(0.1)

    async def wait_agent_joined(self, session_id: str, within: float = 30.0) -> SessionState:
        return await self.wait_session(session_id, agent_joined, "joined by an agent", within)

    async def wait_ended(self, session_id: str, within: float = 30.0) -> SessionState:
        return await self.wait_session(session_id, lambda s: s.status == "ended", "ended", within)


def agent_joined(state: SessionState) -> bool:
    """An agent participant has joined the session's room."""
    return any(p.kind == "agent" and p.joined_at for p in state.participants)
