"""The one way the services connect to Redis.

A restarted Redis leaves dead connections in a client's pool, and the first command on one fails
("Connection closed by server"). Every client therefore retries such a failure on a fresh
connection, briefly, so that the first requests after a restart succeed instead of failing.
"""

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def connect(url: str, *, timeout_seconds: float | None = None) -> Redis:
    """A client for `url` (strings decoded), retrying dead connections up to three times."""
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
