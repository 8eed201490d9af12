"""`JOB_EXECUTOR=thread`: the real worker runs each conversation as a thread of its one process
(the models loaded once), and two conversations at once are both greeted and answered."""

import asyncio

import psutil

from harness.caller import VoiceCaller
from harness.fakes.voice_script import BENCH_QUESTION


def process_tree(pid: int) -> set[int]:
    root = psutil.Process(pid)
    return {root.pid, *(child.pid for child in root.children(recursive=True))}


async def test_two_conversations_at_once_run_as_threads_of_the_workers_process(
    session_api, new_worker
):
    worker = new_worker("thread-worker", IDLE_PROCESSES="1", JOB_EXECUTOR="thread")
    idle = process_tree(worker.pid)
    threads_idle = psutil.Process(worker.pid).num_threads()
    async with (
        VoiceCaller.connect(session_api.url, "thread-one", keep_audio=False) as one,
        VoiceCaller.connect(session_api.url, "thread-two", keep_audio=False) as two,
    ):
        await asyncio.gather(one.wait_for_greeting(60), two.wait_for_greeting(60))
        turns = await asyncio.gather(
            one.say(BENCH_QUESTION, within=60), two.say(BENCH_QUESTION, within=60)
        )
        during = process_tree(worker.pid)
        threads_during = psutil.Process(worker.pid).num_threads()

    assert all(turn.voice_to_voice is not None for turn in turns)
    assert during == idle, "a conversation started a process of its own"
    assert threads_during > threads_idle  # the conversations' threads, in the worker's process
