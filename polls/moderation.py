"""Moderation of audience text (issue 34, docs/moderation.md): what a moderator does to a
word cloud's terms and open answers (approve, hide, restore), for the moderator's pages,
the admin and the `moderate` command alike. Every action is `apply(poll, action, target,
by=)`: one transaction that moves the entries' states with their counts (only shown
entries count), bumps the poll's seq and sends the change live after commit.

The unit: a word cloud is moderated per term (its normalised key: approving "python"
approves every voter's "Python", now and later, kept as a TermDecision); open answers
per entry. Either may hide every entry of one voter (named by one of their entries: a
moderator never sees voter keys) or approve everything waiting.

Locks, in the writers' order (polls.text_entries): the term's decision (moderators only),
the voters' Vote rows, their entries, the counts, the poll's counter. An entry a ballot
brings in the instant a term is decided may miss the decision: it waits in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.aggregates import BoolOr
from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from polls import chain, kinds, text_entries
from polls.counting import text as engine
from polls.live import publisher
from polls.models import Poll, PollCounter, TermCount, TermDecision, TextEntry, Vote

SHOWN, PENDING, HIDDEN = text_entries.SHOWN, text_entries.PENDING, text_entries.HIDDEN

APPROVE, HIDE, RESTORE = "approve", "hide", "restore"
ACTIONS = (APPROVE, HIDE, RESTORE)
# What each action moves, from which states to which.
_MOVES = {
    APPROVE: ((PENDING,), SHOWN),
    HIDE: ((SHOWN, PENDING), HIDDEN),
    RESTORE: ((HIDDEN,), SHOWN),
}

TERM, ENTRY, VOTER, WAITING = "term", "entry", "voter", "waiting"
UNITS = (TERM, ENTRY, VOTER, WAITING)

PERMISSION = "polls.moderate_entries"
MODERATORS_GROUP = "Moderators"


class ModerationError(ValueError):
    """An action that cannot be carried out; `code` says why (responses, commands)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    """What an action moves: a term (its text, as typed or as shown: normalised here), an
    entry or a voter (by an entry id), or every entry waiting (WAITING, no value)."""

    unit: str
    value: str | int | None = None


@dataclass(frozen=True)
class Outcome:
    """What an action did: for the pages, the command's words and an audit record."""

    poll_id: int
    action: str
    target: Target
    key: str | None  # a term's key
    moved: int  # entries whose state changed
    by_id: int | None
    at: datetime
    seq: int


def may_moderate(user: Any) -> bool:
    """Staff, presenters (they run the room) and the "Moderators" group's members."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(
        user.is_staff or user.has_perm(PERMISSION) or user.has_perm("polls.present_livesession")
    )


def moderated(poll: Poll) -> bool:
    """Whether the poll's audience text can be moderated: a word cloud or open answers."""
    return bool(kinds.kind_for(poll).stores_entries)


def per_term(poll: Poll) -> bool:
    """A word cloud is moderated per term; open answers per entry (the kind says)."""
    return bool(getattr(kinds.kind_for(poll), "moderated_per_term", False))


def term_key(text: str) -> str:
    """A term's key from what a moderator typed: normalised as a voter's entry is."""
    key = engine.key_of(engine.normalise(text))
    if not key:
        raise ModerationError(f"'{text}' is not a term.", "bad_term")
    return key


