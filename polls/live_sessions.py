"""Live sessions: what a presenter does (go live, move between polls, lock, reveal, end),
and who may. The admin, the presenter's page and the commands all call these.

An action happens entirely or not at all: with the session's row and its polls' rows
locked it changes Postgres and records each poll's new admission state
(polls.openness: refusing states reach Redis before the commit, admitting ones after),
so a vote on a locked or former poll is refused at admission, never 202'd and dropped.
Voting windows (closed at the moment Redis closed the poll) are kept for the worker's
judgement of version-1 votes from a web pod of the release before.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from polls import openness, quiz, ratelimits
from polls.live import publisher
from polls.models import LiveSession, Poll, QnaBoard, SessionPoll, VotingWindow

logger = logging.getLogger(__name__)

CODE_DIGITS = 6  # a room's code; a public event's is longer (LiveSession.code_digits)
CODE_LENGTHS = frozenset(LiveSession.CodeDigits.values)
PERMISSION = "polls.present_livesession"


class SessionError(ValueError):
    """A presenter's request that cannot be carried out; the message says why."""


class JoinRefused(Exception):
    """Too many wrong codes from this address, its /64 or the whole site: try again in
    `retry_after` seconds (429, a socket closed with 4429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"join code lookups refused for {retry_after} s")
        self.retry_after = retry_after


def public_url(path: str) -> str:
    """What a phone in the room can open: PUBLIC_BASE_URL (servers bind loopback) + path."""
    return str(settings.PUBLIC_BASE_URL) + path


def may_present(user: Any, session: LiveSession) -> bool:
    """The owner, staff, and members of a group with the permission (Presenters)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.pk == session.owner_id or user.has_perm(PERMISSION))


def create_session(
    *, title: str, owner: Any, polls: Sequence[Poll], qna: bool = False
) -> LiveSession:
    """A draft session of these polls, in this order; with `qna`, a Q&A board too (the
    board's own settings: polls.qna.enable). A session of a board alone has no polls."""
    if not polls and not qna:
        raise SessionError(_("A session needs at least one poll or a Q&A board."))
    with transaction.atomic():
        session = LiveSession.objects.create(title=title.strip(), owner=owner)
        for position, poll in enumerate(polls):
            SessionPoll.objects.create(session=session, poll=poll, position=position)
        if qna:
            QnaBoard.objects.create(session=session)
    return session


def has_board(session: LiveSession) -> bool:
    return QnaBoard.objects.filter(session=session).exists()


def add_poll(session: LiveSession, poll: Poll) -> SessionPoll:
    """Append a poll to the session (after its last question). A live session's new poll
    opens as go_live opens them, and takes votes only once the presenter moves to it."""
    with transaction.atomic():
        held = _locked(session)
        last = held.entries.order_by("-position").values_list("position", flat=True).first()
        entry = SessionPoll.objects.create(
            session=held, poll=poll, position=0 if last is None else last + 1
        )
        if held.state == LiveSession.State.LIVE:
            Poll.objects.filter(pk=poll.pk).update(
                status=Poll.Status.OPEN, opens_at=None, closes_at=None, updated_at=timezone.now()
            )
            _apply(held)
            publisher.announce_rules_after_commit(poll.pk)
    return entry


def ordered_polls(session: LiveSession) -> list[Poll]:
    return [entry.poll for entry in session.entries.select_related("poll")]


def go_live(session: LiveSession) -> LiveSession:
    """Take the session live: a join code, its polls open, the first one current."""
    with transaction.atomic():
        locked = _locked(session)
        if locked.state == LiveSession.State.LIVE:
            return locked
        polls = ordered_polls(locked)
        if not polls and not has_board(locked):
            raise SessionError(_("A session needs at least one poll or a Q&A board."))
        busy = SessionPoll.objects.filter(
            poll__in=polls, session__state=LiveSession.State.LIVE
        ).exclude(session=locked)
        if busy.exists():
            raise SessionError(_("A poll of this session is in another live session already."))
        now = timezone.now()
        Poll.objects.filter(pk__in=[p.pk for p in polls]).update(
            status=Poll.Status.OPEN, opens_at=None, closes_at=None, updated_at=now
        )
        locked.state = LiveSession.State.LIVE
        locked.live_since = now
        locked.current_poll = polls[0] if polls else None  # a Q&A board alone: no poll
        locked.locked = locked.reveal = False
        locked.locked = bool(polls) and _waits_for_start(polls[0])
        locked.code = _free_code(locked.code_digits)
        _save(locked, ["state", "live_since", "current_poll", "locked", "reveal", "code"])
        _apply(locked)
        for poll in polls:
            publisher.announce_rules_after_commit(poll.pk)  # now open, as pages must show
    return locked


