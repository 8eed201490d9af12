"""`SessionSearch`: every user's sessions, newest first, filtered by user, status and creation
time, for the inspector (`voice_common.redis_keys` names the indexes it reads)."""

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from redis.asyncio import Redis

from voice_common import redis_keys as keys
from voice_common.redis_keys import SessionField as F
from voice_common.redis_keys import SessionStatus

# Index entries read per round trip while a status filter skips sessions.
BATCH = 200
SUMMARY_FIELDS = tuple(
    str(f)
    for f in (
        F.session_id,
        F.user_id,
        F.agent_id,
        F.status,
        F.created_at,
        F.active_at,
        F.ended_at,
        F.end_reason,
    )
)


@dataclass(frozen=True)
class SessionFilter:
    user_id: str | None = None
    status: SessionStatus | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # inclusive


def _score(moment: datetime | None, unbounded: str) -> float | str:
    return moment.timestamp() * 1000 if moment is not None else unbounded


class SessionSearch:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def page(
        self, where: SessionFilter, offset: int, limit: int
    ) -> tuple[list[dict[str, str | int | None]], bool]:
        """A page of matching sessions (summary fields and `transcript_entries`), newest first,
        and whether more follow. A record that expired before its index entry is skipped."""
        if where.status is None:
            # Every record in the score range matches: page through the index directly.
            ids = await self._ids(where, offset, limit + 1)
            rows = await self._summaries(ids)
            return rows[:limit], len(ids) > limit
        wanted = offset + limit + 1
        matches: list[dict[str, str | int | None]] = []
        start = 0
        while len(matches) < wanted:
            ids = await self._ids(where, start, BATCH)
            if not ids:
                break
            start += len(ids)
            matches += [row for row in await self._summaries(ids) if row[F.status] == where.status]
        return matches[offset : offset + limit], len(matches) > offset + limit

    async def _ids(self, where: SessionFilter, start: int, count: int) -> list[str]:
        index = keys.user_sessions(where.user_id) if where.user_id else keys.SESSIONS_INDEX
        # decode_responses=True: redis-py returns str, though its annotations allow bytes too.
        return cast(
            list[str],
            await self._redis.zrevrangebyscore(
                index,
                _score(where.created_to, "+inf"),
                _score(where.created_from, "-inf"),
                start=start,
                num=count,
            ),
        )

    async def _summaries(self, ids: list[str]) -> list[dict[str, str | int | None]]:
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hmget(keys.session(sid), list(SUMMARY_FIELDS))
                pipe.llen(keys.transcript(sid))
            replies = await pipe.execute()
        rows: list[dict[str, str | int | None]] = []
        for values, entries in zip(replies[::2], replies[1::2], strict=True):
            if values[0] is None:
                continue
            row: dict[str, str | int | None] = dict(zip(SUMMARY_FIELDS, values, strict=True))
            row["transcript_entries"] = int(entries)
            rows.append(row)
        return rows
