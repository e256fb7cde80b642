"""A poll's sealed chain: every stored event appended, in the transaction that stores it,
to a per-poll SHA-256 hash chain (encoding: polls.counting.chain). One `ChainBatch` row
per transaction, its poll's `ChainHead` row locked while it is appended (so two workers
never fork a chain) and moved to the new hash: the seal.

Whoever appends does so last in its transaction, after the counters (the worker's lock
order: votes, tallies, rankings, values, entries, counter, then the chain head).
Idempotent by what calls it: the worker appends only what a batch newly stored (a
redelivered message stores nothing new), an organiser's action once per action.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from polls.counting import chain as encoding
from polls.models import ChainBatch, ChainHead, Poll, UncountedReceipt, Vote


def sealed(poll: Poll, *, stores_entries: bool) -> bool:
    """Whether the poll's ballots enter the chain as commitments only: on a secret-ballot
    poll, and on every text poll (moderation may take an entry off the pages; a chain
    never forgets)."""
    return stores_entries or poll.ballot_secrecy != Poll.BallotSecrecy.PUBLIC


def counted_event(
    vote_id: Any, receipt: str, ballot: Any, nonce: str, *, poll: Poll, stores_entries: bool
) -> dict[str, Any]:
    """A ballot the worker now counts, as the poll's chain holds it."""
    return encoding.counted(
        vote_id=str(vote_id),
        receipt=receipt,
        ballot=list(ballot),
        nonce=nonce,
        sealed=sealed(poll, stores_entries=stores_entries),
    )


def append(events_by_poll: dict[int, list[dict[str, Any]]]) -> dict[int, str]:
    """Append one batch per poll (those with events), in the caller's transaction, heads
    locked in poll order; the new seals."""
    seals: dict[int, str] = {}
    for poll_id in sorted(events_by_poll):
        events = events_by_poll[poll_id]
        if not events:
            continue
        length, previous = _lock_head(poll_id)
        hashes, head = encoding.link(previous, events)
        ChainBatch.objects.create(
            poll_id=poll_id,
            index=length + 1,
            previous=previous,
            hash=head,
            events=events,
            event_hashes=hashes,
        )
        ChainHead.objects.filter(poll_id=poll_id).update(length=length + 1, hash=head)
        seals[poll_id] = head
    return seals


def _lock_head(poll_id: int) -> tuple[int, str]:
    """The poll's head (length, hash), created at the genesis if missing, locked till the
    commit: one statement, safe against a concurrent first append."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO polls_chainhead (poll_id, length, hash) VALUES (%s, 0, %s) "
            "ON CONFLICT (poll_id) DO UPDATE SET length = polls_chainhead.length "
            "RETURNING length, hash",
            [poll_id, encoding.genesis(poll_id)],
        )
        length, head = cursor.fetchone()
    return length, head


def record_organiser_event(poll: Poll | int, action: str, payload: dict[str, Any]) -> str:
    """Put an organiser's action that changes counts on the poll's chain (a moderation
    hide or restore, a reset, a rules change): its own batch, in the caller's transaction
    (one of its own if there is none), appended last. `payload` holds JSON values only
    and no key `type`. Returns the new seal."""
    poll_id = poll if isinstance(poll, int) else poll.pk
    with transaction.atomic():
        return append({poll_id: [encoding.organiser(action, payload)]})[poll_id]


@dataclass(frozen=True)
class Seal:
    """A poll's seal as the pages and the API show it."""

    hash: str
    length: int
    final: bool  # the poll is closed: no ballot will move it

    def as_json(self) -> dict[str, Any]:
        return {"hash": self.hash, "batches": self.length, "final": self.final}


def seal_of(poll_id: int, *, closed: bool) -> Seal:
    """The poll's current seal (its genesis while nothing is on its chain)."""
    head = ChainHead.objects.filter(poll_id=poll_id).values_list("hash", "length").first()
    if head is None:
        return Seal(encoding.genesis(poll_id), 0, closed)
    return Seal(head[0], head[1], closed)


Batch = tuple[int, str, str, list[dict[str, Any]], list[str]]


def batches(poll_id: int, chunk: int = 2000) -> Iterator[Batch]:
    """The poll's chain in order: (index, previous, hash, events, event hashes)."""
    rows = (
        ChainBatch.objects.filter(poll_id=poll_id)
        .order_by("index")
        .values_list("index", "previous", "hash", "events", "event_hashes")
    )
    for index, previous, head, events, hashes in rows.iterator(chunk_size=chunk):
        yield index, previous, head, events, list(hashes)