def apply(poll: Poll, action: str, target: Target, *, by: Any = None) -> Outcome:
    """Carry out one moderator's action on the poll's entries, with their counts, in one
    transaction; open pages get the change once it commits (a new seq). Raises
    ModerationError (bad action, unit or target) before changing anything."""
    if action not in ACTIONS:
        raise ModerationError(f"Unknown action '{action}'.", "bad_action")
    if not moderated(poll):
        raise ModerationError(f"Poll '{poll.slug}' has no audience text to moderate.", "not_text")
    by_id = getattr(by, "pk", None)
    now = timezone.now()
    with transaction.atomic():
        where, params, key = _selection(poll, action, target)
        if key is not None:  # the term's decision holds for entries still to come
            TermDecision.objects.update_or_create(
                poll_id=poll.pk,
                digest=text_entries.digest(key),
                defaults={"key": key, "decision": _MOVES[action][1], "decided_by_id": by_id,
                          "decided_at": now},
            )  # fmt: skip
        moved = _move(poll.pk, where, params, action, by_id=by_id, now=now)
        counter, _ = PollCounter.objects.select_for_update().get_or_create(poll_id=poll.pk)
        seq = counter.seq
        if moved or key is not None:
            PollCounter.objects.filter(poll_id=poll.pk).update(seq=F("seq") + 1)
            seq += 1
            publisher.announce_after_commit([poll.pk])
            # On the poll's sealed chain, last in the transaction (its head row is locked).
            chain.record_organiser_event(
                poll,
                f"moderation {action}",
                {"unit": target.unit, "target": str(target.value or ""), "key": key,
                 "moved": moved, "by": by_id},
            )  # fmt: skip
    return Outcome(poll.pk, action, target, key, moved, by_id, now, seq)


def _selection(poll: Poll, action: str, target: Target) -> tuple[str, list[Any], str | None]:
    """The entries a target names, as SQL on polls_textentry, and a term's key."""
    if target.unit == TERM:
        if not per_term(poll):
            raise ModerationError("Open answers are moderated per answer.", "per_entry")
        key = term_key(str(target.value or ""))
        return "digest = %s", [text_entries.digest(key)], key
    if target.unit in (ENTRY, VOTER):
        entry = _entry(poll, target.value)
        if target.unit == VOTER:
            return "voter_key = %s", [entry.voter_key], None
        if per_term(poll) and action != HIDE:
            # A word cloud's entry is approved or restored with its term: every voter's.
            return _selection(poll, action, Target(TERM, entry.key))
        return "id = %s", [entry.pk], None
    if target.unit == WAITING and action == APPROVE:
        if per_term(poll):
            for key in pending_keys(poll.pk):  # each waiting term decided, for later entries
                TermDecision.objects.update_or_create(
                    poll_id=poll.pk, digest=text_entries.digest(key),
                    defaults={"key": key, "decision": SHOWN, "decided_at": timezone.now()},
                )  # fmt: skip
        return "TRUE", [], None
    raise ModerationError(f"Cannot {action} '{target.unit}'.", "bad_target")


def _entry(poll: Poll, value: Any) -> TextEntry:
    try:
        entry_id = int(str(value).lstrip("#"))
    except ValueError:
        raise ModerationError(f"'{value}' is not an entry number.", "bad_entry") from None
    entry = TextEntry.objects.filter(poll_id=poll.pk, pk=entry_id).first()
    if entry is None:
        raise ModerationError(f"Poll '{poll.slug}' has no entry #{entry_id}.", "no_entry")
    return entry


def _move(poll_id: int, where: str, params: list[Any], action: str, *, by_id: Any, now: Any) -> int:
    """Move the selected entries from the action's states to its new one, with their
    counts: the voters' Vote rows locked first (the worker's order), then the entries."""
    sources, state = _MOVES[action]
    chosen = f"poll_id = %s AND state = ANY(%s) AND {where}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT voter_key FROM polls_textentry WHERE {chosen}",  # noqa: S608
            [poll_id, list(sources), *params],
        )
        voters = sorted(row[0] for row in cursor.fetchall())
    if not voters:
        return 0
    list(
        Vote.objects.select_for_update()
        .filter(poll_id=poll_id, voter_key__in=voters)
        .order_by("voter_key")
        .values_list("pk", flat=True)
    )
    changes = text_entries._Changes()
    with connection.cursor() as cursor:
        # The old state from the locked row itself (another action may have moved it).
        cursor.execute(
            "UPDATE polls_textentry e SET state = %s, moderated_by_id = %s, moderated_at = %s "  # noqa: S608 (our SQL)
            "FROM (SELECT id, state FROM polls_textentry WHERE "
            f"{chosen} AND voter_key = ANY(%s) ORDER BY id FOR UPDATE) old "
            "WHERE e.id = old.id RETURNING e.shown, e.key, old.state",
            [state, by_id, now, poll_id, list(sources), *params, voters],
        )
        rows = cursor.fetchall()
    for shown, key, old in rows:
        changes.add(poll_id, shown, key, old, -1)
        changes.add(poll_id, shown, key, state, +1)
    text_entries.write_counts(changes)
    return len(rows)


