"""What organisers do to polls: create, open, close, reset and recount them, and the demo.

The admin, the manage.py commands and the tests all call these; each change that viewers
must see bumps the poll's seq and is pushed to them once its transaction commits.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from polls import chain, kinds, text_entries
from polls.counting import chain as chain_events
from polls.live import publisher
from polls.models import (
    BallotImport,
    Choice,
    LiveSession,
    Poll,
    PollCounter,
    PollReset,
    RankingCount,
    SessionPoll,
    Tally,
    ValueCount,
    Vote,
)

logger = logging.getLogger(__name__)

DEMO_SLUG = "cats-vs-dogs"


# The demo: the classic poll, and one of each other kind, so a new user meets them all.
_DEMO_KINDS: list[dict[str, Any]] = [
    {
        "slug": "best-pizza-toppings",
        "question": "Which pizza toppings do you like? (pick up to three)",
        "kind": Poll.Kind.MULTIPLE,
        "labels": ["Cheese", "Mushrooms", "Pineapple", "Olives", "Basil"],
        "max_picks": 3,
    },
    {
        "slug": "best-city-to-visit",
        "question": "Rank these cities: where should we meet next year?",
        "kind": Poll.Kind.RANKED,
        "labels": ["Lisbon", "Kraków", "Montréal", "Osaka"],
    },
    {
        "slug": "how-was-the-talk",
        "question": "How likely are you to recommend this talk to a friend?",
        "kind": Poll.Kind.SCALE,
        "labels": [],
        "scale_min": 0,
        "scale_max": 10,
        "scale_min_label": "Not at all likely",
        "scale_max_label": "Extremely likely",
    },
]


def seed_demo_poll() -> tuple[Poll, bool]:
    """The classic demo poll, open, and a poll of each other kind; running it again
    changes nothing. Returns the classic poll."""
    with transaction.atomic():
        poll, created = Poll.objects.get_or_create(
            slug=DEMO_SLUG, defaults={"question": "Cats or dogs?", "status": Poll.Status.OPEN}
        )
        if created:
            for position, label in enumerate(["Cats", "Dogs"]):
                Choice.objects.create(poll=poll, label=label, position=position)
        for demo in _DEMO_KINDS:
            if not Poll.objects.filter(slug=demo["slug"]).exists():
                create_poll(open_now=True, **demo)
    return poll, created


def demo_polls() -> list[Poll]:
    """The demo's polls, the classic one first."""
    slugs = [DEMO_SLUG] + [demo["slug"] for demo in _DEMO_KINDS]
    found = Poll.objects.in_bulk(slugs, field_name="slug")
    return [found[slug] for slug in slugs if slug in found]


# The demo session's own polls: a session holds its polls (they take votes only while
# current), so it does not take the demo polls above, which people open on their own.
_DEMO_SESSION_POLLS: list[dict[str, Any]] = [
    {
        "slug": "session-warm-up",
        "question": "How did you get here today?",
        "labels": ["On foot", "By bike", "By train or bus", "By car"],
    },
    {
        "slug": "session-topics",
        "question": "Which topics should we cover next? (up to two)",
        "kind": Poll.Kind.MULTIPLE,
        "labels": ["Live results", "Ranked voting", "Kubernetes", "Accessibility"],
        "max_picks": 2,
    },
    {
        "slug": "session-rating",
        "question": "How useful was this session?",
        "kind": Poll.Kind.SCALE,
        "labels": [],
        "scale_min": 1,
        "scale_max": 5,
        "scale_min_label": "Not useful",
        "scale_max_label": "Very useful",
    },
    {
        "slug": "session-one-word",
        "question": "One word for today's session?",
        "kind": Poll.Kind.WORDCLOUD,
        "labels": [],
        "max_entries": 3,
        # Moderated (issue 34): words show at once, the filter's catches wait for approval.
        "options": {"moderation": "after", "filter_action": "hold"},
    },
]


