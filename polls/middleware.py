"""HTTP guards in front of the views: oversized bodies, stores that are down, log-ins; and
the Content-Security-Policy header on every answer."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as _DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from .ratelimits import login_wait
from .responses import error_response, is_store_outage, store_unavailable


class CSPMiddleware(_DjangoCSPMiddleware):
    """django-csp's middleware, with the site's policy built once instead of per answer.

    django-csp builds the header from CONTENT_SECURITY_POLICY on every response (~5% of a
    vote's CPU here). With no nonce and no per-view change (the decorators set
    `_csp_update`, `_csp_replace` or `_csp_config`), the header is the same every time:
    built once per process. Anything else goes through django-csp unchanged.
    """

    _PER_VIEW = tuple(
        f"_csp_{part}{ro}"
        for part in ("config", "update", "replace", "exempt")
        for ro in ("", "_ro")
    )

    @functools.cached_property
    def _site_policy(self) -> str:
        return build_policy()

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        plain = (
            getattr(request, "_csp_nonce", None) is None
            and not any(hasattr(response, name) for name in self._PER_VIEW)
            and not getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            and not settings.CONTENT_SECURITY_POLICY.get("EXCLUDE_URL_PREFIXES")
            and not settings.DEBUG
        )
        if not plain:
            return super().process_response(request, response)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self._site_policy
        request.csp_nonce = self._after_response  # type: ignore[attr-defined]
        return response

    @functools.cached_property
    def _after_response(self) -> Any:
        # As django-csp does: a nonce asked for once the header is out is an error.
        return CheckableLazyObject(self._csp_nonce_post_response)


class BodySizeLimitMiddleware:
    """Answers 413 before anything reads an oversized body (Django's own check says 400)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            # Before LocaleMiddleware: said in the site's default language.
            message = _("The request body is larger than %(limit)s bytes.") % {"limit": limit}
            return error_response(request, 413, message)
        return self.get_response(request)


class StoreUnavailableMiddleware:
    """A view that needs Postgres or Redis while it is down answers 503, not 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A middleware's failure never reaches here: handler500 (polls.views.server_error)
        # answers those the same way.
        if not is_store_outage(exception):
            return None
        return store_unavailable(request, exception)


def login_throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Decorates a log-in view (the admin's, the voters'): too many attempts from one
    address get 429."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST" and (wait := login_wait(request)) is not None:
            message = _("Too many login attempts from here; try again in %(seconds)s seconds.") % {
                "seconds": wait
            }
            return error_response(request, 429, message, retry_after=wait)
        return view(request, *args, **kwargs)

    return wrapped
