"""Gives every visitor a voter id in a signed, HttpOnly cookie on the first visit."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import redis
from django.conf import settings
from django.core import signing
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from .responses import error_response
from .services import voter_key_for

_SALT = "polls.voter"


def signed_voter_cookie(anonymous_id: str) -> str:
    """The voter cookie's value for an id: what set_signed_cookie(name, id, salt) writes.

    Also what the tests and the benchmark send as a voter.
    """
    return signing.get_cookie_signer(salt=settings.VOTER_COOKIE_NAME + _SALT).sign(anonymous_id)


logger = logging.getLogger(__name__)


class VoterMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A forged or tampered cookie fails the signature and the visitor gets a new id.
        cookie = request.get_signed_cookie(settings.VOTER_COOKIE_NAME, default="", salt=_SALT)
        is_new = not cookie
        anonymous_id: str = cookie or secrets.token_urlsafe(16)
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        request.voter_key = voter_key_for(user_id=user_id, anonymous_id=anonymous_id)  # type: ignore[attr-defined]
        response = self.get_response(request)
        if is_new:
            response.set_cookie(
                settings.VOTER_COOKIE_NAME,
                signed_voter_cookie(anonymous_id),
                max_age=settings.VOTER_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


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
            return error_response(request, 413, f"The request body is larger than {limit} bytes.")
        return self.get_response(request)


class StoreUnavailableMiddleware:
    """A view that needs Postgres or Redis while it is down answers 503, not 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DatabaseError | redis.RedisError):
            return None
        logger.warning("%s %s: store unavailable: %r", request.method, request.path, exception)
        message = "This is unavailable for a moment; please try again shortly."
        return error_response(request, 503, message, retry_after=5)