# --- The queue: what a moderator sees ---------------------------------------------------

QUEUE_SIZE = 100


def pending_keys(poll_id: int) -> list[str]:
    return list(
        TextEntry.objects.filter(poll_id=poll_id, state=PENDING)
        .values_list("key", flat=True)
        .distinct()
    )


def queue(poll: Poll, size: int = QUEUE_SIZE) -> dict[str, Any]:
    """The poll's waiting, hidden and newest shown entries for a moderator: a word
    cloud's per term (its most given spelling, how many entries), open answers per entry;
    the totals. Newest first, `size` of each at most."""
    totals = text_entries.totals(poll.pk)
    lists = {}
    for state in (PENDING, HIDDEN, SHOWN):
        rows = TextEntry.objects.filter(poll_id=poll.pk, state=state)
        if per_term(poll) and state == SHOWN:
            lists[state] = _recent_terms(poll.pk, size)
        elif per_term(poll):
            lists[state] = [
                {"id": row["newest"], "text": row["text"], "key": row["key"],
                 "count": row["n"], "flagged": row["flagged"]}
                for row in rows.values("key").annotate(
                    newest=Max("id"), text=Max("shown"), n=Count("id"), flagged=BoolOr("flagged")
                ).order_by("-newest")[:size]
            ]  # fmt: skip
        else:
            lists[state] = [
                {"id": row["id"], "text": row["shown"], "key": row["key"], "count": 1,
                 "flagged": row["flagged"]}
                for row in rows.order_by("-id").values("id", "shown", "key", "flagged")[:size]
            ]  # fmt: skip
    return {
        "slug": poll.slug,
        "unit": TERM if per_term(poll) else ENTRY,
        "mode": text_entries.mode_of(poll),
        "pending": totals.pending,
        "hidden": totals.hidden,
        "shown": totals.entries,
        "waiting": lists[PENDING],
        "hidden_entries": lists[HIDDEN],
        "shown_entries": lists[SHOWN],
    }


def _recent_terms(poll_id: int, size: int) -> list[dict[str, Any]]:
    """A cloud's shown terms, the most recently given first: from the newest shown entries
    (their index) and the terms' kept counts, never a scan of every entry of a big poll."""
    newest: dict[str, dict[str, Any]] = {}
    recent = (
        TextEntry.objects.filter(poll_id=poll_id, state=SHOWN)
        .order_by("-id")
        .values_list("id", "key", "digest", "flagged")[: 5 * size]
    )
    for entry_id, key, term, flagged in recent:
        if term not in newest and len(newest) < size:
            newest[term] = {"id": entry_id, "key": key, "flagged": flagged}
        elif term in newest:
            newest[term]["flagged"] |= flagged
    counts = TermCount.objects.filter(poll_id=poll_id, digest__in=list(newest))
    kept = {term: (shown, votes) for term, shown, votes in counts.values_list(
        "digest", "shown", "votes")}  # fmt: skip
    return [
        {**row, "text": kept.get(term, (row["key"], 0))[0] or row["key"],
         "count": kept.get(term, ("", 0))[1]}
        for term, row in newest.items()
    ]  # fmt: skip
