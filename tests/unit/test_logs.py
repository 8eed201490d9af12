"""The JSON log shape every service writes, and the reader tests and benchmarks use on it."""

import io
import json
import logging
import os
from collections.abc import Iterator

import pytest

from voice_common.logs import (
    JsonLogFormatter,
    configure_json_logging,
    find_log_records,
    parse_log_records,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines to a buffer; the handlers it had put back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_json_logging("info", buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_record_has_the_core_fields_and_its_structured_fields_at_the_top(stream) -> None:
    logging.getLogger("voice_agent").info(
        "job ended", extra={"session_id": "s-1", "reason": "user_left", "usage": {"turns": 2}}
    )
    [record] = parse_log_records(stream.getvalue())
    assert record.pop("ts").endswith("+00:00")
    assert record == {
        "level": "INFO",
        "logger": "voice_agent",
        "message": "job ended",
        "pid": os.getpid(),
        "session_id": "s-1",
        "reason": "user_left",
        "usage": {"turns": 2},
    }


def test_below_the_level_nothing_is_written(stream) -> None:
    logging.getLogger("voice_agent").debug("detail")
    assert stream.getvalue() == ""


def test_a_traceback_is_its_own_field(stream) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("session_api").exception("unhandled error", extra={"path": "/x"})
    [record] = parse_log_records(stream.getvalue())
    assert record["message"] == "unhandled error" and record["path"] == "/x"
    assert record["level"] == "ERROR"
    assert record["exc"].startswith("Traceback") and "ValueError: boom" in record["exc"]


def test_a_job_process_record_keeps_its_traceback_out_of_the_message() -> None:
    """LiveKit's job processes send records with the traceback appended to the message and
    kept in `exc_text`, their pid, and the job's log context fields as attributes."""
    record = logging.LogRecord("voice_agent", logging.ERROR, "", 0, "", None, None)
    record.exc_text = "Traceback (most recent call last):\nRuntimeError: lost"
    record.msg = "job failed\n" + record.exc_text
    record.process = 4242
    record.session_id = "s-2"
    entry = json.loads(JsonLogFormatter().format(record))
    assert entry["message"] == "job failed"
    assert entry["exc"] == record.exc_text
    assert (entry["pid"], entry["session_id"]) == (4242, "s-2")


def test_a_record_about_another_process_names_that_pid() -> None:
    """LiveKit's supervisor logs about a job process with `extra={"pid": ...}`."""
    record = logging.LogRecord("livekit.agents", logging.INFO, "", 0, "process exited", None, None)
    record.pid = 777
    assert json.loads(JsonLogFormatter().format(record))["pid"] == 777


def test_the_reader_skips_lines_that_are_not_json_objects() -> None:
    text = "\n".join([
        '{"message": "job started", "session_id": "a"}',
        "Traceback (most recent call last):",
        "{not json",
        "[1, 2]",
        '  {"message": "job started", "session_id": "b"}',
        '{"message": "job ended", "session_id": "a"}',
    ])  # fmt: skip
    assert [r["session_id"] for r in parse_log_records(text)] == ["a", "b", "a"]
    assert find_log_records(text, "job started", session_id="b") == [
        {"message": "job started", "session_id": "b"}
    ]
    assert find_log_records(text, "job started", session_id="c") == []
    assert len(find_log_records(text, "job started")) == 2
