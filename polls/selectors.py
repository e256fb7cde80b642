"""Reads: polls as voters, viewers and organisers see them, and the results snapshot.

Nothing here writes (votes: polls.pipeline; organisers: polls.organising).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from . import kinds, text_entries
from .counting import chain as chain_encoding
from .models import Choice, LiveSession, Poll, Tally, Vote

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


@dataclass(frozen=True)
class ListedPoll:
    poll: Poll
    state: str  # open, scheduled or closed, now
    votes: int  # ballots stored


def polls_listed(*, now: datetime | None = None) -> dict[str, list[ListedPoll]]:
    """Polls a visitor can find on the front page, by state: open now (closing soonest
    first), scheduled (opening soonest first), and closed within the last
    INDEX_CLOSED_DAYS (most recently closed first), so their final results stay findable."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.INDEX_CLOSED_DAYS)
    rows = (
        Poll.objects.exclude(status=Poll.Status.DRAFT)
        .filter(Q(closes_at__isnull=True) | Q(closes_at__gte=since))
        .exclude(status=Poll.Status.CLOSED, closes_at__isnull=True)
        .select_related("counter")
    )
    listed: dict[str, list[ListedPoll]] = {"open": [], "scheduled": [], "closed": []}
    for poll in rows:
        counter = getattr(poll, "counter", None)
        state = poll.state_at(now)
        listed[state].append(ListedPoll(poll, state, counter.total if counter else 0))
    far = now + timedelta(days=36500)
    listed["open"].sort(key=lambda p: (p.poll.closes_at or far, p.poll.question))
    listed["scheduled"].sort(key=lambda p: (p.poll.opens_at or far, p.poll.question))
    listed["closed"].sort(key=lambda p: p.poll.closes_at or now, reverse=True)
    return listed


def current_ballot(*, poll: Poll, voter_key: str) -> tuple[Any, ...] | None:
    """The ballot the worker has stored for this voter, if any; raises DatabaseError when
    Postgres cannot say (a rule that depends on it must not guess)."""
    ballot = (
        Vote.objects.filter(poll=poll, voter_key=voter_key).values_list("ballot", flat=True).first()
    )
    if ballot is not None and kinds.kind_for(poll).stores_entries:  # a text ballot: its entries
        return text_entries.stored_ballots([(poll.pk, voter_key)]).get((poll.pk, voter_key), ())
    return None if ballot is None else tuple(ballot)


def stored_ballot(*, poll: Poll, voter_key: str) -> list[Any] | None:
    """For pages: the voter's stored ballot, None too while Postgres is down."""
    try:
        ballot = current_ballot(poll=poll, voter_key=voter_key)
    except DatabaseError:
        logger.warning("database unavailable; not showing the stored ballot")
        return None
    return None if ballot is None else list(ballot)


def ballot_rules(*, poll: Poll) -> dict[str, Any]:
    """What a ballot of this poll may say, beyond its choices (for the API and the pages)."""
    return kinds.rules(poll)


def poll_by_slug(*, slug: str) -> Poll | None:
    """Any poll, drafts included (organisers' tools)."""
    return Poll.objects.filter(slug=slug).first()


def has_voted(*, poll: Poll, voter_key: str | None) -> bool:
    """Whether the worker has stored a ballot of this voter's, of any kind (a ballot of the
    other kinds has no choice_id); False while Postgres is down."""
    if voter_key is None:
        return False
    try:
        return Vote.objects.filter(poll=poll, voter_key=voter_key).exists()
    except DatabaseError:
        logger.warning("database unavailable; taking the voter as not having voted")
        return False


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
    reasons = {
        Poll.ResultsVisibility.AFTER_VOTE: _("The results of this poll show once you have voted."),
        Poll.ResultsVisibility.AFTER_CLOSE: _("The results of this poll show once it has closed."),
    }
    return str(reasons.get(poll.results_visibility, _("The results of this poll are not public.")))  # type: ignore[call-overload]


@dataclass(frozen=True)
class ResultRow:
    choice_id: int
    label: str
    votes: int
    percent: float


with_shares = kinds.with_shares  # the one rounding rule, counting.shares


# Everything a snapshot needs, in one statement (one database snapshot): the counter, the
# choices with their tallies, and the ranking or value counts. Read separately, a later
# seq could come with older counts.
_SNAPSHOT_SQL = """
SELECT 'counter', NULL::bigint, NULL, NULL::integer, c.total, c.seq, NULL::bigint[]
  FROM polls_pollcounter c WHERE c.poll_id = %(poll)s
UNION ALL
SELECT 'choice', ch.id, ch.label, ch.position, t.votes, NULL, NULL
  FROM polls_choice ch JOIN polls_tally t ON t.choice_id = ch.id WHERE ch.poll_id = %(poll)s
UNION ALL
SELECT 'ranking', NULL, NULL, NULL, r.votes, NULL, r.ranking
  FROM polls_rankingcount r WHERE r.poll_id = %(poll)s AND r.votes > 0
UNION ALL
SELECT 'value', NULL, NULL, NULL, v.votes, v.value, NULL
  FROM polls_valuecount v WHERE v.poll_id = %(poll)s AND v.votes > 0
UNION ALL
SELECT 'seal', h.length, h.hash, NULL, NULL, NULL, NULL
  FROM polls_chainhead h WHERE h.poll_id = %(poll)s
"""