# The demo quiz (issue 36): three quiz questions, 20 s each, in a session of their own.
_DEMO_QUIZ_POLLS: list[dict[str, Any]] = [
    {
        "slug": "quiz-capital",
        "question": "What is the capital of Australia?",
        "labels": ["Sydney", "Canberra", "Melbourne", "Perth"],
        "options": {"quiz_correct": "2", "quiz_seconds": 20},
    },
    {
        "slug": "quiz-planets",
        "question": "Which of these planets have rings? (pick all)",
        "kind": Poll.Kind.MULTIPLE,
        "labels": ["Saturn", "Mars", "Uranus", "Venus"],
        "options": {"quiz_correct": "1,3", "quiz_seconds": 20},
    },
    {
        "slug": "quiz-ocean",
        "question": "Which is the largest ocean?",
        "labels": ["Atlantic", "Indian", "Pacific"],
        "options": {"quiz_correct": "3", "quiz_seconds": 20, "quiz_points": 2000},
    },
]


def seed_demo_quiz_polls() -> list[Poll]:
    """The demo quiz's questions (made once), in order."""
    polls = []
    for spec in _DEMO_QUIZ_POLLS:
        poll = Poll.objects.filter(slug=spec["slug"]).first()
        polls.append(poll or create_poll(open_now=True, **spec))
    return polls


def seed_demo_session_polls() -> list[Poll]:
    """The demo session's polls (made once), in order."""
    polls = []
    for spec in _DEMO_SESSION_POLLS:
        poll = Poll.objects.filter(slug=spec["slug"]).first()
        polls.append(poll or create_poll(open_now=True, **spec))
    return polls


def duplicate_session(session: LiveSession, *, owner: Any) -> LiveSession:
    """A draft copy of the session for a talk given again: the same questions in the same
    order, as new polls of their own (copy_poll), so each room's votes and results stay
    apart. Goes live like any session (polls.live_sessions.go_live)."""
    with transaction.atomic():
        copy = LiveSession.objects.create(
            title=_("%(title)s (copy)") % {"title": session.title}, owner=owner
        )
        for position, entry in enumerate(session.entries.select_related("poll")):
            SessionPoll.objects.create(session=copy, poll=copy_poll(entry.poll), position=position)
    return copy


class PollSetupError(ValueError):
    """An organiser's request that cannot be carried out; the message says why."""


def create_poll(
    *,
    slug: str,
    question: str,
    labels: Sequence[str],
    open_now: bool = False,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    results_visibility: str = Poll.ResultsVisibility.ALWAYS,
    allow_vote_change: bool = True,
    login_required: bool = False,
    kind: str = kinds.DEFAULT_KIND,
    options: dict[str, Any] | None = None,
    ballot_secrecy: str = Poll.BallotSecrecy.SECRET,
    **kind_options: Any,
) -> Poll:
    """A poll with its choices in the given order (a rating scale has none); draft unless
    open_now. The kind's options come as `options` or by name (max_picks=3); an option
    given as None or "" takes the kind's default."""
    labels = [label.strip() for label in labels]
    poll = Poll(
        slug=slug,
        question=question.strip(),
        status=Poll.Status.OPEN if open_now else Poll.Status.DRAFT,
        opens_at=opens_at,
        closes_at=closes_at,
        results_visibility=results_visibility,
        allow_vote_change=allow_vote_change,
        login_required=login_required,
        ballot_secrecy=ballot_secrecy,
        kind=kind,
        options={
            name: value
            for name, value in {**(options or {}), **kind_options}.items()
            if value is not None and value != ""
        },
    )
    check_poll(poll, labels)
    poll.options = kinds.kind_for(poll).settled_options(poll.options, {})
    with transaction.atomic():
        poll.save()
        for position, label in enumerate(labels):
            choice = Choice(poll=poll, label=label, position=position)
            _validate(choice, exclude=["poll"])
            choice.save()
    return poll


def check_poll(poll: Poll, labels: Sequence[str]) -> None:
    """Raise PollSetupError saying why this poll (not saved yet) with these choices cannot
    work: what create_poll refuses, checked before anything is written."""
    kind = kinds.kind_for(poll)
    if kind.has_choices and len(labels) < 2:
        raise PollSetupError(_("A poll needs at least two choices."))
    if len(set(labels)) != len(labels):
        raise PollSetupError(_("Each choice must have a different label."))
    _validate(poll)
    if problems := kind.option_problems(poll.options):
        raise PollSetupError("; ".join(f"{name}: {text}" for name, text in problems.items()))
    problem = kind_options_problem(poll, len(labels))
    if problem:
        raise PollSetupError(problem)