def move(session: LiveSession, *, to: Poll | None = None, step: int = 0) -> LiveSession:
    """Make another poll current (`to`, or `step` places on): voting open, results hidden."""
    with transaction.atomic():
        locked = _live(session)
        polls = ordered_polls(locked)
        if not polls:
            raise SessionError(_("This session has no polls: only its Q&A board."))
        if to is None:
            index = next(
                (i for i, p in enumerate(polls) if p.pk == locked.current_poll_id),
                -1 if step > 0 else len(polls),
            )
            index += step
            if not 0 <= index < len(polls):
                raise SessionError(
                    _("This is the last poll.") if step > 0 else _("This is the first poll.")
                )
            to = polls[index]
        elif to.pk not in {p.pk for p in polls}:
            raise SessionError(_("That poll is not part of this session."))
        locked.current_poll = to
        locked.locked = locked.reveal = False
        locked.locked = _waits_for_start(to)
        _save(locked, ["current_poll", "locked", "reveal"])
        _apply(locked)
    return locked


def _waits_for_start(poll: Poll) -> bool:
    """A quiz question comes locked: it opens when its presenter starts its countdown."""
    return quiz.settings_of(poll) is not None


def start(session: LiveSession) -> LiveSession:
    """Start the current quiz question's countdown: it admits answers for exactly its
    time limit from the moment Redis writes it open (polls.openness.start_countdown). A
    question is played once: its scores derive from that one countdown."""
    with transaction.atomic():
        held = _live(session)
        poll = held.current_poll
        settings = None if poll is None else quiz.settings_of(poll)
        if poll is None or settings is None:
            raise SessionError(_("The current question is not a quiz question."))
        if quiz.started(poll):
            raise SessionError(
                _("This question's countdown has run already: a quiz question is played once.")
            )
        openness.start_countdown(poll, settings.limit_ms)
        held.locked = held.reveal = False
        _save(held, ["locked", "reveal"])  # announced after the countdown's write
        _apply(held)
    return held


def reveal_skipped(session: LiveSession) -> bool:
    """Whether the current question is a played quiz question whose answer was never
    shown (moving on is allowed: the presenter is told)."""
    poll = session.current_poll
    return (
        poll is not None
        and quiz.settings_of(poll) is not None
        and quiz.started(poll)
        and not session.reveal
    )


def lock(session: LiveSession, *, locked: bool = True) -> LiveSession:
    """Close (or reopen) voting on the current poll. On a quiz question, locking ends its
    countdown early; unlocking one not started starts it, and a played one stays shut."""
    if not locked and session.current_poll is not None and _waits_for_start(session.current_poll):
        if not quiz.started(session.current_poll):
            return start(session)
        raise SessionError(_("This question's countdown has ended: it cannot be reopened."))
    with transaction.atomic():
        held = _live(session)
        held.locked = locked
        _save(held, ["locked"])
        _apply(held)
    return held


def reveal(session: LiveSession, *, shown: bool = True) -> LiveSession:
    """Show (or hide) the current poll's results on the audience's devices."""
    with transaction.atomic():
        held = _live(session)
        held.reveal = shown
        _save(held, ["reveal"])
    return held


def end(session: LiveSession) -> LiveSession:
    """End the session: its polls close (their results stay), its code is free again."""
    with transaction.atomic():
        held = _locked(session)
        if held.state != LiveSession.State.LIVE:
            raise SessionError(_("This session is not live."))
        polls = ordered_polls(held)
        now = timezone.now()
        Poll.objects.filter(pk__in=[p.pk for p in polls], status=Poll.Status.OPEN).update(
            status=Poll.Status.CLOSED, closes_at=now, updated_at=now
        )
        held.state = LiveSession.State.ENDED
        held.code = ""
        _save(held, ["state", "code"])
        polls = ordered_polls(held)  # as they are now: closed
        closed_at = openness.changed(polls)
        _close_windows(held, _from_redis(closed_at) if closed_at else now)
        for poll in polls:
            publisher.announce_rules_after_commit(poll.pk)
    return held


def new_code(session: LiveSession) -> LiveSession:
    """Give a live session another join code (the old one stops working)."""
    with transaction.atomic():
        held = _live(session)
        held.code = _free_code(held.code_digits)
        _save(held, ["code"])
    return held


def by_code(code: str) -> LiveSession | None:
    """The live session with this join code (spaces and dashes allowed), if any."""
    digits = digits_of(code)
    if len(digits) not in CODE_LENGTHS:
        return None
    return (
        LiveSession.objects.filter(state=LiveSession.State.LIVE, code=digits)
        .select_related("current_poll")
        .first()
    )


