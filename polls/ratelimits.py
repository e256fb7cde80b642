"""Every rate rule of the site, and who a client is for them.

- Votes: per voter (VOTE_RATE_PER_VOTER) and per client address (VOTE_RATE_PER_IP, or
  VOTE_RATE_PER_IP_IN_SESSION for a poll a live session holds: a venue puts hundreds of
  phones behind one address), counted in Redis by polls.pipeline.admission in the same
  round trip that queues the vote (django-ratelimit would cost two round trips per
  counter on the hot path).
- Log-in (the admin's and the voters'): per client address (ADMIN_LOGIN_RATE) and per
  (account, address) (LOGIN_RATE_PER_ACCOUNT_ADDRESS), through django-ratelimit.
- Receipt checks: checks that find nothing (misses) per address block and per voter
  (RECEIPT_MISS_RATE_PER_ADDRESS, _PER_VOTER), counted in Redis by receipt_missed; past
  a budget every check from there is refused until the window ends (receipt_wait).
- Join codes: wrong codes (misses) per address, per IPv6 /64 and for the whole site
  (JOIN_MISS_RATE_PER_ADDRESS, _PER_NETWORK, _SITE), counted in Redis by join_missed;
  a right code never counts. Past a budget every lookup from there (the whole site's:
  every lookup without a join pass) is refused until the window ends (join_wait).

All counters live in Redis, so every replica shares them; RATELIMIT_ENABLE=0
(django-ratelimit's own setting) switches all of them off.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from votingsite.redis_client import redis_client

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """django-ratelimit's rate format: "30/m", "1200/m", "5/h", "10/5m" -> (count, seconds)."""
    found = _RATE.match(rate.strip())
    if not found:
        raise ValueError(f"rate {rate!r} is not of the form N/[M](s|m|h|d)")
    count, multiple, unit = found.groups()
    return int(count), int(multiple or 1) * _UNIT_SECONDS[unit]


@dataclass(frozen=True)
class Limit:
    """One counter a vote is counted against."""

    name: str  # what is counted: "voter" or "ip"
    value: str  # whose count
    rate: str  # e.g. "30/m"
    in_session: str = ""  # the rate instead while a live session holds the poll


def vote_limits(*, voter_key: str, client_ip: str = "") -> list[Limit]:
    """The limits one vote counts against: its voter's, and its address's when known."""
    limits = [Limit("voter", voter_key, settings.VOTE_RATE_PER_VOTER)]
    if client_ip:
        where = address_block(client_ip)
        limits.append(
            Limit("ip", where, settings.VOTE_RATE_PER_IP, settings.VOTE_RATE_PER_IP_IN_SESSION)
        )
    return limits


def qna_limits(*, asking: bool, voter_key: str, client_ip: str = "") -> list[Limit]:
    """The limits a Q&A action counts against: its voter's (questions per minute, or
    upvote actions per second), and its address's by the venue rule (a session's)."""
    rate = settings.QNA_QUESTION_RATE_PER_VOTER if asking else settings.QNA_UPVOTE_RATE_PER_VOTER
    what = "ask" if asking else "upvote"
    limits = [Limit(f"{what}-voter", voter_key, rate)]
    if client_ip:
        where = address_block(client_ip)
        limits.append(Limit(f"{what}-ip", where, settings.VOTE_RATE_PER_IP_IN_SESSION))
    return limits


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For behind N trusted proxies."""
    return client_address(
        str(request.META.get("REMOTE_ADDR") or ""), request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def client_address(remote: str, forwarded: str) -> str:
    """The peer's address, or the entry in X-Forwarded-For that our N trusted proxies
    (TRUSTED_PROXY_HOPS) appended: anything to the left of them was written by the client
    and could be forged. Also for WebSockets (results.guard)."""
    hops = settings.TRUSTED_PROXY_HOPS
    if hops > 0:
        entries = [a.strip() for a in forwarded.split(",") if a.strip()]
        if len(entries) >= hops:
            return entries[-hops]
    return remote or "0.0.0.0"  # noqa: S104 (a value, not a bind)


def scope_address(scope: dict[str, Any]) -> str:
    """A WebSocket's client address (an ASGI scope), as client_ip says for a request."""
    client = scope.get("client") or ("", 0)
    forwarded = next(
        (value.decode("latin-1") for name, value in scope.get("headers", [])
         if name == b"x-forwarded-for"),
        "",
    )  # fmt: skip
    return client_address(str(client[0] or ""), forwarded)


