"""The audience's page as a new visitor gets it, kept in the cache (Redis) per join code
and language with the session's seq, so a room's joins render nothing and read no
Postgres (polls.session_views.audience; issue 42).

Kept only what is the same for every new visitor: the page is rendered for a visitor
with no cookies, its CSRF tokens the placeholder, and each visitor's own token is put in
as it is served (with_token). A visitor who may have anything of theirs on the page (a
ballot, a receipt, a message, a log-in, a question on the Q&A board) gets the page
rendered for them; one who has been here before with none of these (a voter cookie from
the join page) is served the kept page after a look at their ballot.

Keys, each with a TTL (Django's cache, prefixed `:1:`):
  audience:code:<code>            the session id the code reached
  audience:page:<session>:<lang>  Kept: the code, the session's seq, the page
  audience:seq:<session>          the seq the session's last change gave it
A change of the session (polls.signals: moved, locked, revealed, a new code, ended)
deletes its pages and writes its new seq: a page rendered from what was read before the
change, and kept after it, has an older seq and is not served. What a change of the
session does not bump (a poll's question edited, a Q&A board's questions, the results
shown) is at most PAGE_SECONDS old on a new visitor's first load; its socket brings the
newest at once."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache

from polls.live.parts import CSRF_PLACEHOLDER

logger = logging.getLogger(__name__)

PAGE_SECONDS = 10
# The seq outlives any page kept from a read before it.
_SEQ_SECONDS = 3 * PAGE_SECONDS
# How a token is written in an attribute ({% csrf_token %}, the page's #session-csrf): a
# question or a title that says the placeholder is escaped, never this.
_TOKEN_ATTRIBUTE = f'value="{CSRF_PLACEHOLDER}"'


@dataclass(frozen=True)
class Kept:
    code: str
    seq: int
    html: str
    # What a visitor who has been here before may have of their own on it: a ballot on
    # this poll (its slug; "" for none), questions or upvotes on an enabled Q&A board.
    poll_slug: str = ""
    qna: bool = False


def _code_key(code: str) -> str:
    return f"audience:code:{code}"


def _page_key(session_id: int, language: str) -> str:
    return f"audience:page:{session_id}:{language}"


def _seq_key(session_id: int) -> str:
    return f"audience:seq:{session_id}"


def kept(code: str, language: str) -> Kept | None:
    """The page kept for this code and language, if it is still the session's newest."""
    try:
        session_id = cache.get(_code_key(code))
        if session_id is None:
            return None
        found = cache.get_many([_page_key(session_id, language), _seq_key(session_id)])
    except redis.RedisError as exc:  # the page is rendered as before
        logger.warning("audience page cache unavailable: %r", exc)
        return None
    page = found.get(_page_key(session_id, language))
    newest = found.get(_seq_key(session_id), -1)
    if not isinstance(page, Kept) or page.code != code or page.seq < newest:
        return None
    return page


def keep(session_id: int, language: str, page: Kept) -> None:
    try:
        cache.set_many(
            {_code_key(page.code): session_id, _page_key(session_id, language): page},
            timeout=PAGE_SECONDS,
        )
    except redis.RedisError as exc:
        logger.warning("audience page cache unavailable: %r", exc)


def forget(session_id: int, seq: int | None) -> None:
    """The session changed (its seq is now `seq`): its kept pages are not served again.
    An old code's key stays until its TTL; its page no longer says that code."""
    try:
        cache.delete_many([_page_key(session_id, code) for code, _name in settings.LANGUAGES])
        if seq is not None:
            cache.set(_seq_key(session_id), seq, timeout=_SEQ_SECONDS)
    except redis.RedisError as exc:  # kept pages expire within PAGE_SECONDS
        logger.warning("audience page cache unavailable: %r", exc)


def with_token(html: str, token: str) -> str:
    """The kept page with this visitor's CSRF token (Django's masked token: letters and
    digits only) wherever the placeholder's attribute is."""
    return html.replace(_TOKEN_ATTRIBUTE, f'value="{token}"')
