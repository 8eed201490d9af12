"""Rate limits in Redis, shared by every replica: per user and per client IP.

GCRA (the generic cell rate algorithm): each key holds a "theoretical arrival time". A limit of
N per minute admits a burst of N, then one request every 60/N seconds. Unlike a fixed window it
has no boundary where the count resets, so a client can never get 2N through around a minute mark.
All keys are checked and updated in one script: a request is counted only if every limit admits it.
"""

from redis.asyncio import Redis

from voice_common import redis_keys as keys

from .errors import ApiError

PERIOD_MS = 60_000

# KEYS: one per limit. ARGV: the emission interval (ms) of each key, in the same order.
# Returns 0 when admitted, else the milliseconds until the most constrained key admits one.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = 60000
local wait, new_tats = 0, {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - period
  if allow_at > now then
    wait = math.max(wait, allow_at - now)
  end
  new_tats[i] = new_tat
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, new_tats[i], 'PX', math.ceil(new_tats[i] - now))
end
return 0
"""


class RateLimiter:
    def __init__(self, redis: Redis, per_user: int, per_ip: int) -> None:
        self._limits = {scope: n for scope, n in (("user", per_user), ("ip", per_ip)) if n > 0}
        self._script = redis.register_script(_GCRA)

    async def check(self, *, user_id: str, client_ip: str) -> None:
        """Count one request for the user and the IP; raise 429 if a limit refuses it."""
        if not self._limits:
            return
        subjects = {"user": user_id, "ip": client_ip}
        scopes = list(self._limits)
        wait_ms = await self._script(
            keys=[keys.rate_limit(scope, subjects[scope]) for scope in scopes],
            args=[PERIOD_MS // self._limits[scope] for scope in scopes],
        )
        if wait_ms:
            retry_after = max(1, -(-int(wait_ms) // 1000))
            raise ApiError(
                429,
                "rate_limited",
                f"Too many new sessions; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
