"""Reads: polls as voters, viewers and organisers see them, and the results snapshot.

Nothing here writes (votes: polls.pipeline; organisers: polls.organising).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from .models import Choice, Poll, Tally, Vote

logger = logging.getLogger(__name__)


# Per process: polls as the vote views see them. A plain dict, deliberately not Django's
# locmem cache, which unpickles a copy on every read (~0.1 ms of a vote's ~0.7 ms). The
# copies are shared by request threads, which only read them. Only polls that exist are
# held, so the dict is bounded by the polls table.
_held_polls: dict[str, tuple[float, Poll]] = {}


def _read_poll(slug: str) -> Poll | None:
    return Poll.objects.prefetch_related("choices").filter(slug=slug).first()


def _hold(slug: str, poll: Poll | None) -> None:
    if poll is None:
        _held_polls.pop(slug, None)  # deleted: an unknown slug is always looked up again
    else:
        _held_polls[slug] = (time.monotonic(), poll)


class _Refresher:
    """Reads stale poll copies again in a thread of its own, so that a voter's request
    never waits on Postgres for a poll this process already holds (a hung server would
    hold every vote otherwise). Failed reads are tried again after POLL_CACHE_SECONDS."""

    def __init__(self) -> None:
        self._wanted: set[str] = set()
        self._tried: dict[str, float] = {}
        self._cond = threading.Condition()
        self._owner_pid: int | None = None

    def ask(self, slug: str) -> None:
        with self._cond:
            if slug in self._wanted:
                return
            tried = self._tried.get(slug)
            if tried is not None and time.monotonic() - tried < settings.POLL_CACHE_SECONDS:
                return
            self._wanted.add(slug)
            if self._owner_pid != os.getpid():  # first use, or a forked child
                self._owner_pid = os.getpid()
                threading.Thread(target=self._run, name="poll-refresher", daemon=True).start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._wanted:
                    self._cond.wait()
                slug = self._wanted.pop()
                self._tried[slug] = time.monotonic()
            try:
                _hold(slug, _read_poll(slug))
            except Exception as exc:  # this thread must outlive any failure
                logger.warning("poll %r keeps its last copy: %r", slug, exc)
            finally:
                connection.close()  # a refresh every few seconds: not worth holding one open


_refresher = _Refresher()


def poll_for_voting(*, slug: str, fresh: bool = False) -> Poll:
    """The poll with its choices; Http404 for an unknown slug or a draft.

    Served from a per-process copy, so taking a vote reads no database: a copy older
    than POLL_CACHE_SECONDS is read again in the background while this request uses it,
    and while Postgres is down or hung the last copy keeps serving (the worker checks
    every vote against the stored poll again, so a stale copy cannot let a vote in).
    Only a poll this process has never held is read on the request's path. `fresh`
    reads the database first (a choice the copy does not know yet).
    """
    held = _held_polls.get(slug)
    poll: Poll | None
    if held is not None and not fresh:
        poll = held[1]
        if time.monotonic() - held[0] >= settings.POLL_CACHE_SECONDS:
            _refresher.ask(slug)
    else:
        try:
            poll = _read_poll(slug)
        except DatabaseError:
            if held is None:
                raise
            logger.warning("database unavailable; serving poll %r from its last copy", slug)
            poll = held[1]
        else:
            _hold(slug, poll)
    if poll is None or poll.status == Poll.Status.DRAFT:
        raise Http404("No such poll.")
    return poll


def forget_cached_poll(slug: str) -> None:
    _held_polls.pop(slug, None)


def polls_listed() -> QuerySet[Poll]:
    """Polls a visitor can find on the front page: open now, or scheduled."""
    now = timezone.now()
    return Poll.objects.exclude(status__in=[Poll.Status.DRAFT, Poll.Status.CLOSED]).exclude(
        closes_at__lte=now
    )


def current_choice_id(*, poll: Poll, voter_key: str) -> int | None:
    """The choice the worker has stored for this voter, if any (None while Postgres is down:
    the pages still let people vote)."""
    try:
        return (
            Vote.objects.filter(poll=poll, voter_key=voter_key)
            .values_list("choice_id", flat=True)
            .first()
        )
    except DatabaseError:
        logger.warning("database unavailable; not showing the stored vote")
        return None


def poll_by_slug(*, slug: str) -> Poll | None:
    """Any poll, drafts included (organisers' tools)."""
    return Poll.objects.filter(slug=slug).first()


def has_voted(*, poll: Poll, voter_key: str | None) -> bool:
    return voter_key is not None and current_choice_id(poll=poll, voter_key=voter_key) is not None


def results_visible(
    *, poll: Poll, voter_key: str | None, is_staff: bool, when: datetime | None = None
) -> bool:
    """Poll.results_visible_at, looking up whether the voter has voted only when it matters."""
    when = when or timezone.now()
    needs_vote = poll.results_visibility == Poll.ResultsVisibility.AFTER_VOTE and not is_staff
    voted = needs_vote and has_voted(poll=poll, voter_key=voter_key)
    return poll.results_visible_at(when, has_voted=voted, is_staff=is_staff)


def results_hidden_reason(poll: Poll) -> str:
    """What a viewer who may not see the results is told."""
    return {
        Poll.ResultsVisibility.AFTER_VOTE: "The results of this poll show once you have voted.",
        Poll.ResultsVisibility.AFTER_CLOSE: "The results of this poll show once it has closed.",
    }.get(poll.results_visibility, "The results of this poll are not public.")  # type: ignore[call-overload]


@dataclass(frozen=True)
class ResultRow:
    choice_id: int
    label: str
    votes: int
    percent: float


def percent(votes: int, total: int) -> float:
    return round(100 * votes / total, 1) if total else 0.0


def poll_results(*, poll: Poll) -> dict[str, Any]:
    """The results snapshot: totals of a poll with a `seq` that grows with every change.

    One SQL statement reads the tallies and the counter, so they are consistent: a
    snapshot with a higher seq never has older totals. Never a count of votes.
    """
    tallies = list(
        Tally.objects.filter(poll_id=poll.pk)
        .select_related("choice", "poll__counter")
        .order_by("choice__position", "choice_id")
    )
    counter = tallies[0].poll.counter if tallies else None
    return {
        "type": "results",
        "poll": poll.slug,
        "question": poll.question,
        "status": poll.state_at(timezone.now()),
        "total": counter.total if counter else 0,
        "seq": counter.seq if counter else 0,
        "choices": [
            {"id": t.choice_id, "label": t.choice.label, "votes": t.votes} for t in tallies
        ],
    }


def result_rows(snapshot: dict[str, Any]) -> list[ResultRow]:
    """A snapshot's choices with their percentages."""
    total = snapshot["total"]
    return [
        ResultRow(c["id"], c["label"], c["votes"], percent(c["votes"], total))
        for c in snapshot["choices"]
    ]


def tally_rows(*, poll: Poll) -> tuple[int, list[ResultRow]]:
    """The poll's total and its choices' votes with percentages, read from the tallies."""
    snapshot = poll_results(poll=poll)
    return snapshot["total"], result_rows(snapshot)


def votes_for_choice(*, choice: Choice) -> int:
    """How many stored votes are for the choice (0 exactly when none: safe to delete)."""
    if not Vote.objects.filter(choice_id=choice.pk).exists():
        return 0
    tally = Tally.objects.filter(choice_id=choice.pk).values_list("votes", flat=True).first()
    return tally or 1
