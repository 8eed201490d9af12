"""Memory across sessions: the user's previous sessions, as context for a new one.

A bounded number of the most recent turns (user, agent and tool calls) of the user's earlier
sessions, oldest first, with their dates, so the agent can refer back ("the task you created
yesterday").
"""

import json
from typing import cast

from redis.asyncio import Redis

from voice_common import redis_keys as keys
from voice_common.transcript import AgentTurn, ToolCall, UserTurn, parse_entry

SESSIONS_LOOKED_AT = 5
TEXT_LIMIT = 300


def _line(entry: UserTurn | AgentTurn | ToolCall | None) -> str | None:
    """The entry as the agent is shown it; None for failed tool calls and unreadable entries."""
    if entry is None:
        return None
    day = entry.at.date().isoformat()
    match entry:
        case UserTurn():
            return f"[{day}] user: {entry.text[:TEXT_LIMIT]}"
        case AgentTurn():
            return f"[{day}] assistant: {entry.text[:TEXT_LIMIT]}"
        case ToolCall(is_error=False):
            arguments = json.dumps(entry.arguments, separators=(",", ":"))
            return f"[{day}] tool {entry.name}({arguments}) -> {entry.output[:TEXT_LIMIT]}"
    return None


async def previous_turns(redis: Redis, user_id: str, current_session: str, turns: int) -> list[str]:
    """The last `turns` lines of the user's earlier sessions, oldest first (the agent's
    instructions quote them: `agent.compose_instructions`)."""
    if turns <= 0:
        return []
    recent = cast(
        list[str], await redis.zrevrange(keys.user_sessions(user_id), 0, SESSIONS_LOOKED_AT)
    )
    earlier = [sid for sid in recent if sid != current_session][:SESSIONS_LOOKED_AT]
    lines: list[str] = []
    for session_id in earlier:  # newest session first
        entries = cast(list[str], await redis.lrange(keys.transcript(session_id), -turns, -1))
        session_lines = [line for raw in entries if (line := _line(parse_entry(raw)))]
        lines = session_lines + lines
        if len(lines) >= turns:
            break
    return lines[-turns:]