def address_block(address: str) -> str:
    """What a per-address limit counts: an IPv4 address, or the IPv6 network of
    VOTE_IPV6_PREFIX bits (/64) it is in: one subscriber gets a whole /64 to roam."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    return str(ipaddress.ip_network(f"{ip}/{settings.VOTE_IPV6_PREFIX}", strict=False))


def login_wait(request: HttpRequest) -> int | None:
    """Counts a log-in attempt (the admin's and the voters' log-in count together: the same
    accounts); the seconds to wait when its address is over ADMIN_LOGIN_RATE, or this
    account from this address over LOGIN_RATE_PER_ACCOUNT_ADDRESS. A slow-down per
    (account, address), never a lock on the account: anyone could lock a presenter out
    before a talk; from elsewhere the account logs in as ever."""
    waits = []
    for group, key, rate in (
        ("admin-login", "ip", settings.ADMIN_LOGIN_RATE),
        ("login-account", _account_at_address, settings.LOGIN_RATE_PER_ACCOUNT_ADDRESS),
    ):
        usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
        if usage and usage["should_limit"]:
            waits.append(max(int(usage["time_left"]), 1))
    return max(waits) if waits else None


def _account_at_address(_group: str, request: HttpRequest) -> str:
    username = str(request.POST.get("username", "")).strip().casefold()
    return f"{username}|{address_block(client_ip(request))}"


# --- Join codes ------------------------------------------------------------------------

JOIN_PASS_COOKIE = "join_pass"  # noqa: S105 (a cookie name)
_JOIN_PASS_SALT = "polls.join-pass"  # noqa: S105 (a salt, not a secret)
JOIN_PASS_MAX_AGE = 86400  # a day: longer than any session a phone stays in


def _join_counters(address: str) -> list[tuple[str, str]]:
    """(Redis key, rate) of each miss budget this address counts against."""
    counters = [(f"rl:join-miss:addr:{address}", settings.JOIN_MISS_RATE_PER_ADDRESS)]
    block = address_block(address)
    if block != address:  # IPv6: its /64 too (an IPv4 address is its own block)
        counters.append((f"rl:join-miss:net:{block}", settings.JOIN_MISS_RATE_PER_NETWORK))
    counters.append(("rl:join-miss:site", settings.JOIN_MISS_RATE_SITE))
    return counters


def join_wait(address: str) -> int | None:
    """The seconds this address must wait before looking up a join code: when it, its /64
    or the whole site has spent its budget of misses; else None. One round trip (MGET,
    PTTL only when over). Redis away: no wait (the lookup is not held up by counting)."""
    if not settings.RATELIMIT_ENABLE:
        return None
    counters = _join_counters(address)
    client = redis_client()
    try:
        counts = client.mget([key for key, _rate in counters])
        for (key, rate), count in zip(counters, counts, strict=True):
            if count is not None and int(count) >= parse_rate(rate)[0]:
                left = int(client.pttl(key))
                seconds = max((left + 999) // 1000, 1) if left > 0 else parse_rate(rate)[1]
                logger.warning(
                    "join code lookups refused for %s: %s misses on %s, %d s left",
                    address, int(count), key, seconds,
                )  # fmt: skip
                return seconds
    except redis.RedisError:
        logger.warning("join code budgets unreadable; lookup allowed", exc_info=True)
    return None


def join_missed(address: str) -> None:
    """Counts a wrong code from this address: its own, its /64's and the site's counters
    (fixed windows: each key lives for its rate's window from its first miss)."""
    if not settings.RATELIMIT_ENABLE:
        return
    pipe = redis_client().pipeline(transaction=False)
    for key, rate in _join_counters(address):
        pipe.set(key, 0, ex=parse_rate(rate)[1], nx=True)
        pipe.incr(key)
    try:
        pipe.execute()
    except redis.RedisError:
        logger.warning("join code miss not counted", exc_info=True)


# --- Receipt checks ---------------------------------------------------------------------


def _receipt_counters(address: str, voter_key: str | None) -> list[tuple[str, str]]:
    """(Redis key, rate) of each miss budget a receipt check counts against: its address
    block's and its voter's (hashed: a key names no voter). Each key lives for its rate's
    window."""
    counters = [
        (f"rl:receipt-miss:addr:{address_block(address)}", settings.RECEIPT_MISS_RATE_PER_ADDRESS)
    ]
    if voter_key:
        digest = hashlib.sha256(voter_key.encode()).hexdigest()[:32]
        counters.append((f"rl:receipt-miss:voter:{digest}", settings.RECEIPT_MISS_RATE_PER_VOTER))
    return counters


def receipt_wait(address: str, voter_key: str | None) -> int | None:
    """The seconds this client must wait before checking a receipt (its address or its
    voter has spent its misses), else None. Redis away: no wait."""
    if not settings.RATELIMIT_ENABLE:
        return None
    counters = _receipt_counters(address, voter_key)
    client = redis_client()
    try:
        counts = client.mget([key for key, _rate in counters])
        for (key, rate), count in zip(counters, counts, strict=True):
            if count is not None and int(count) >= parse_rate(rate)[0]:
                left = int(client.pttl(key))
                return max((left + 999) // 1000, 1) if left > 0 else parse_rate(rate)[1]
    except redis.RedisError:
        logger.warning("receipt check budgets unreadable; check allowed", exc_info=True)
    return None


def receipt_missed(address: str, voter_key: str | None) -> None:
    """Counts a receipt check that found nothing (fixed windows, as join_missed)."""
    if not settings.RATELIMIT_ENABLE:
        return
    pipe = redis_client().pipeline(transaction=False)
    for key, rate in _receipt_counters(address, voter_key):
        pipe.set(key, 0, ex=parse_rate(rate)[1], nx=True)
        pipe.incr(key)
    try:
        pipe.execute()
    except redis.RedisError:
        logger.warning("receipt check miss not counted", exc_info=True)


def join_pass(code: str) -> str:
    """A signed cookie value saying this browser reached the session of `code`: its page
    reloads and socket reconnects are never refused for others' misses."""
    return signing.dumps(code, salt=_JOIN_PASS_SALT)


def holds_join_pass(cookie: str | None, code: str) -> bool:
    if not cookie:
        return False
    try:
        return bool(signing.loads(cookie, salt=_JOIN_PASS_SALT, max_age=JOIN_PASS_MAX_AGE) == code)
    except signing.BadSignature:
        return False