def uncounted_events(
    outcome_uncounted: Sequence[UncountedReceipt],
) -> dict[int, list[dict[str, Any]]]:
    """The replaced and refused ballots' events of a worker's batch, those not already
    on record (a redelivered batch repeats its fates: its receipts' rows are there)."""
    if not outcome_uncounted:
        return {}
    held = set(
        UncountedReceipt.objects.filter(
            vote_id__in=[row.vote_id for row in outcome_uncounted]
        ).values_list("vote_id", flat=True)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in sorted(outcome_uncounted, key=lambda r: str(r.vote_id)):
        if row.vote_id in held:
            continue
        held.add(row.vote_id)
        if row.fate == UncountedReceipt.Fate.REFUSED:
            event = encoding.refused(
                vote_id=str(row.vote_id), receipt=row.receipt, reason=row.reason
            )
        else:
            event = encoding.replaced(vote_id=str(row.vote_id), receipt=row.receipt)
        found.setdefault(row.poll_id, []).append(event)
    return found


@dataclass(frozen=True)
class Replayed:
    """What a poll's chain says is counted now: vote id -> its counted event."""

    counted: dict[str, dict[str, Any]]
    imports: dict[str, dict[str, Any]]


def replay(events: Iterable[dict[str, Any]]) -> Replayed:
    """The counted ballots (and imports) the chain's events leave, in order."""
    counted: dict[str, dict[str, Any]] = {}
    imports: dict[str, dict[str, Any]] = {}
    for event in events:
        kind = event.get("type")
        if kind == encoding.COUNTED:
            counted[event["vote"]] = event
        elif kind == encoding.REPLACED:
            counted.pop(event["vote"], None)
        elif kind == encoding.RESET:
            counted.clear()
            imports.clear()
        elif kind == encoding.IMPORTED:
            imports[str(event["import"])] = event
    return Replayed(counted, imports)


def check(poll: Poll, ballots: dict[str, tuple[Any, str, str]]) -> list[str]:
    """What does not fit between the poll's stored chain and its stored ballots, in words:
    the first broken link, then each counted ballot (vote id -> (ballot, receipt, nonce),
    as the worker compares them) that the chain does not say, and each the chain counts
    that is not stored. `recount --check` reports them."""
    stored = list(batches(poll.pk))
    broken = encoding.first_break(poll.pk, stored)
    if broken:
        return [broken]
    head = ChainHead.objects.filter(poll_id=poll.pk).values_list("hash", "length").first()
    last = (stored[-1][2], stored[-1][0]) if stored else (encoding.genesis(poll.pk), 0)
    if head is not None and head != last:
        return [f"chain head: {head[0][:12]}… ({head[1]}) is not the last batch's"]
    replayed = replay(event for batch in stored for event in batch[3])
    problems = []
    for vote_id, (ballot, receipt, nonce) in sorted(ballots.items(), key=lambda i: i[1][1]):
        event = replayed.counted.get(vote_id)
        if event is None:
            problems.append(f"vote {receipt or vote_id}: counted, but not on the chain")
        elif event["receipt"] != receipt:
            problems.append(f"vote {receipt or vote_id}: the chain has receipt {event['receipt']}")
        elif not _says(event, ballot, nonce):
            problems.append(f"vote {receipt or vote_id}: its ballot is not the chain's")
    for vote_id, event in sorted(replayed.counted.items()):
        if vote_id not in ballots:
            problems.append(f"vote {event['receipt'] or vote_id}: on the chain, not stored")
    return problems


def sealing_events(
    poll: Poll, ballots: dict[str, tuple[Any, str, str]], *, stores_entries: bool
) -> list[dict[str, Any]]:
    """What makes the chain say the stored ballots again (a recount's fix, also a poll's
    ballots from before the chain): each counted ballot the chain does not count, or
    counts otherwise, replaced (if it counted) and counted afresh; each the chain counts
    that is not stored, replaced. [] when the chain's links do not hold: that is not a
    recount's to mend."""
    stored = list(batches(poll.pk))
    if encoding.first_break(poll.pk, stored):
        return []
    replayed = replay(event for batch in stored for event in batch[3])
    events: list[dict[str, Any]] = []
    for vote_id, (ballot, receipt, nonce) in sorted(ballots.items()):
        event = replayed.counted.get(vote_id)
        if event is not None and event["receipt"] == receipt and _says(event, ballot, nonce):
            continue
        if event is not None:
            events.append(encoding.replaced(vote_id=vote_id, receipt=event["receipt"]))
        events.append(
            counted_event(vote_id, receipt, ballot, nonce, poll=poll, stores_entries=stores_entries)
        )
    for vote_id, event in sorted(replayed.counted.items()):
        if vote_id not in ballots:
            events.append(encoding.replaced(vote_id=vote_id, receipt=event["receipt"]))
    return events


def _says(event: dict[str, Any], ballot: Any, nonce: str) -> bool:
    """Whether a counted event says this ballot: in the clear, or its commitment."""
    if "ballot" in event:
        return bool(event["ballot"] == ballot)
    held = event.get("commitment")
    return held is None or held == encoding.commitment(nonce, ballot)


def stored_ballots(
    poll: Poll, texts: dict[str, tuple[Any, ...]]
) -> dict[str, tuple[Any, str, str]]:
    """The poll's counted ballots as the chain has them: vote id -> (ballot, receipt,
    nonce); a text poll's from its entries (`texts`, by voter key)."""
    found: dict[str, tuple[Any, str, str]] = {}
    rows = Vote.objects.filter(poll_id=poll.pk).values_list(
        "vote_id", "voter_key", "ballot", "choice_id", "receipt", "nonce"
    )
    for vote_id, voter_key, ballot, choice_id, receipt, nonce in rows.iterator(chunk_size=5000):
        if voter_key in texts:
            value: Any = list(texts[voter_key])
        else:
            value = list(ballot) if ballot else [choice_id] if choice_id else []
        found[str(vote_id)] = (value, receipt, nonce)
    return found