def poll_results(*, poll: Poll) -> dict[str, Any]:
    """The results snapshot: a poll's aggregates with a `seq` that grows with every change.

    One SQL statement reads them all, so they are consistent: a snapshot with a higher
    seq never has older counts. Never a count of ballots: the cost follows the choices
    (and, for ranked choice, the distinct rankings), not the voters.
    """
    total = seq = 0
    choices: list[tuple[int, int, str, int]] = []  # position, id, label, votes
    rankings: list[tuple[tuple[int, ...], int]] = []
    values: dict[int, int] = {}
    seal = (0, chain_encoding.genesis(poll.pk))  # the chain's length and head (polls.chain)
    with connection.cursor() as cursor:
        cursor.execute(_SNAPSHOT_SQL, {"poll": poll.pk})
        for part, choice_id, label, position, votes, extra, ranking in cursor.fetchall():
            if part == "seal":
                seal = (choice_id, label)
            elif part == "counter":
                total, seq = votes, extra
            elif part == "choice":
                choices.append((position, choice_id, label, votes))
            elif part == "ranking":
                rankings.append((tuple(ranking), votes))
            else:
                values[extra] = votes
    choices.sort()
    status = poll.state_at(timezone.now())
    snapshot: dict[str, Any] = {
        "type": "results",
        "poll": poll.slug,
        "question": poll.question,
        "status": status,
        "total": total,
        "seq": seq,
        # The sealed chain's head: final once the poll is closed (docs/verification.md).
        "seal": {"hash": seal[1], "batches": seal[0], "final": status == "closed"},
        "choices": with_shares(
            [{"id": cid, "label": label, "votes": votes} for _, cid, label, votes in choices],
            total,
        ),
    }
    kind = kinds.kind_for(poll)
    if kind.named_in_snapshot:
        snapshot["kind"] = poll.kind
    snapshot.update(kind.snapshot_part(poll, [cid for _, cid, _, _ in choices], rankings, values))
    kind.add_to_choices(snapshot["choices"], rankings)
    return snapshot


TEXT_PAGE_SIZE = text_entries.PAGE_SIZE


def text_terms(*, poll: Poll, page: int) -> list[dict[str, Any]]:
    """A text poll's terms beyond the snapshot: a page of them, most given first."""
    return text_entries.terms_page(poll.pk, page)


def text_entries_page(*, poll: Poll, before: int | None) -> list[dict[str, Any]]:
    """A text poll's shown entries, newest first, older than entry `before`."""
    return text_entries.entries_page(poll.pk, before)


def result_rows(snapshot: dict[str, Any]) -> list[ResultRow]:
    """A snapshot's choices with their shares (counting.shares: they add up to 100 where
    each ballot counts once)."""
    return [ResultRow(c["id"], c["label"], c["votes"], c["percent"]) for c in snapshot["choices"]]


def poll_description(poll: Poll) -> str:
    """A poll's one-line description for link previews (meta description, Open Graph)."""
    what = kinds.kind_for(poll).description(poll, [c.label for c in poll.choices.all()])
    state = poll.state
    if state == Poll.Status.CLOSED:
        return _("%(what)s. This poll has closed: see its final results.") % {"what": what}
    if state == "scheduled":
        return _("%(what)s. Voting opens soon.") % {"what": what}
    return _("%(what)s. Vote and watch the results live.") % {"what": what}


def final_results(
    *,
    poll: Poll,
    voter_key: str,
    is_staff: bool,
    read: Callable[..., dict[str, Any]] = poll_results,
) -> dict[str, Any] | None:
    """What a closed poll's page leads with: the total, each choice's votes and share, the
    winner (ranked) or the mean and median (scale); None when the viewer may not see them.
    `read` gives the snapshot (pages pass polls.snapshots.results: computed once)."""
    if not results_visible(poll=poll, voter_key=voter_key, is_staff=is_staff):
        return None
    snapshot = read(poll=poll)
    kind = kinds.kind_for(poll)
    one, many = kind.units
    final: dict[str, Any] = {
        "total": snapshot["total"],
        "unit": one if snapshot["total"] == 1 else many,
        "rows": result_rows(snapshot),
        **kind.final_summary(snapshot),
    }
    return final


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


def session_state(*, session: LiveSession) -> dict[str, Any]:
    """What the audience and the presenter see of a session: where it is and its flags."""
    entries = list(session.entries.select_related("poll"))
    current = next((e.poll for e in entries if e.poll_id == session.current_poll_id), None)
    position = next(
        (n for n, e in enumerate(entries, 1) if e.poll_id == session.current_poll_id), 0
    )
    poll: dict[str, Any] | None = None
    if current is not None and session.state == LiveSession.State.LIVE:
        # What the pages decide by; the ballot itself comes rendered by the server
        # (polls.live.ballots), so no page needs the choices or the rules.
        poll = {
            "slug": current.slug,
            "question": current.question,
            "kind": current.kind,
            "status": current.state,
            "login_required": current.login_required,
        }
    return {
        "type": "session",
        "title": session.title,
        "code": session.code,
        "state": session.state,
        "seq": session.seq,
        "locked": session.locked,
        "reveal": session.reveal,
        "position": position,
        "count": len(entries),
        "poll": poll,
    }
