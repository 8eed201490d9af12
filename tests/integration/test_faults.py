"""Redis or LiveKit down: 503 naming it, nothing half-made, recovery without a restart."""

from livekit import api

from harness.processes import free_port

SESSION = "/api/voice/session"


async def room_names(lk: api.LiveKitAPI) -> set[str]:
    return {room.name for room in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms}


def assert_unavailable(response, dependency: str) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == f"{dependency.lower()}_unavailable"
    assert dependency in error["message"]


async def test_redis_down_is_503_then_recovers_by_itself(start_api, private_redis, lk):
    handle = start_api(REDIS_URL=private_redis.url, RATE_LIMIT_PER_USER_PER_MINUTE="10")
    async with handle.client() as client:
        assert (await client.post(SESSION, json={"user_id": "ruth"})).status_code == 201
        rooms_before = await room_names(lk)
        private_redis.stop()

        assert_unavailable(await client.post(SESSION, json={"user_id": "ruth"}), "Redis")
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["error"]["unavailable"] == ["redis"]
        assert await room_names(lk) == rooms_before, "no room may exist without its record"

        private_redis.start()
        assert (await client.post(SESSION, json={"user_id": "ruth"})).status_code == 201
        assert (await client.get("/readyz")).status_code == 200


async def test_redis_failing_after_the_room_was_made_deletes_the_room(start_api, private_redis, lk):
    # Rate limits off: the first Redis call is the record write, after CreateRoom succeeded.
    handle = start_api(REDIS_URL=private_redis.url)
    rooms_before = await room_names(lk)
    private_redis.stop()
    async with handle.client() as client:
        assert_unavailable(await client.post(SESSION, json={"user_id": "sam"}), "Redis")
    assert await room_names(lk) == rooms_before
    assert "rollback_failed" not in handle.proc.log_text()


async def test_livekit_down_is_503_and_records_nothing(start_api, client):
    dead = f"http://127.0.0.1:{free_port()}"
    handle = start_api(LIVEKIT_URL=dead)
    async with handle.client() as down:
        assert_unavailable(await down.post(SESSION, json={"user_id": "tina"}), "LiveKit")
        ready = await down.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["unavailable"] == ["livekit"]
    listed = (await client.get("/api/voice/sessions", params={"user_id": "tina"})).json()
    assert listed["sessions"] == [], "no record may point at a room that does not exist"


async def test_delete_while_livekit_is_down_changes_nothing(start_api, client):
    created = (await client.post(SESSION, json={"user_id": "uma"})).json()
    handle = start_api(LIVEKIT_URL=f"http://127.0.0.1:{free_port()}")
    async with handle.client() as down:
        assert_unavailable(await down.delete(f"{SESSION}/{created['session_id']}"), "LiveKit")
    state = (await client.get(f"{SESSION}/{created['session_id']}")).json()
    assert state["status"] == "created"
    assert (await client.delete(f"{SESSION}/{created['session_id']}")).json()["status"] == "ended"


async def test_redis_killed_and_restarted_loses_no_acknowledged_session(start_api, private_redis):
    handle = start_api(REDIS_URL=private_redis.url)
    async with handle.client() as client:
        created = [(await client.post(SESSION, json={"user_id": "vera"})).json() for _ in range(20)]
        before = [(await client.get(f"{SESSION}/{c['session_id']}")).json() for c in created]

        private_redis.kill()  # SIGKILL: no chance to flush anything on the way out
        private_redis.start()

        after = [(await client.get(f"{SESSION}/{c['session_id']}")).json() for c in created]
        listed = await client.get("/api/voice/sessions", params={"user_id": "vera", "limit": 50})
    assert after == before
    assert len(listed.json()["sessions"]) == 20
