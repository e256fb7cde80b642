"""Who a client is for rate limits, and the admin login throttle (django-ratelimit).

The vote limits themselves are counted in polls.admission, together with the vote's
ledger entry. All limits live in Redis, so every replica shares them;
RATELIMIT_ENABLE=0 (django-ratelimit's own setting) switches all of them off.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage

from .responses import error_response

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


def admin_login_throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorates the admin login: too many attempts from one address get 429."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            usage = get_usage(request, group="admin-login", key="ip",
                              rate=settings.ADMIN_LOGIN_RATE, increment=True)  # fmt: skip
            if usage and usage["should_limit"]:
                wait = max(int(usage["time_left"]), 1)
                message = f"Too many login attempts from here; try again in {wait} seconds."
                return error_response(request, 429, message, retry_after=wait)
        return view(request, *args, **kwargs)

    return wrapped
