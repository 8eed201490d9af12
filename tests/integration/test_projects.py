"""`ProjectStore` against a real Redis: seeding, name matching, task validation and status."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date

import pytest
from redis.asyncio import Redis

from voice_common import redis_keys as keys
from voice_common.projects import (
    DEFAULT_FIXTURE,
    InvalidTaskError,
    ProjectStore,
    TaskSource,
    TaskStatus,
    UnknownProjectError,
)

DB = 5  # a database of its own on the shared redis-server, flushed by every test
TODAY = date(2026, 11, 21)
FIXTURE = json.loads(DEFAULT_FIXTURE.read_text())
FIXTURE_TASKS = sum(len(project["tasks"]) for project in FIXTURE["projects"])


@pytest.fixture
def redis_url(redis_server) -> str:
    base, _, db = redis_server.url.rpartition("/")
    assert db == "0", redis_server.url
    return f"{base}/{DB}"


@pytest.fixture
async def redis(redis_url) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis) -> ProjectStore:
    store = ProjectStore(redis)
    assert await store.seed_if_empty()
    return store


async def task_count(redis: Redis) -> int:
    slugs = await redis.smembers(keys.projects_index())
    return sum([await redis.hlen(keys.project_tasks(slug)) for slug in slugs])


async def test_seeding_loads_the_fixture_once(redis):
    store = ProjectStore(redis)

    assert await store.seed_if_empty() is True
    assert await store.seed_if_empty() is False

    names = [project.name for project in await store.list_projects()]
    assert names == sorted(project["name"] for project in FIXTURE["projects"])
    assert await task_count(redis) == FIXTURE_TASKS
    assert int(await redis.get(keys.task_counter())) == FIXTURE_TASKS
    tasks = await store.list_tasks("Apollo")
    assert {task.source for task in tasks} == {TaskSource.seed}
    assert {task.project for task in tasks} == {"apollo"}


async def test_concurrent_seeding_seeds_exactly_once(redis_url, redis):
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(5)]
    try:
        results = await asyncio.gather(*(ProjectStore(c).seed_if_empty() for c in clients))
    finally:
        for client in clients:
            await client.aclose()

    assert sorted(results) == [False] * 4 + [True]
    assert await task_count(redis) == FIXTURE_TASKS
    store = ProjectStore(redis)
    ids = {task.id for p in FIXTURE["projects"] for task in await store.list_tasks(p["slug"])}
    assert ids == {f"T-{n}" for n in range(1, FIXTURE_TASKS + 1)}


async def test_seeding_never_overwrites_existing_data(store, redis):
    task = await store.create_task("Mercury", "Record the demo video", today=TODAY)
    await redis.delete(keys.projects_seeded())  # even without the marker, data is never replaced

    assert await ProjectStore(redis).seed_if_empty() is False
    assert task in await store.list_tasks("Mercury")
    assert await task_count(redis) == FIXTURE_TASKS + 1


@pytest.mark.parametrize(
    "spoken", ["Apollo", "apollo", "APOLLO", "the Apollo project", "Apollo project", " apollo. "]
)
async def test_projects_are_found_by_loose_name(store, spoken):
    assert (await store.find_project(spoken)).slug == "apollo"


async def test_an_unknown_project_suggests_close_names(store):
    with pytest.raises(UnknownProjectError) as caught:
        await store.find_project("Apolo")

    assert caught.value.suggestions == ["Apollo"]
    assert str(caught.value) == "No project named 'Apolo'. Did you mean: Apollo?"


async def test_with_nothing_close_every_project_is_suggested(store):
    with pytest.raises(UnknownProjectError) as caught:
        await store.find_project("Zeus")

    assert caught.value.suggestions == ["Apollo", "Atlas", "Helios", "Mercury", "Orion"]
    assert str(caught.value).endswith("Did you mean: Apollo, Atlas, Helios, Mercury or Orion?")


async def test_the_vocabulary_names_projects_then_owners_once(store):
    vocabulary = await store.vocabulary()

    assert vocabulary[:5] == ["Apollo", "Atlas", "Helios", "Mercury", "Orion"]
    assert {"Priya", "Raman", "Daniel", "Kim"} <= set(vocabulary[5:])
    assert len(vocabulary) == len(set(vocabulary))


async def test_with_no_projects_the_error_says_so(redis):
    with pytest.raises(UnknownProjectError, match=r"^No project named 'Apollo'\. There are no"):
        await ProjectStore(redis).find_project("Apollo")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  a  "}, "A task title needs at least 3 characters."),
        ({"title": "x" * 201}, "The task title is 201 characters long; the limit is 200."),
        ({"assignee": "y" * 65}, "The assignee's name is longer than 64 characters."),
        (
            {"due_date": "2025-01-01"},
            "The due date 2025-01-01 is in the past; today is 2026-11-21.",
        ),
        ({"due_date": date(2026, 11, 20)}, "The due date 2026-11-20 is in the past; today is"),
        ({"due_date": "next friday"}, "The due date 'next friday' is not a date in the form YYYY"),
        ({"due_date": "2026-02-30"}, "The due date '2026-02-30' is not a date in the form"),
        ({"due_date": "20261201"}, "The due date '20261201' is not a date in the form YYYY-MM-DD"),
    ],
)
async def test_invalid_tasks_are_refused_with_a_sentence(store, redis, fields, message):
    counter_before = await redis.get(keys.task_counter())

    with pytest.raises(InvalidTaskError) as caught:
        await store.create_task(
            **{"project": "Apollo", "title": "Launch post", **fields}, today=TODAY
        )

    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(".")
    assert await redis.get(keys.task_counter()) == counter_before
    assert await task_count(redis) == FIXTURE_TASKS


async def test_a_task_for_an_unknown_project_is_refused(store):
    with pytest.raises(UnknownProjectError, match="Did you mean: Mercury"):
        await store.create_task("Mercuri", "Write the launch post", today=TODAY)


async def test_created_tasks_are_stored_with_unique_ids(store, redis):
    before = await store.find_project("Orion")
    first = await store.create_task(
        "the orion project",
        "  Draft the   welcome email\n",
        assignee=" Ben Carter ",
        due_date="2026-11-21",
        created_by="alice",
        today=TODAY,
    )
    second = await store.create_task(
        "Orion", "Book the kickoff", due_date=date(2027, 1, 4), today=TODAY
    )

    assert first.id == f"T-{FIXTURE_TASKS + 1}" and second.id == f"T-{FIXTURE_TASKS + 2}"
    assert first.title == "Draft the welcome email"
    assert first.assignee == "Ben Carter"
    assert first.due_date == TODAY
    assert (first.status, first.source, first.created_by) == (TaskStatus.todo, "voice", "alice")
    assert (second.assignee, second.created_by) == (None, None)
    stored = await store.list_tasks("orion")
    assert first in stored and second in stored
    assert (await store.find_project("Orion")).updated_at > before.updated_at


async def test_tasks_are_listed_by_due_date_and_filtered_by_status(store):
    tasks = await store.list_tasks("Atlas")

    dated = [task.due_date for task in tasks if task.due_date]
    assert dated == sorted(dated)
    assert tasks[-1].due_date is None, "undated tasks come last"
    todo = await store.list_tasks("Atlas", status="todo")
    assert todo and all(task.status == TaskStatus.todo for task in todo)
    assert len(todo) < len(tasks)


async def test_an_unknown_status_filter_is_refused(store):
    with pytest.raises(InvalidTaskError, match="There is no task status 'finished'; use todo,"):
        await store.list_tasks("Atlas", status="finished")


async def test_status_counts_overdue_and_upcoming_tasks(store):
    status = await store.project_status("Mercury", today=TODAY)

    assert status.project.name == "Mercury"
    assert status.counts == {TaskStatus.todo: 3, TaskStatus.in_progress: 1, TaskStatus.done: 1}
    assert [task.title for task in status.overdue] == [
        "Fix crash on Android 12 when rotating the camera view",
        "Offline sync for saved items",
    ]
    assert [task.title for task in status.upcoming] == [
        "Push notification opt-in screen",
        "App Store screenshots and release notes",
    ]


async def test_done_tasks_are_never_overdue(store):
    status = await store.project_status("Orion", today=date(2027, 6, 1))

    assert status.counts[TaskStatus.done] == 1
    assert all(task.status != TaskStatus.done for task in status.overdue)
    assert len(status.overdue) == 3 and status.upcoming == []