def question_problem(poll: Poll) -> str:
    """Why a saved poll cannot be asked as it is ("" when it can): too few choices for its
    kind, or options its choices cannot meet."""
    choices = poll.choices.count()
    if kinds.kind_for(poll).has_choices and choices < 2:
        return _("“%(question)s” has %(count)s choice(s): a question needs at least two.") % {
            "question": poll.question,
            "count": choices,
        }
    return kind_options_problem(poll, choices)


def kind_options_problem(poll: Poll, choices: int) -> str:
    """What is wrong with the kind's options for this many choices ("" when nothing), in
    the organiser's words and language, with the way out."""
    return kinds.kind_for(poll).choices_problem(poll, choices)


def new_slug(question: str) -> str:
    """A free slug made from the question (its web address: /polls/<slug>/)."""
    base = (slugify(question)[:70].strip("-")) or "question"
    slug, n = base, 1
    while Poll.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def copy_poll(poll: Poll) -> Poll:
    """A draft poll asking the same question with the same choices, options and rules, and
    none of its votes (a talk given twice counts each room apart)."""
    return create_poll(
        slug=new_slug(poll.question),
        question=poll.question,
        labels=[choice.label for choice in poll.choices.all()],
        results_visibility=poll.results_visibility,
        allow_vote_change=poll.allow_vote_change,
        login_required=poll.login_required,
        kind=poll.kind,
        options=_copied_options(poll),
    )


def _copied_options(poll: Poll) -> dict[str, Any]:
    """A copy's options: the same, but what the kind settles for each poll (a lot's seed)
    is the copy's own."""
    fixed = {option.name for option in kinds.kind_for(poll).options if option.fixed}
    return {name: value for name, value in poll.options.items() if name not in fixed}


def kind_change_problem(poll: Poll) -> str:
    """Why the poll's kind cannot change now ("" when it can): its ballots would not fit."""
    if poll.pk is None:
        return ""
    stored = Poll.objects.filter(pk=poll.pk).values_list("kind", flat=True).first()
    if stored is not None and stored != poll.kind and Vote.objects.filter(poll_id=poll.pk).exists():
        return (
            "This poll has ballots, which would not fit another kind of question: "
            "reset its votes first, or create a new poll."
        )
    return ""


def _validate(instance: Poll | Choice, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        problems = "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in exc.message_dict.items()
        )
        raise PollSetupError(problems) from None


