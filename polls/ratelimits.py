"""Rate limits on the vote endpoints, counted in Redis so every replica shares them.

Uses django-ratelimit's counters (RATELIMIT_ENABLE=0 switches all of them off).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_ratelimit.core import get_usage

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


def _voter(group: str, request: HttpRequest) -> str:
    return str(request.voter_key)  # type: ignore[attr-defined]


def vote_retry_after(request: HttpRequest) -> int | None:
    """Count this vote attempt; seconds to wait if the voter or address is over its limit."""
    limits = (
        ("vote-voter", _voter, settings.VOTE_RATE_PER_VOTER),
        ("vote-ip", "ip", settings.VOTE_RATE_PER_IP),
    )
    wait = 0
    for group, key, rate in limits:
        try:
            usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
        except Exception as exc:  # Redis down: the vote cannot be queued either (-> 503)
            logger.warning("rate limit not checked: %r", exc)
            return None
        if usage and usage["should_limit"]:
            wait = max(wait, int(usage["time_left"]), 1)
    return wait or None


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
