"""The projects endpoints of session-api: seeded at startup, read from Redis, errors with hints."""

from collections.abc import AsyncIterator
from datetime import date

import pytest
from redis.asyncio import Redis

from voice_common.projects import ProjectStore

PROJECT_NAMES = ["Apollo", "Atlas", "Helios", "Mercury", "Orion"]
TODAY = date(2026, 11, 21)


@pytest.fixture
async def shared_store(redis_server) -> AsyncIterator[ProjectStore]:
    """The store behind the shared session API (database 0 of the shared Redis)."""
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield ProjectStore(client)
    await client.aclose()


async def names(client) -> list[str]:
    response = await client.get("/api/projects")
    assert response.status_code == 200, response.text
    return [project["name"] for project in response.json()["projects"]]


async def test_projects_are_seeded_at_startup(client):
    response = await client.get("/api/projects")

    assert response.status_code == 200
    projects = response.json()["projects"]
    assert [project["name"] for project in projects] == PROJECT_NAMES
    apollo = projects[0]
    assert apollo["slug"] == "apollo" and apollo["owner"] and apollo["description"]
    assert apollo["status"] in {"on_track", "at_risk", "blocked", "done"}


async def test_a_projects_tasks_by_name_in_any_form(client):
    by_slug = (await client.get("/api/projects/apollo/tasks")).json()
    by_phrase = await client.get("/api/projects/The Apollo project/tasks")

    assert by_phrase.status_code == 200
    assert by_phrase.json() == by_slug
    assert by_slug["project"]["name"] == "Apollo"
    titles = [task["title"] for task in by_slug["tasks"]]
    assert "Migrate blog posts to the new CMS" in titles
    due = [task["due_date"] for task in by_slug["tasks"] if task["due_date"]]
    assert due == sorted(due)


async def test_tasks_filtered_by_status(client):
    response = await client.get("/api/projects/atlas/tasks", params={"status": "in_progress"})

    tasks = response.json()["tasks"]
    assert [task["title"] for task in tasks] == ["Security review of the warehouse access model"]


async def test_an_unknown_status_is_422(client):
    response = await client.get("/api/projects/atlas/tasks", params={"status": "finished"})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_an_unknown_project_is_404_with_suggestions(client):
    response = await client.get("/api/projects/Apolo/tasks")

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "project_not_found",
            "message": "No project named 'Apolo'. Did you mean: Apollo?",
            "suggestions": ["Apollo"],
        }
    }


async def test_a_task_created_by_the_store_is_served(client, shared_store):
    task = await shared_store.create_task(
        "Helios", "Confirm the cut-over weekend", "Chen Wei", "2027-05-08", "alice", today=TODAY
    )

    tasks = (await client.get("/api/projects/helios/tasks")).json()["tasks"]

    served = next(item for item in tasks if item["id"] == task.id)
    assert served["title"] == "Confirm the cut-over weekend"
    assert served["created_by"] == "alice" and served["source"] == "voice"
    assert served["due_date"] == "2027-05-08"


async def test_seeding_again_duplicates_nothing(client, shared_store):
    before = {
        name: (await client.get(f"/api/projects/{name}/tasks")).json() for name in PROJECT_NAMES
    }

    assert await shared_store.seed_if_empty() is False

    assert await names(client) == PROJECT_NAMES
    after = {
        name: (await client.get(f"/api/projects/{name}/tasks")).json() for name in PROJECT_NAMES
    }
    assert after == before


async def test_the_schema_documents_the_endpoints(client):
    paths = (await client.get("/openapi.json")).json()["paths"]

    tasks = paths["/api/projects/{name}/tasks"]["get"]["responses"]
    assert "ProjectTasks" in tasks["200"]["content"]["application/json"]["schema"]["$ref"]
    assert "ProjectNotFound" in tasks["404"]["content"]["application/json"]["schema"]["$ref"]
    assert "/api/projects" in paths


async def test_projects_survive_a_redis_kill(start_api, private_redis):
    handle = start_api(REDIS_URL=private_redis.url)
    async with handle.client() as client:
        async with Redis.from_url(private_redis.url, decode_responses=True) as redis:
            task = await ProjectStore(redis).create_task("Orion", "Ship the tour", today=TODAY)
        before = (await client.get("/api/projects/orion/tasks")).json()
        assert task.id in {item["id"] for item in before["tasks"]}

        private_redis.kill()  # SIGKILL: the append-only file is all that remains
        private_redis.start()

        assert await names(client) == PROJECT_NAMES
        assert (await client.get("/api/projects/orion/tasks")).json() == before
    async with Redis.from_url(private_redis.url, decode_responses=True) as redis:
        assert await ProjectStore(redis).seed_if_empty() is False


async def test_redis_down_at_startup_seeds_on_first_request(start_api, private_redis):
    private_redis.stop()
    handle = start_api(REDIS_URL=private_redis.url)
    async with handle.client() as client:
        assert (await client.get("/healthz")).status_code == 200
        down = await client.get("/api/projects")
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "redis_unavailable"

        private_redis.start()

        assert await names(client) == PROJECT_NAMES
    assert "projects not seeded at startup" in handle.proc.log_text()
