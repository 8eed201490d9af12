"""The worker's job admission: by the count of running and starting jobs, never ending a job it
refuses (livekit-server then offers it to another worker)."""

from dataclasses import dataclass, field
from types import SimpleNamespace

from voice_agent.admission import JobAdmission


@dataclass
class Request:
    """Stands in for LiveKit's JobRequest: records the answer."""

    id: str
    answer: str = ""
    room: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(name="room"))

    async def accept(self) -> None:
        self.answer = "accepted"

    async def reject(self, *, terminate: bool = True) -> None:
        self.answer = "ended" if terminate else "refused"


class Server:
    def __init__(self) -> None:
        self.active_jobs: list[SimpleNamespace] = []

    def run(self, job_id: str) -> None:
        self.active_jobs.append(SimpleNamespace(job=SimpleNamespace(id=job_id)))


async def answers(admission: JobAdmission, *ids: str) -> list[str]:
    requests = [Request(job_id) for job_id in ids]
    for request in requests:
        await admission(request)  # type: ignore[arg-type]
    return [request.answer for request in requests]


async def test_a_burst_is_admitted_up_to_the_limit_then_refused_without_ending_jobs():
    admission = JobAdmission(Server(), max_jobs=3)  # type: ignore[arg-type]
    assert await answers(admission, "a", "b", "c", "d") == [
        "accepted", "accepted", "accepted", "refused",
    ]  # fmt: skip


async def test_running_jobs_count_once_and_ended_ones_free_their_slot():
    server = Server()
    admission = JobAdmission(server, max_jobs=2)  # type: ignore[arg-type]
    assert await answers(admission, "a", "b") == ["accepted", "accepted"]
    server.run("a")
    server.run("b")
    assert await answers(admission, "c") == ["refused"]
    server.active_jobs.pop()  # b ended
    assert await answers(admission, "c") == ["accepted"]


async def test_an_accepted_job_that_never_starts_is_forgotten(monkeypatch):
    admission = JobAdmission(Server(), max_jobs=1)  # type: ignore[arg-type]
    clock = [1000.0]
    monkeypatch.setattr("voice_agent.admission.time.monotonic", lambda: clock[0])
    assert await answers(admission, "a", "b") == ["accepted", "refused"]
    clock[0] += JobAdmission.STARTING_SECONDS
    assert await answers(admission, "b") == ["accepted"]
