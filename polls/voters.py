"""Who the voter is: a logged-in user by account (on any device), anyone else by a signed,
HttpOnly cookie that the voting role gives on the first visit.

The results role reads the same cookie back on its WebSocket (the "after the voter has
voted" visibility rule), so every role must share one DJANGO_SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

# One salt for the writer (the middleware) and every reader.
VOTER_COOKIE_SALT = "polls.voter"


def voter_key_for(*, user_id: int | None, anonymous_id: str) -> str:
    """A logged-in user votes as that user, on any device; others by their cookie."""
    return f"user:{user_id}" if user_id is not None else f"anon:{anonymous_id}"


def voter_tag(voter_key: str) -> str:
    """A short stand-in for a voter key in messages that go to every results process (a
    quiz reveal's per-player results): 64 bits of its SHA-256, never the key itself."""
    return hashlib.sha256(voter_key.encode()).hexdigest()[:16]


def is_user_key(voter_key: str) -> bool:
    """Whether the voter was logged in (see voter_key_for)."""
    return voter_key.startswith("user:")


def signed_voter_cookie(anonymous_id: str) -> str:
    """The voter cookie's value for an id: what set_signed_cookie(name, id, salt) writes.

    Also what the tests and the benchmark send as a voter.
    """
    signer = signing.get_cookie_signer(salt=settings.VOTER_COOKIE_NAME + VOTER_COOKIE_SALT)
    return signer.sign(anonymous_id)


def voter_key_from_cookie(*, signed_cookie: str | None, user_id: int | None) -> str | None:
    """The voter key VoterMiddleware gave this visitor, from its signed cookie (WebSocket)."""
    if user_id is not None:
        return voter_key_for(user_id=user_id, anonymous_id="")
    if not signed_cookie:
        return None
    # Read exactly as VoterMiddleware does, through the public API (the signer's salt
    # scheme is Django's business and has changed between versions).
    request = HttpRequest()
    request.COOKIES[settings.VOTER_COOKIE_NAME] = signed_cookie
    anonymous_id = request.get_signed_cookie(
        settings.VOTER_COOKIE_NAME, default="", salt=VOTER_COOKIE_SALT
    )
    if not anonymous_id:
        return None
    return voter_key_for(user_id=None, anonymous_id=anonymous_id)


class LoginUnreadable(DatabaseError):
    """Raised by a view that needs to know who is logged in when VoterMiddleware could not
    read it (the store outage's 503)."""


class VoterMiddleware:
    """Sets `request.voter_key`, giving a new visitor its cookie.

    A log-in session Postgres cannot read (down, or hung past its deadline) leaves the
    voter unknown: `request.voter_key` is None, which the vote views refuse with 503 (never
    a vote under the cookie's identity instead), and `request.user` is anonymous, so pages
    that need no identity render as for anyone without asking Postgres again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A forged or tampered cookie fails the signature and the visitor gets a new id.
        cookie = request.get_signed_cookie(
            settings.VOTER_COOKIE_NAME, default="", salt=VOTER_COOKIE_SALT
        )
        is_new = not cookie
        anonymous_id: str = cookie or secrets.token_urlsafe(16)
        user = getattr(request, "user", None)
        try:
            user_id = user.pk if user is not None and user.is_authenticated else None
        except DatabaseError:  # not logged here: what it costs the request is (once)
            request.user = AnonymousUser()
            request.voter_key = None  # type: ignore[attr-defined]
        else:
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
