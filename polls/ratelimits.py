"""Rate limits on the vote endpoints, counted in Redis so every replica shares them.

RATELIMIT_ENABLE=0 (django-ratelimit's own setting) switches all of them off.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_ratelimit.core import get_usage

from votingsite.redis_client import redis_client

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For behind N trusted proxies.

    Only the entries our own proxies appended are trusted; anything to the left of them
    was written by the client and could be forged.
    """
    hops = settings.TRUSTED_PROXY_HOPS
    if hops > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return str(request.META.get("REMOTE_ADDR") or "0.0.0.0")  # noqa: S104 (a value, not a bind)


_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """django-ratelimit's rate format: "30/m", "1200/m", "5/h", "10/5m" -> (count, seconds)."""
    found = _RATE.match(rate.strip())
    if not found:
        raise ValueError(f"rate {rate!r} is not of the form N/[M](s|m|h|d)")
    count, multiple, unit = found.groups()
    return int(count), int(multiple or 1) * _UNIT_SECONDS[unit]


def vote_retry_after(request: HttpRequest) -> int | None:
    """Count this vote attempt; seconds to wait if the voter or address is over its limit.

    Fixed windows counted in Redis, both counters in one pipelined round trip. Votes are
    the hot path: django-ratelimit (used for the admin login) costs two round trips per
    counter (add, then incr).
    """
    if not settings.RATELIMIT_ENABLE:
        return None
    checks = (
        ("vote-voter", str(request.voter_key), settings.VOTE_RATE_PER_VOTER),  # type: ignore[attr-defined]
        ("vote-ip", client_ip(request), settings.VOTE_RATE_PER_IP),
    )
    now = int(time.time())
    pipe = redis_client().pipeline(transaction=False)
    windows = []
    for group, value, rate in checks:
        limit, period = parse_rate(rate)
        window_end = (now // period + 1) * period
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        key = f"rl:{group}:{period}:{window_end}:{digest}"
        pipe.incr(key)
        pipe.expire(key, period + 5)
        windows.append((limit, window_end))
    try:
        counts = pipe.execute()[0::2]
    except redis.RedisError as exc:  # Redis down: the vote cannot be queued either (-> 503)
        logger.warning("rate limit not checked: %r", exc)
        return None
    waits = [
        end - now for (limit, end), count in zip(windows, counts, strict=True) if count > limit
    ]
    return max(1, *waits) if waits else None


def _too_many(request: HttpRequest, retry_after: int, what: str = "votes") -> HttpResponse:
    message = f"Too many {what} from here; try again in {retry_after} seconds."
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": message}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(retry_after)
    return response


def vote_rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorates a vote view: over the limit, answer 429 with Retry-After instead."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        retry_after = vote_retry_after(request)
        if retry_after:
            return _too_many(request, retry_after)
        return view(request, *args, **kwargs)

    return wrapped


def admin_login_throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorates the admin login: too many attempts from one address get 429."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            usage = get_usage(request, group="admin-login", key="ip",
                              rate=settings.ADMIN_LOGIN_RATE, increment=True)  # fmt: skip
            if usage and usage["should_limit"]:
                return _too_many(request, max(int(usage["time_left"]), 1), "login attempts")
        return view(request, *args, **kwargs)

    return wrapped
