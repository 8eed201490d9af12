"""`LiveKitGateway`: the session API's calls to livekit-server (rooms, dispatch, tokens)."""

from datetime import timedelta

import aiohttp
from livekit import api

from voice_common.dispatch import DispatchMetadata

from .errors import DependencyUnavailable

ROOM_ALREADY_GONE = {api.ServerErrorCode.NOT_FOUND}
# A job a worker has accepted: its agent is joining or in the room.
LIVE_JOB_STATUSES = {api.JobStatus.JS_PENDING, api.JobStatus.JS_RUNNING}


def _unavailable(exc: Exception) -> DependencyUnavailable:
    if isinstance(exc, api.ServerError):
        detail = f"{exc.code} ({exc.status})"
    else:
        detail = type(exc).__name__
    return DependencyUnavailable("LiveKit", detail)


class LiveKitGateway:
    def __init__(
        self, url: str, api_key: str, api_secret: str, request_timeout_seconds: float
    ) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._client = api.LiveKitAPI(
            url,
            api_key,
            api_secret,
            timeout=aiohttp.ClientTimeout(total=request_timeout_seconds),
            failover=False,  # one self-hosted server: no regions to fail over to
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def create_room(
        self,
        room: str,
        *,
        agent_name: str,
        dispatch_metadata: DispatchMetadata,
        empty_timeout_seconds: int,
    ) -> None:
        """Create the room with the agent dispatch in the same request.

        A token's room configuration is ignored for a room that already exists, so the dispatch
        must travel with CreateRoom.
        """
        metadata = dispatch_metadata.model_dump_json()
        request = api.CreateRoomRequest(
            name=room,
            empty_timeout=empty_timeout_seconds,
            departure_timeout=20,
            metadata=metadata,
            agents=[api.RoomAgentDispatch(agent_name=agent_name, metadata=metadata)],
        )
        try:
            await self._client.room.create_room(request)
        except (TimeoutError, api.ServerError, aiohttp.ClientError) as exc:
            raise _unavailable(exc) from exc

    async def dispatch_agent(
        self, room: str, *, agent_name: str, dispatch_metadata: DispatchMetadata
    ) -> bool:
        """Dispatch the agent to an existing room again, unless a worker has already taken a
        job for it there (the agent is on its way). True when a dispatch was made."""
        try:
            dispatches = await self._client.agent_dispatch.list_dispatch(room_name=room)
            if any(
                job.state.worker_id and job.state.status in LIVE_JOB_STATUSES
                for dispatch in dispatches
                if dispatch.agent_name == agent_name
                for job in dispatch.state.jobs
            ):
                return False
            await self._client.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(
                    agent_name=agent_name,
                    room=room,
                    metadata=dispatch_metadata.model_dump_json(),
                )
            )
        except (TimeoutError, api.ServerError, aiohttp.ClientError) as exc:
            raise _unavailable(exc) from exc
        return True

    async def delete_room(self, room: str) -> None:
        """Delete the room; a room that is already gone counts as deleted."""
        try:
            await self._client.room.delete_room(api.DeleteRoomRequest(room=room))
        except api.ServerError as exc:
            if exc.code not in ROOM_ALREADY_GONE:
                raise _unavailable(exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unavailable(exc) from exc

    async def ping(self) -> None:
        """Raise DependencyUnavailable unless the server answers an authenticated call."""
        try:
            await self._client.room.list_rooms(api.ListRoomsRequest(names=["readyz-probe"]))
        except (TimeoutError, api.ServerError, aiohttp.ClientError) as exc:
            raise _unavailable(exc) from exc

    def participant_token(self, *, room: str, identity: str, name: str, ttl: timedelta) -> str:
        """A token for this room only: join, publish the microphone, subscribe, publish data."""
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            can_publish=True,
            can_publish_sources=["microphone"],
            can_subscribe=True,
            can_publish_data=True,
        )
        return (
            api.AccessToken(self._api_key, self._api_secret)
            .with_identity(identity)
            .with_name(name)
            .with_ttl(ttl)
            .with_grants(grants)
            .to_jwt()
        )
