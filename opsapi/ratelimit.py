"""A per-user request rate limit for the API, counted in Django's cache.

Each caller (a user, however authenticated: session or any of their API tokens) gets a budget of
requests per fixed window, e.g. ``GRAPHQL_RATE_LIMIT = "600/m"``. The counter of the current
window lives in the default cache: local memory (one count per server process) unless
``REDIS_URL`` is set, when every process shares one count in Redis.

A fixed window lets a caller spend up to twice the budget across a window boundary; that is
enough to stop a runaway script or a scraper, which is what this is for, and it costs one
atomic increment per request.

If the cache cannot be reached (Redis down), requests go on uncounted: the limit guards the
service against abuse, and refusing every request while Redis is away would be the greater harm.
"""

import logging
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import RedisError

logger = logging.getLogger("opsapi.ratelimit")

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_UNIT_NAMES = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


@dataclass(frozen=True)
class Rate:
    """``requests`` allowed per ``seconds``."""

    requests: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.requests} requests per {_UNIT_NAMES[self.seconds]}"


def parse_rate(text: str, setting: str = "GRAPHQL_RATE_LIMIT") -> Rate | None:
    """``"600/m"`` (also ``/s``, ``/h``, ``/d``) as a :class:`Rate`; empty or ``"0/..."`` turns
    the limit off (None). Anything else is a configuration error, reported at once."""
    if not text or not text.strip():
        return None
    match = _RATE.match(text)
    if match is None:
        raise ImproperlyConfigured(
            f"{setting} {text!r} is not a rate: write requests/unit, e.g. '600/m' "
            "(units s, m, h, d), or leave it empty for no limit."
        )
    requests = int(match.group(1))
    if requests == 0:
        return None
    return Rate(requests, _UNIT_SECONDS[match.group(2)[0].lower()])


def configured_rate() -> Rate | None:
    return parse_rate(settings.GRAPHQL_RATE_LIMIT)


_UNCOUNTED_LOG_INTERVAL = 60  # seconds between two warnings that requests go uncounted
_last_uncounted_warning = 0.0


def _warn_uncounted(error: Exception) -> None:
    global _last_uncounted_warning
    now = time.monotonic()
    if now - _last_uncounted_warning >= _UNCOUNTED_LOG_INTERVAL:
        _last_uncounted_warning = now
        logger.warning("Rate limit not enforced: the cache is unavailable (%r)", error)


def _count(key: str, ttl: int) -> int:
    """Add one to the counter ``key`` and return its new value, atomically.

    ``cache.add`` creates the counter only if it is missing (Redis ``SET NX``) and ``incr`` is
    atomic in both backends, so concurrent requests never lose a count. The counter outlives
    its window (``ttl``), so it cannot expire between the two calls while its window is
    current; if it did anyway (a cache eviction), it is simply created again.
    """
    for _ in range(3):
        cache.add(key, 0, timeout=ttl)
        try:
            return cache.incr(key)
        except ValueError:
            continue
    # The cache keeps evicting the key: count nothing rather than refuse the request.
    return 0


def retry_after(identity: str, rate: Rate, *, now: float | None = None) -> int | None:
    """Count one request by ``identity``; None while it is within ``rate``, else the seconds
    until its next window opens (at least 1)."""
    now = time.time() if now is None else now
    key, window = _window_key(identity, rate, now)
    try:
        count = _count(key, ttl=2 * rate.seconds)
    except (RedisError, OSError) as error:
        _warn_uncounted(error)
        return None
    if count <= rate.requests:
        return None
    return _seconds_left(window, rate, now)


def _window_key(identity: str, rate: Rate, now: float) -> tuple[str, int]:
    window = int(now // rate.seconds)
    return f"ratelimit:{identity}:{window}", window


def _seconds_left(window: int, rate: Rate, now: float) -> int:
    """Seconds until the window after ``window`` opens (at least 1)."""
    return max(1, math.ceil((window + 1) * rate.seconds - now))


def user_retry_after(user) -> tuple[Rate, int] | None:
    """For an authenticated ``user``: None if the request may go on, else (the rate, the
    seconds to wait)."""
    rate = configured_rate()
    if rate is None:
        return None
    wait = retry_after(f"user:{user.pk}", rate)
    return None if wait is None else (rate, wait)


def failed_authentication_rate() -> Rate | None:
    return parse_rate(settings.AUTH_FAILURE_RATE_LIMIT, "AUTH_FAILURE_RATE_LIMIT")


def address_retry_after(address: str) -> tuple[Rate, int] | None:
    """For a client ``address`` about to present a token: None if it may, else (the rate,
    the seconds to wait) because its failed authentications this window reached
    ``AUTH_FAILURE_RATE_LIMIT``. Looking does not count; :func:`count_failed_authentication`
    does. While an address is over the limit none of its tokens is even looked up, so a
    guesser learns nothing from a right guess either."""
    rate = failed_authentication_rate()
    if rate is None:
        return None
    now = time.time()
    key, window = _window_key(f"authfail:{address}", rate, now)
    try:
        count = cache.get(key, 0)
    except (RedisError, OSError) as error:
        _warn_uncounted(error)
        return None
    if count < rate.requests:
        return None
    return rate, _seconds_left(window, rate, now)


def count_failed_authentication(address: str) -> None:
    """Count one failed authentication (a malformed, invalid, expired or revoked token) by
    ``address``."""
    rate = failed_authentication_rate()
    if rate is not None:
        retry_after(f"authfail:{address}", rate)