def join(code: str, *, address: str, join_pass: str | None = None) -> LiveSession | None:
    """by_code for a visitor (the join page, the audience's page and socket, an embed, the
    presenter's pages): a wrong code counts against its address's, /64's and the site's
    budgets, and once one is spent every lookup from there is refused (JoinRefused), a
    right code too, so answers stop telling codes apart. A browser holding the join pass of
    this very code (polls.ratelimits.join_pass: it reached the session before) is never
    refused: it proves it knew the code."""
    digits = digits_of(code)
    if len(digits) not in CODE_LENGTHS and not ratelimits.holds_join_pass(join_pass, digits):
        return None  # not a code: a typo of length, no guess at one, not counted
    if let_in(digits, address=address, join_pass=join_pass):
        return by_code(digits)
    session = by_code(digits)
    if session is None:
        ratelimits.join_missed(address)
    return session


def let_in(digits: str, *, address: str, join_pass: str | None) -> bool:
    """Whether this visitor holds the join pass of this code (never refused, nothing
    counted); JoinRefused when it does not and its address, its /64 or the whole site has
    spent its budget of wrong codes (join's rule, also for a page kept for the code)."""
    if ratelimits.holds_join_pass(join_pass, digits):
        return True
    wait = ratelimits.join_wait(address)
    if wait is not None:
        raise JoinRefused(wait)
    return False


def digits_of(code: str) -> str:
    """A join code as typed, its digits only (spaces, dashes and the like dropped)."""
    return "".join(ch for ch in code if ch.isascii() and ch.isdigit())


# --- Inside ----------------------------------------------------------------------------


def _locked(session: LiveSession) -> LiveSession:
    """The session's row locked, then its polls' (in one order, as every change of what
    is open locks them: polls.openness.reconcile waits for this action to finish)."""
    held = LiveSession.objects.select_for_update().get(pk=session.pk)
    list(
        Poll.objects.select_for_update()
        .filter(pk__in=SessionPoll.objects.filter(session=held).values("poll_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return held


def _live(session: LiveSession) -> LiveSession:
    held = _locked(session)
    if held.state != LiveSession.State.LIVE:
        raise SessionError(_("This session is not live."))
    return held


def _save(session: LiveSession, fields: list[str]) -> None:
    session.seq = F("seq") + 1
    session.save(update_fields=[*fields, "seq", "updated_at"])
    session.refresh_from_db(fields=["seq"])
    publisher.announce_session_after_commit(session.pk)


def _free_code(digits: int = CODE_DIGITS) -> str:
    """A code of `digits` digits no live session uses (the constraint decides a race: we try
    again)."""
    for _attempt in range(50):
        code = f"{secrets.randbelow(10**digits):0{digits}d}"
        if not LiveSession.objects.filter(state=LiveSession.State.LIVE, code=code).exists():
            return code
    raise IntegrityError("no free join code")  # a million codes: practically never


def _apply(session: LiveSession) -> None:
    """Make what is open, and the voting windows, say what the session now says.

    Refusing states reach Redis now and the windows close at Redis's moment; the current
    poll opens in Redis only once this is committed (polls.openness).
    """
    closed_at = openness.changed(ordered_polls(session))  # read again: as they are now
    at = _from_redis(closed_at) if closed_at is not None else timezone.now()
    _close_windows(session, at, keep=session.current_poll_id)
    current = session.current_poll_id
    if current is None or session.locked:
        return
    if not VotingWindow.objects.filter(session=session, poll_id=current, closed_at=None):
        VotingWindow.objects.create(session=session, poll_id=current, opened_at=timezone.now())


def _close_windows(session: LiveSession, at: datetime, keep: int | None = None) -> None:
    """Close the session's open windows at `at`, but the one of `keep` if it stays open."""
    open_windows = VotingWindow.objects.filter(session=session, closed_at=None)
    if keep is not None and not session.locked:
        open_windows = open_windows.filter(~Q(poll_id=keep))
    open_windows.update(closed_at=at)


def _from_redis(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


DEMO_TITLE = "The demo session"
DEMO_QUIZ_TITLE = "The demo quiz"


def seed_demo_session(*, polls: Sequence[Poll], owner: Any, title: str = DEMO_TITLE) -> LiveSession:
    """The demo's session of these polls, live; running it again changes nothing."""
    session = LiveSession.objects.filter(title=title).order_by("pk").first()
    if session is None:
        session = create_session(title=title, owner=owner, polls=polls)
    if session.state != LiveSession.State.LIVE:
        session = go_live(session)
    return session
