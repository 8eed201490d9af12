"""Stopping the worker quickly and cleanly (SIGTERM: `docker compose stop`, a redeploy).

LiveKit's drain lets every running job go on for up to DRAIN_TIMEOUT_SECONDS, which is right
for a conversation in progress and wrong for a job still waiting for its user (a session created
and never joined, like the README's curl): that job would hold the shutdown for the whole drain
and, with the job processes' own shutdown after it, past compose's grace period. So the drain
first closes the rooms nobody has joined; their jobs end at once (the room is gone), and the
drain waits only for real conversations.
"""

import logging
from typing import Any

from livekit import api
from livekit.agents import AgentServer
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from .log_messages import DRAIN_CLOSED_ROOMS

log = logging.getLogger("voice_agent")


async def close_unjoined_rooms(server: AgentServer, lk: api.LiveKitAPI) -> list[str]:
    """Delete the rooms of this worker's jobs that no user has joined; their names."""
    closed = []
    for info in server.active_jobs:
        room = info.job.room.name
        try:
            listed = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
            if any(p.kind != api.ParticipantInfo.Kind.AGENT for p in listed.participants):
                continue
            await lk.room.delete_room(api.DeleteRoomRequest(room=room))
            closed.append(room)
        except api.TwirpError as exc:  # gone already, or LiveKit down: the drain goes on
            log.warning("drain could not close a room", extra={"room": room, "error": exc.message})
    return closed


class DrainingAgentServer(AgentServer):
    """An AgentServer whose drain closes the rooms nobody joined before waiting for the rest."""

    def __init__(self, *, ws_url: str, api_key: str, api_secret: str, **options: Any) -> None:
        super().__init__(ws_url=ws_url, api_key=api_key, api_secret=api_secret, **options)
        self._room_api_credentials = (ws_url, api_key, api_secret)

    async def drain(self, timeout: NotGivenOr[int | None] = NOT_GIVEN) -> None:  # noqa: ASYNC109 (LiveKit's signature)
        if not self.draining:
            async with api.LiveKitAPI(*self._room_api_credentials) as lk:
                closed = await close_unjoined_rooms(self, lk)
            if closed:
                log.info(DRAIN_CLOSED_ROOMS, extra={"rooms": closed})
        await super().drain(timeout)