def open_poll(poll: Poll, *, now: datetime | None = None) -> Poll:
    """Open now: status open, a future opens_at moved to now, a past closes_at cleared."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Poll.objects.select_for_update().get(pk=poll.pk)
        locked.status = Poll.Status.OPEN
        if locked.opens_at is not None and locked.opens_at > now:
            locked.opens_at = now
        if locked.closes_at is not None and locked.closes_at <= now:
            locked.closes_at = None
        locked.save(update_fields=["status", "opens_at", "closes_at", "updated_at"])
        _bump_seq(locked.pk)
    return locked


def close_poll(poll: Poll) -> Poll:
    """Close now (Poll.save stamps closes_at); votes cast before this moment still count."""
    with transaction.atomic():
        locked = Poll.objects.select_for_update().get(pk=poll.pk)
        if locked.status == Poll.Status.DRAFT:
            raise PollSetupError(f"Poll '{locked.slug}' is a draft: it never opened.")
        locked.status = Poll.Status.CLOSED
        locked.save(update_fields=["status", "closes_at", "updated_at"])
        _bump_seq(locked.pk)
    return locked


def _bump_seq(poll_id: int) -> None:
    """Viewers take only newer snapshots: a change they must see gets a new seq."""
    PollCounter.objects.filter(poll_id=poll_id).update(seq=F("seq") + 1)
    publisher.announce_after_commit([poll_id])


def change_rules(poll: Poll, changes: dict[str, Any], *, by: Any = None) -> Poll:
    """Change the options that decide how the stored ballots are counted (a ranked poll's
    tie rule, batch elimination, until two remain), votes or not: the count is computed
    again from the aggregates. What the kind fixes (the lot's seed) stays as it is."""
    with transaction.atomic():
        locked = Poll.objects.select_for_update().get(pk=poll.pk)
        kind = kinds.kind_for(locked)
        settable = {o.name for o in kind.options if not o.fixed} & set(kind.count_rules({}))
        if unknown := sorted(set(changes) - settable):
            raise PollSetupError(
                f"Not a rule of a {locked.get_kind_display().lower()} poll: {', '.join(unknown)}."
            )
        options = {**locked.options, **changes}
        options = {name: value for name, value in options.items() if value not in (None, "")}
        if problems := kind.option_problems(options):
            raise PollSetupError("; ".join(f"{name}: {text}" for name, text in problems.items()))
        before = dict(locked.options)
        locked.options = kind.settled_options(options, before)
        locked.save(update_fields=["options", "updated_at"])
        record_rules_change(locked, before, locked.options, by=by)
    return locked


def record_rules_change(
    poll: Poll, before: dict[str, Any], after: dict[str, Any], *, by: Any = None
) -> bool:
    """Put a change of the count's rules on record, and have every reader count again: the
    one place a rules change passes (the admin's form, change_rules, an import), so the
    sealed chain records it here (and a quiz's corrected answer key). Returns whether the
    count rules changed."""
    kind = kinds.kind_for(poll)
    _chain_answer_key(poll, before, after)
    old, new = kind.count_rules(before), kind.count_rules(after)
    if old == new:
        return False
    chain.record_organiser_event(
        poll, chain_events.RULES_CHANGED, {"before": old, "after": new, "by": _who(by)}
    )
    votes = PollCounter.objects.filter(poll_id=poll.pk).values_list("total", flat=True).first()
    logger.warning(
        "poll %s (%s): count rules changed by %s with %s ballots counted: %s -> %s",
        poll.pk,
        poll.slug,
        by or "a command",
        votes or 0,
        old,
        new,
    )
    _bump_seq(poll.pk)  # a new snapshot, newer than any computed under the old rules
    return True


_QUIZ_KEY = ("quiz_correct", "quiz_points", "quiz_seconds")


def _chain_answer_key(poll: Poll, before: dict[str, Any], after: dict[str, Any]) -> None:
    """A quiz question's answer key (or its points, its time) changed: every score is
    computed again, so the chain records it."""
    old = {name: before.get(name) for name in _QUIZ_KEY if before.get(name) is not None}
    new = {name: after.get(name) for name in _QUIZ_KEY if after.get(name) is not None}
    if old != new and (old.get("quiz_correct") or new.get("quiz_correct")):
        chain.record_organiser_event(poll, chain_events.ANSWER_KEY, {"before": old, "after": new})


def _who(by: Any) -> str:
    """Who did it, as the chain names them: a username, or "a command"."""
    return str(getattr(by, "username", "") or "a command")


def reset_votes(poll: Poll, *, by: Any = None) -> PollReset:
    """Remove every vote of the poll (a text poll's entries too, and its imported ballots
    withdrawn) and zero its aggregates; on record as a PollReset.

    Locks in the worker's order (votes, tallies, rankings, values, entries, counter) so neither
    waits on the other in a cycle. A vote the worker stores after the reset counts
    normally, so the aggregates stay equal to the Vote rows.
    """
    with transaction.atomic():
        removed = len(_lock_poll_rows(poll.pk).ballots)
        imports = BallotImport.objects.filter(poll_id=poll.pk, withdrawn_at=None)
        removed += sum(imports.values_list("counted", flat=True))
        imports.update(withdrawn_at=timezone.now())  # the record stays, withdrawn
        Vote.objects.filter(poll_id=poll.pk).delete()
        Tally.objects.filter(poll_id=poll.pk).update(votes=0)
        RankingCount.objects.filter(poll_id=poll.pk).update(votes=0)
        ValueCount.objects.filter(poll_id=poll.pk).update(votes=0)
        entries = text_entries.remove_all(poll.pk)  # a text poll's entries and their counts
        PollCounter.objects.filter(poll_id=poll.pk).update(total=0, seq=F("seq") + 1)
        record = PollReset.objects.create(
            poll_id=poll.pk, reset_by=by, votes_removed=removed, entries_removed=entries
        )
        chain.append(
            {
                poll.pk: [
                    chain_events.organiser(
                        chain_events.RESET,
                        {"votes_removed": removed, "entries_removed": entries, "by": _who(by)},
                    )
                ]
            }
        )
        publisher.announce_after_commit([poll.pk])
    logger.info("poll %s reset by %s: %d votes, %d entries removed", poll.pk, by, removed, entries)
    return record


def clear_entries(poll: Poll, *, by: Any = None) -> PollReset:
    """Clear a text poll's entries (a word cloud's words, open answers) and the ballots
    they make up, on record as a PollReset with the entries removed: its voters may answer
    again. A poll of another kind has no entries to clear (PollSetupError)."""
    if not kinds.kind_for(poll).stores_entries:
        raise PollSetupError(
            f"Poll '{poll.slug}' is {poll.get_kind_display().lower()}: it has no entries to "
            "clear (reset its votes instead)."
        )
    return reset_votes(poll, by=by)


@dataclass(frozen=True)
class _Locked:
    ballots: list[tuple[int, ...]]
    tallies: dict[int, int]
    rankings: dict[tuple[int, ...], int]
    values: dict[int, int]
    counter: PollCounter


def lock_poll_rows(poll_id: int) -> _Locked:
    """The poll's ballots and aggregates, locked in the worker's order (an import writes
    aggregates as the worker does)."""
    return _lock_poll_rows(poll_id)


def _lock_poll_rows(poll_id: int) -> _Locked:
    """Lock the poll's vote, tally, ranking, value, entry and counter rows, in that order
    (the worker's order), and return what they hold."""
    ballots = [
        tuple(ballot) if ballot else (choice_id,)
        for ballot, choice_id in Vote.objects.select_for_update()
        .filter(poll_id=poll_id)
        .order_by("voter_key")
        .values_list("ballot", "choice_id")
    ]
    tallies = dict(
        Tally.objects.select_for_update()
        .filter(poll_id=poll_id)
        .order_by("choice_id")
        .values_list("choice_id", "votes")
    )
    rankings = {
        tuple(ranking): votes
        for ranking, votes in RankingCount.objects.select_for_update()
        .filter(poll_id=poll_id)
        .order_by("ranking")
        .values_list("ranking", "votes")
    }
    values = dict(
        ValueCount.objects.select_for_update()
        .filter(poll_id=poll_id)
        .order_by("value")
        .values_list("value", "votes")
    )
    text_entries.lock(poll_id)  # a text poll's entries and counts
    counter, _ = PollCounter.objects.select_for_update().get_or_create(poll_id=poll_id)
    return _Locked(ballots, tallies, rankings, values, counter)


@dataclass(frozen=True)
class TallyDifference:
    """One aggregate that differs: a choice's tally, a ranking's or a value's count; a text
    poll's term, spelling or total (or the spelling a term shows: text)."""

    choice_id: int | None
    label: str
    stored: int | str
    counted: int | str


@dataclass(frozen=True)
class RecountReport:
    """Stored aggregates against a count of the Vote rows, for one poll."""

    poll: Poll
    differences: list[TallyDifference]
    stored_total: int
    counted_total: int
    fixed: bool

    @property
    def matches(self) -> bool:
        return not self.differences and self.stored_total == self.counted_total


def _count_imported(poll: Poll, tallies: Counter[int], rankings: Counter[tuple[int, ...]]) -> int:
    """Add the organiser's imported ballots (BallotImport's profile) beside the voters';
    how many there were."""
    imported = 0
    for profile in BallotImport.objects.filter(poll_id=poll.pk, withdrawn_at=None).values_list(
        "profile", flat=True
    ):
        for ranking, count in profile:
            where = kinds.kind_for(poll).counted(tuple(ranking))
            for choice_id in where.tallies:
                tallies[choice_id] += count
            if where.ranking is not None:
                rankings[where.ranking] += count
            imported += count
    return imported


def recount_poll(poll: Poll, *, check: bool = False) -> RecountReport:
    """Recompute the aggregates from the Vote rows and the ballots imported (BallotImport's
    profile); with check=True only report differences."""
    with transaction.atomic():
        locked = _lock_poll_rows(poll.pk)
        tallies: Counter[int] = Counter()
        rankings: Counter[tuple[int, ...]] = Counter()
        values: Counter[int] = Counter()
        for ballot in locked.ballots:
            where = kinds.kind_for(poll).counted(ballot)
            tallies.update(where.tallies)
            if where.ranking is not None:
                rankings[where.ranking] += 1
            if where.value is not None:
                values[where.value] += 1
        imported = _count_imported(poll, tallies, rankings)
        labels = dict(Choice.objects.filter(poll_id=poll.pk).values_list("id", "label"))
        differences = [
            TallyDifference(cid, labels.get(cid, "?"), stored, counted)
            for cid, stored, counted in _differing(locked.tallies, tallies)
        ]
        differences += [
            TallyDifference(None, "ranking " + " > ".join(labels.get(c, "?") for c in key), s, n)
            for key, s, n in _differing(locked.rankings, rankings)
        ]
        differences += [
            TallyDifference(None, f"value {key}", s, n)
            for key, s, n in _differing(locked.values, values)
        ]
        texts = kinds.kind_for(poll).stores_entries
        if texts:  # a text poll's counts against its entries
            differences += [
                TallyDifference(None, d.what, d.stored, d.counted)
                for d in text_entries.recount(poll.pk)
            ]
        total = len(locked.ballots) + imported
        report = RecountReport(poll, differences, locked.counter.total, total, fixed=False)
        if check:
            return report
        # The stored ballots are the recount's truth: the chain says them again, on record.
        sealing = chain.sealing_events(
            poll, chain_ballots(poll), stores_entries=kinds.kind_for(poll).stores_entries
        )
        if report.matches:
            if sealing:
                _chain_recount(poll, [], sealing)
            return report
        report = dataclasses.replace(report, fixed=True)
        for cid, _, counted in _differing(locked.tallies, tallies):
            Tally.objects.update_or_create(
                choice_id=cid, defaults={"poll_id": poll.pk, "votes": counted}
            )
        for ranking, _, counted in _differing(locked.rankings, rankings):
            RankingCount.objects.update_or_create(
                poll_id=poll.pk, ranking=list(ranking), defaults={"votes": counted}
            )
        for value, _, counted in _differing(locked.values, values):
            ValueCount.objects.update_or_create(
                poll_id=poll.pk, value=value, defaults={"votes": counted}
            )
        if texts:
            text_entries.recount(poll.pk, fix=True)
        PollCounter.objects.filter(poll_id=poll.pk).update(total=total, seq=F("seq") + 1)
        fixed = [[d.label, d.stored, d.counted] for d in differences]
        fixed.append(["total", locked.counter.total, total])
        _chain_recount(poll, fixed, sealing)
        publisher.announce_after_commit([poll.pk])
    logger.warning("poll %s recounted: %d aggregates fixed", poll.pk, len(differences))
    return report


def _chain_recount(poll: Poll, fixed: list[list[Any]], sealing: list[dict[str, Any]]) -> None:
    """A recount's fix on the chain: what it fixed, then the ballots it sealed again."""
    counted = sum(1 for event in sealing if event["type"] == chain_events.COUNTED)
    chain.append(
        {
            poll.pk: [
                chain_events.organiser(
                    chain_events.RECOUNTED, {"fixed": fixed, "ballots_sealed": counted}
                ),
                *sealing,
            ]
        }
    )


def chain_ballots(poll: Poll) -> dict[str, tuple[Any, str, str]]:
    """The poll's stored ballots as its chain holds them: vote id -> (ballot, receipt,
    nonce); a text poll's from its entries."""
    texts: dict[str, tuple[Any, ...]] = {}
    if kinds.kind_for(poll).stores_entries:
        voters = Vote.objects.filter(poll_id=poll.pk).values_list("voter_key", flat=True)
        found = text_entries.stored_ballots((poll.pk, voter) for voter in voters)
        texts = {voter: ballot for (_, voter), ballot in found.items()}
    return chain.stored_ballots(poll, texts)


def chain_problems(poll: Poll) -> list[str]:
    """What does not fit between the poll's chain and its stored ballots, in words
    (`recount --check`); `recount` seals the stored ballots again, on record."""
    return chain.check(poll, chain_ballots(poll))


K = TypeVar("K")


def _differing(stored: dict[K, int], counted: Counter[K]) -> list[tuple[K, int, int]]:
    """(key, stored, counted) wherever they differ; a missing row counts as 0."""
    keys = sorted(set(stored) | set(counted))  # type: ignore[type-var]
    return [(k, stored.get(k, 0), counted[k]) for k in keys if stored.get(k, 0) != counted[k]]


# --- Voter accounts -----------------------------------------------------------------

VOTER_COLUMNS = ("username", "password")  # required; email, first_name, last_name optional
_OPTIONAL_COLUMNS = ("email", "first_name", "last_name")


class VoterImportError(ValueError):
    """A voters file that cannot be imported; `problems` lists each, by line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class VoterImport:
    created: list[str]
    updated: list[str]
    skipped: list[str]  # existing accounts left as they are (without update)


def import_voters(
    rows: Sequence[dict[str, str]], *, columns: Sequence[str], update: bool = False
) -> VoterImport:
    """Creates voter accounts (never staff) from rows of a CSV with a header line: all of
    them or, when any row has a problem, none (VoterImportError lists every problem, by
    line). Passwords pass the site's password validators and are stored hashed by
    Django's default hasher (PBKDF2), never in clear. An existing username is left alone,
    or with `update` gets the row's password and names (a staff account never)."""
    _check_columns(columns)
    if not rows:
        raise VoterImportError(["the file has a header but no voters"])
    names = [(r.get("username") or "").strip() for r in rows]
    existing = {u.username.lower(): u for u in get_user_model().objects.filter(username__in=names)}
    seen: dict[str, int] = {}
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        problem = _voter_problem(row, existing, seen, line)
        if problem:
            problems.append(f"line {line}: {problem}")
    if problems:
        raise VoterImportError(problems)
    created, updated, skipped = [], [], []
    with transaction.atomic():
        for row in rows:
            name = row["username"].strip()
            extra = {c: (row.get(c) or "").strip() for c in _OPTIONAL_COLUMNS}
            user = existing.get(name.lower())
            if user is None:
                get_user_model().objects.create_user(name, password=row["password"], **extra)
                created.append(name)
            elif update:
                user.set_password(row["password"])
                for column, value in extra.items():
                    if value:
                        setattr(user, column, value)
                user.save()
                updated.append(name)
            else:
                skipped.append(name)
    return VoterImport(created, updated, skipped)


def _check_columns(columns: Sequence[str]) -> None:
    missing = [c for c in VOTER_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in (*VOTER_COLUMNS, *_OPTIONAL_COLUMNS)]
    if missing or unknown:
        problems = [f"line 1: the header lacks the column {c!r}" for c in missing]
        problems += [f"line 1: unknown column {c!r}" for c in unknown]
        problems.append(
            "line 1: the header must be username,password (optionally email,first_name,last_name)"
        )
        raise VoterImportError(problems)


def _voter_problem(
    row: dict[str, str], existing: dict[str, Any], seen: dict[str, int], line: int
) -> str:
    """What is wrong with one row of a voters file ('' for nothing)."""
    name = (row.get("username") or "").strip()
    if not name:
        return "the username is empty"
    if name.lower() in seen:
        return f"{name!r} is also on line {seen[name.lower()]}"
    seen[name.lower()] = line
    user_model = get_user_model()
    try:
        user_model.username_validator(name)
    except ValidationError as error:
        return f"username {name!r}: {' '.join(error.messages)}"
    user = existing.get(name.lower())
    if user is not None and user.is_staff:
        return f"{name!r} is a staff account: not changed here"
    candidate = user or user_model(
        username=name, **{c: row.get(c) or "" for c in _OPTIONAL_COLUMNS}
    )
    try:
        validate_password(row.get("password") or "", user=candidate)
    except ValidationError as error:
        return f"password for {name!r}: {' '.join(error.messages)}"
    return ""
