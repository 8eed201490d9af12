"""The worker's log messages that the dev stack, tests and benchmarks look for, spelled once.

Readers match a record's `message` field exactly and read the rest from its fields
(`voice_common.logs.parse_log_records`), e.g. `session_id` and `room` on the job's records.
This module imports nothing, so scripts can use it without loading the worker.
"""

WORKER_READY = "Worker ready, waiting for jobs..."  # registered with livekit-server
JOB_STARTED = "job started"  # the job read its dispatch; fields: session_id, room
JOB_ENDED = "job ended"  # fields: session_id, room, reason, usage
DRAIN_CLOSED_ROOMS = "drain closed the rooms nobody joined"  # on SIGTERM; field: rooms
