"""Text answers in Postgres: a voter's entries (their text ballot) and the counts kept with
them, for the word cloud and the open answer (issue 33; docs/text-answers.md).

The worker replaces a voter's entries in the ballot's own transaction (`replace`) and keeps
the counts per term, per spelling and the poll's totals there, as it keeps the tallies; a
snapshot reads only counts (`cloud_part`, `cards_part`), never the entries. `recount`
counts the entries again for `manage.py recount`. Normalising happened once, on the web
side before admission (polls.counting.text): nothing here normalises; it hashes a key
(`digest`) to compare and index it, since a key can be longer than an index row.

Locks, in every writer's order: the voters' Vote rows (their entries are theirs), then
the entries, the term counts (by poll, digest), the spelling counts, the entry counters
and last the poll's counter (polls.pipeline.store, polls.organising).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from .counting import text as engine
from .models import (
    EntryCounter,
    Poll,
    SessionPoll,
    SpellingCount,
    TermCount,
    TermDecision,
    TextEntry,
)

SHOWN = TextEntry.State.SHOWN.value
PENDING = TextEntry.State.PENDING.value
HIDDEN = TextEntry.State.HIDDEN.value

# How many cards a snapshot picks from: the newest and the most common keys, each.
CARD_CANDIDATES = 200


def digest(text: str) -> str:
    """A key's (or a spelling's) fixed-length name for indexes and comparisons: BLAKE2b,
    16 bytes, hex. A hash, not a normalisation: the same text always has the same digest."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def item(shown: str, key: str, *, held: bool = False) -> dict[str, Any]:
    """One entry as a ballot carries it (the vote message's canonical JSON): what it shows,
    its counting key, and `held` when the profanity filter caught it."""
    found: dict[str, Any] = {"text": shown, "key": key}
    if held:
        found["held"] = True
    return found


# --- The worker's writes ----------------------------------------------------------------


@dataclass(frozen=True)
class Ballot:
    """A voter's new text ballot, to be stored in place of their entries."""

    poll_id: int
    voter_key: str
    vote_id: Any
    cast_at: datetime
    items: tuple[dict[str, Any], ...]


# Moderation modes (issue 34, docs/moderation.md), a text poll's option "moderation":
# off: shown at once, nobody watches (the filter's catches still wait); after: shown at
# once, a moderator watches and hides; before: nothing is shown until approved.
OFF, AFTER, BEFORE = "off", "after", "before"
MODES = (OFF, AFTER, BEFORE)


def mode_of(poll: Poll) -> str:
    """The poll's moderation mode: its own, else "after" for a poll of a live session (a
    room sees it) and "off" elsewhere. Only "before" changes how entries are stored."""
    mode = poll.options.get("moderation")
    if mode in MODES:
        return str(mode)
    return AFTER if SessionPoll.objects.filter(poll_id=poll.pk).exists() else OFF


def initial_state(
    item: dict[str, Any],
    *,
    before: bool = False,
    decision: str | None = None,
    was_hidden: bool = False,
) -> str:
    """The state a new entry is stored in. A moderator's decision on its term (a word
    cloud's) comes first: approved shows it, hidden hides it, whoever gave it and whenever.
    Then an entry its voter gave before and a moderator hid stays hidden (sending it again
    does not bring it back). Then the profanity filter's catch waits (pending), in every
    mode; in "before" mode every entry waits; else it is shown at once."""
    if decision is not None:
        return decision
    if was_hidden:
        return HIDDEN
    if item.get("held") or before:
        return PENDING
    return SHOWN


def _decisions(wanted: Iterable[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """Moderators' decisions on these (poll, key digest) terms."""
    by_poll: dict[int, set[str]] = defaultdict(set)
    for poll_id, term in wanted:
        by_poll[poll_id].add(term)
    found: dict[tuple[int, str], str] = {}
    for poll_id, terms in by_poll.items():
        rows = TermDecision.objects.filter(poll_id=poll_id, digest__in=terms)
        for term, decision in rows.values_list("digest", "decision"):
            found[(poll_id, term)] = decision
    return found


class StoredItem(dict[str, Any]):
    """A stored entry as its ballot carried it (`item`), which also knows the entry's
    state: equal to the same item sent again (the state is not part of the ballot), so a
    voter's page can mark what waits for a moderator."""

    state: str = SHOWN


def stored_ballots(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], tuple[Any, ...]]:
    """The stored text ballot of each (poll id, voter key) that has one: its entries as the
    ballot carried them (`item`), in their order. Compared with a new ballot: the same
    ballot again changes nothing."""
    by_poll: dict[int, list[str]] = defaultdict(list)
    for poll_id, voter_key in keys:
        by_poll[poll_id].append(voter_key)
    found: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for poll_id, voters in sorted(by_poll.items()):
        rows = (
            TextEntry.objects.filter(poll_id=poll_id, voter_key__in=voters)
            .order_by("voter_key", "position", "id")
            .values_list("voter_key", "shown", "key", "flagged", "state")
        )
        for voter_key, shown, key, flagged, state in rows:
            stored = StoredItem(item(shown, key, held=flagged))
            stored.state = state
            found[(poll_id, voter_key)].append(stored)
    return {where: tuple(items) for where, items in found.items()}


@dataclass
class _Changes:
    """What a batch changes in the counts: per term, per spelling, per poll."""

    terms: Counter[tuple[int, str]] = field(default_factory=Counter)  # (poll, digest)
    term_keys: dict[tuple[int, str], str] = field(default_factory=dict)
    spellings: Counter[tuple[int, str]] = field(default_factory=Counter)  # (poll, digest)
    spelling_rows: dict[tuple[int, str], tuple[str, str]] = field(default_factory=dict)
    totals: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, poll_id: int, shown: str, key: str, state: str, sign: int) -> None:
        self.totals[poll_id][state] += sign
        if state != SHOWN:
            return  # only shown entries count
        term = (poll_id, digest(key))
        self.terms[term] += sign
        self.term_keys[term] = key
        spelling = (poll_id, digest(shown))
        self.spellings[spelling] += sign
        self.spelling_rows[spelling] = (term[1], shown)


def replace(ballots: Sequence[Ballot], polls: dict[int, Poll]) -> None:
    """Store each voter's new entries in place of their old ones and move the counts, in
    the caller's transaction, the voters' Vote rows locked (polls.pipeline.store). `polls`:
    the ballots' polls as the caller read them in this transaction (no second read)."""
    if not ballots:
        return
    changes = _Changes()
    hidden: dict[tuple[int, str, str], tuple[Any, Any]] = {}  # (poll, voter, key): by, when
    with connection.cursor() as cursor:
        for poll_id, voters in sorted(_voters_by_poll(ballots).items()):
            cursor.execute(
                "DELETE FROM polls_textentry WHERE poll_id = %s AND voter_key = ANY(%s) "
                "RETURNING shown, key, state, voter_key, moderated_by_id, moderated_at",
                [poll_id, sorted(voters)],
            )
            for shown, key, state, voter_key, by, when in cursor.fetchall():
                changes.add(poll_id, shown, key, state, -1)
                if state == HIDDEN:
                    hidden[(poll_id, voter_key, key)] = (by, when)
    now = timezone.now()
    # Only "before" changes how entries are stored, and only a poll's own option says it.
    before = {b.poll_id for b in ballots if polls[b.poll_id].options.get("moderation") == BEFORE}
    decisions = _decisions((b.poll_id, digest(entry["key"])) for b in ballots for entry in b.items)
    rows = []
    # In the order they were cast: an entry's id says how new it is (cards, /entries).
    for ballot in sorted(ballots, key=lambda b: (b.cast_at, str(b.vote_id))):
        for position, entry in enumerate(ballot.items):
            term = digest(entry["key"])
            kept = hidden.get((ballot.poll_id, ballot.voter_key, entry["key"]))
            state = initial_state(
                entry,
                before=ballot.poll_id in before,
                decision=decisions.get((ballot.poll_id, term)),
                was_hidden=kept is not None,
            )
            rows.append(
                (ballot.poll_id, ballot.voter_key, str(ballot.vote_id), position, entry["text"],
                 entry["key"], term, state, bool(entry.get("held")), ballot.cast_at, now,
                 *(kept or (None, None)))
            )  # fmt: skip
            changes.add(ballot.poll_id, entry["text"], entry["key"], state, +1)
    # In their order: their ids say how new they are (cards, /entries).
    TextEntry.objects.insert_rows(_ENTRY_COLUMNS, rows)
    write_counts(changes)


# TextEntry's columns as `replace` writes them, with their types.
_ENTRY_COLUMNS = (
    ("poll_id", "bigint"), ("voter_key", "text"), ("vote_id", "uuid"), ("position", "smallint"),
    ("shown", "text"), ("key", "text"), ("digest", "text"), ("state", "text"),
    ("flagged", "boolean"), ("cast_at", "timestamptz"), ("stored_at", "timestamptz"),
    ("moderated_by_id", "integer"), ("moderated_at", "timestamptz"),
)  # fmt: skip


def _voters_by_poll(ballots: Iterable[Ballot]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for ballot in ballots:
        found[ballot.poll_id].add(ballot.voter_key)
    return found


def write_counts(changes: _Changes) -> None:
    """Add the changes to the count rows, each table in (poll, digest) order as every writer
    does (no deadlock): terms, spellings, then the polls' totals with the distinct terms
    that came or went (a term's count passing 0). One statement per table."""
    distinct: Counter[int] = Counter()
    # Every term touched, even one whose count did not change (a voter's "python" become
    # "Python"): its row is locked first, in order, and its shown spelling kept.
    terms = sorted((p, d, changes.term_keys[(p, d)], n) for (p, d), n in changes.terms.items())
    if terms:
        deltas = {(p, d): n for p, d, _key, n in terms}
        for poll_id, term, now in _upsert(
            "polls_termcount (poll_id, digest, key, shown, votes)",
            ("bigint", "text", "text", "text", "integer"),
            [(p, d, key, key, n) for p, d, key, n in terms],
            "poll_id, digest",
            "votes = polls_termcount.votes + EXCLUDED.votes RETURNING poll_id, digest, votes",
        ):
            before = now - deltas[(poll_id, term)]
            distinct[poll_id] += (now > 0) - (before > 0)
    spellings = sorted(
        (p, d, *changes.spelling_rows[(p, d)], n) for (p, d), n in changes.spellings.items() if n
    )
    _upsert(
        "polls_spellingcount (poll_id, digest, term, shown, votes)",
        ("bigint", "text", "text", "text", "integer"),
        spellings,
        "poll_id, digest",
        "votes = polls_spellingcount.votes + EXCLUDED.votes",
    )
    _keep_spellings(sorted({(p, d) for p, d, _key, _n in terms}))
    totals = sorted(
        (poll_id, counts[SHOWN], distinct[poll_id], counts[PENDING], counts[HIDDEN])
        for poll_id, counts in changes.totals.items()
    )
    _upsert(
        "polls_entrycounter (poll_id, entries, distinct_terms, pending, hidden)",
        ("bigint", "integer", "integer", "integer", "integer"),
        [row for row in totals if any(row[1:])],
        "poll_id",
        ", ".join(
            f"{name} = polls_entrycounter.{name} + EXCLUDED.{name}"
            for name in ("entries", "distinct_terms", "pending", "hidden")
        ),
    )


def _keep_spellings(terms: Sequence[tuple[int, str]]) -> None:
    """Each changed term's row keeps its most common spelling (a tie: the first in code
    point order, as polls.counting.text.terms picks) and its newest shown entry's id, so a
    read needs no other table. Its row is locked already (the term counts come first): no
    other writer changes its spellings or entries meanwhile. One statement per poll, its
    terms found by the unique index, each newest entry by one probe of its own index."""
    by_poll: dict[int, list[str]] = defaultdict(list)
    for poll_id, term in terms:
        by_poll[poll_id].append(term)
    with connection.cursor() as cursor:
        for poll_id, digests in sorted(by_poll.items()):
            cursor.execute(
                "UPDATE polls_termcount t SET shown = COALESCE((SELECT s.shown FROM "
                "polls_spellingcount s WHERE s.poll_id = t.poll_id AND s.term = t.digest AND "
                's.votes > 0 ORDER BY s.votes DESC, s.shown COLLATE "C" LIMIT 1), t.shown), '
                # Its newest shown entry (0: none), from the (poll, digest, id) index.
                "newest = COALESCE((SELECT e.id FROM polls_textentry e WHERE e.poll_id = "
                "t.poll_id AND e.state = %s AND e.digest = t.digest ORDER BY e.id DESC LIMIT 1), "
                "0) WHERE t.poll_id = %s AND t.digest = ANY(%s)",
                [SHOWN, poll_id, sorted(digests)],
            )


def _upsert(
    table: str, types: Sequence[str], rows: Sequence[Sequence[Any]], conflict: str, update: str
) -> list[tuple[Any, ...]]:
    """INSERT the rows (in their order: sorted by the caller) or add them to the row there."""
    if not rows:
        return []
    one = "(" + ", ".join(f"%s::{name}" for name in types) + ")"
    values = ", ".join([one] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} VALUES {values} "  # noqa: S608 (our names, placeholders)
            f"ON CONFLICT ({conflict}) DO UPDATE SET {update}",
            [value for row in rows for value in row],
        )
        return list(cursor.fetchall()) if cursor.description else []


# --- Reads: snapshots, pages, the API, exports ------------------------------------------


@dataclass(frozen=True)
class Totals:
    entries: int = 0  # shown entries: every one counted
    distinct: int = 0  # distinct keys among them
    pending: int = 0
    hidden: int = 0


def totals(poll_id: int) -> Totals:
    row = (
        EntryCounter.objects.filter(poll_id=poll_id)
        .values_list("entries", "distinct_terms", "pending", "hidden")
        .first()
    )
    return Totals(*row) if row else Totals()


def _top_terms(cursor: Any, poll_id: int, limit: int, offset: int = 0) -> list[engine.Term]:
    """The most counted terms, each with its most common spelling (kept on its row): from
    the index, whatever the poll's size (a tie goes to the digest first in order: the same
    counts give the same terms)."""
    cursor.execute(
        "SELECT key, shown, votes FROM polls_termcount WHERE poll_id = %s AND votes > 0 "
        "ORDER BY votes DESC, digest LIMIT %s OFFSET %s",
        [poll_id, limit, offset],
    )
    return [engine.Term(key, shown or key, count) for key, shown, count in cursor.fetchall()]


def cloud_part(poll_id: int, limit: int = engine.CLOUD_TOP) -> dict[str, Any]:
    """A word cloud's part of the results snapshot: the top terms, each with its size step
    (polls.counting.text.cloud), and the totals. Reads the top terms' rows from the index:
    its cost does not grow with the entries."""
    found = totals(poll_id)
    with connection.cursor() as cursor:
        rows = [(t.key, t.shown, t.count) for t in _top_terms(cursor, poll_id, limit)]
    cloud = engine.cloud(rows, limit, entries=found.entries, distinct=found.distinct)
    return {
        "terms": [
            {"text": t.shown, "key": t.key, "count": t.count, "step": t.step} for t in cloud.terms
        ],
        "entries": cloud.entries,
        "distinct": cloud.distinct,
    }


def cards_part(poll_id: int, candidates: int = CARD_CANDIDATES) -> dict[str, Any]:
    """Open answers' part of the results snapshot: cards (one per key: its most common
    spelling, how many gave it, its newest entry's id) from the newest and the most common
    keys, within the snapshot's budget (polls.counting.text.select_cards), newest first;
    `left_out`, the keys not carried; the totals."""
    found = totals(poll_id)
    with connection.cursor() as cursor:
        # The newest shown entries' keys, from the index (a key once, at its newest).
        cursor.execute(
            "SELECT digest, id FROM polls_textentry WHERE poll_id = %s AND state = %s "
            "ORDER BY id DESC LIMIT %s",
            [poll_id, SHOWN, 2 * candidates],
        )
        newest: dict[str, int] = {}
        for term, entry_id in cursor.fetchall():
            newest.setdefault(term, entry_id)
            if len(newest) == candidates:
                break
        # The most common keys, then those of the newest not among them: each term's row
        # says how new its newest entry is (no probe of the entries per card).
        row = "SELECT digest, key, shown, votes, newest FROM polls_termcount "
        cursor.execute(
            row + "WHERE poll_id = %s AND votes > 0 ORDER BY votes DESC, digest LIMIT %s",
            [poll_id, candidates],
        )
        rows = cursor.fetchall()
        wanted = sorted(set(newest) - {term for term, *_ in rows})
        if wanted:
            cursor.execute(
                row + "WHERE poll_id = %s AND digest = ANY(%s) AND votes > 0", [poll_id, wanted]
            )
            rows += cursor.fetchall()
    cards = {
        term: engine.Card(key, shown or key, count, entry_id)
        for term, key, shown, count, entry_id in rows
    }
    chosen = engine.select_cards(cards.values())
    return {
        "cards": [
            {"text": card.shown, "count": card.count, "newest": card.newest}
            for card in chosen.cards
        ],
        "left_out": max(0, found.distinct - len(chosen.cards)),
        "entries": found.entries,
        "distinct": found.distinct,
    }


PAGE_SIZE = 100


def terms_page(poll_id: int, page: int, size: int = PAGE_SIZE) -> list[dict[str, Any]]:
    """The terms ranked as the snapshot ranks them, `size` a page (1 first): for what lies
    beyond the snapshot (the API's /terms)."""
    with connection.cursor() as cursor:
        found = _top_terms(cursor, poll_id, size, (page - 1) * size)
    # Within a page as the snapshot orders its terms: most first, a tie by key.
    found.sort(key=lambda t: (-t.count, t.key))
    return [{"text": t.shown, "key": t.key, "count": t.count} for t in found]


def entries_page(
    poll_id: int, before: int | None = None, size: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    """Shown entries, newest first, `size` a page, those older than entry `before`: for the
    API's /entries (never the voter, never an entry waiting or hidden)."""
    rows = TextEntry.objects.filter(poll_id=poll_id, state=SHOWN)
    if before is not None:
        rows = rows.filter(id__lt=before)
    return [
        {"id": entry_id, "text": shown}
        for entry_id, shown in rows.order_by("-id").values_list("id", "shown")[:size]
    ]


def ballot_texts(poll_id: int) -> dict[str, list[str]]:
    """Each voter's shown entries by voter key, in order (exports number the voters)."""
    found: dict[str, list[str]] = defaultdict(list)
    rows = (
        TextEntry.objects.filter(poll_id=poll_id, state=SHOWN)
        .order_by("voter_key", "position", "id")
        .values_list("voter_key", "shown")
    )
    for voter_key, shown in rows.iterator(chunk_size=2000):
        found[voter_key].append(shown)
    return found


def export_entries(poll_id: int) -> Iterable[dict[str, Any]]:
    """Every entry, oldest first: its text, key, state and when it was cast (never who)."""
    rows = (
        TextEntry.objects.filter(poll_id=poll_id)
        .order_by("id")
        .values_list("id", "shown", "key", "state", "cast_at")
    )
    for entry_id, shown, key, state, cast_at in rows.iterator(chunk_size=2000):
        yield {"entry": entry_id, "text": shown, "key": key, "state": state,
               "cast_at": cast_at.isoformat()}  # fmt: skip


def export_terms(poll_id: int) -> list[dict[str, Any]]:
    """Every counted term, most counted first: its most common spelling, key and count."""
    with connection.cursor() as cursor:
        found = _top_terms(cursor, poll_id, 2**31 - 1)
    found.sort(key=lambda t: (-t.count, t.key))
    return [{"text": t.shown, "key": t.key, "count": t.count} for t in found]


# --- Organisers: reset, recount -------------------------------------------------------


def lock(poll_id: int) -> None:
    """Lock a poll's entries, counts and totals, in the writers' order (after its Vote
    rows, before its counter): a reset or recount then sees them still."""
    with connection.cursor() as cursor:
        for table, order in (
            ("polls_textentry", "id"),
            ("polls_termcount", "poll_id, digest"),
            ("polls_spellingcount", "poll_id, digest"),
            ("polls_entrycounter", "poll_id"),
        ):
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE poll_id = %s ORDER BY {order} FOR UPDATE",  # noqa: S608
                [poll_id],
            )


def remove_all(poll_id: int) -> int:
    """Remove a poll's entries and zero its counts (a reset); how many entries went."""
    removed, _ = TextEntry.objects.filter(poll_id=poll_id).delete()
    TermCount.objects.filter(poll_id=poll_id).update(votes=0, newest=0)
    SpellingCount.objects.filter(poll_id=poll_id).update(votes=0)
    EntryCounter.objects.filter(poll_id=poll_id).update(
        entries=0, distinct_terms=0, pending=0, hidden=0
    )
    return removed


@dataclass(frozen=True)
class Difference:
    """A count (or a term's spelling) that differs from a count of the entries."""

    what: str
    stored: int | str
    counted: int | str


def recount(poll_id: int, *, fix: bool = False) -> list[Difference]:
    """The poll's counts against a count of its entries (shown ones; the totals of pending
    and hidden ones); with `fix`, the counts are set to the entries'. Grouped by the stored
    keys and spellings: nothing is normalised again."""
    counted_terms: Counter[str] = Counter()
    term_keys: dict[str, str] = {}
    counted_spellings: Counter[str] = Counter()
    spelling_rows: dict[str, tuple[str, str]] = {}
    states: Counter[str] = Counter()
    counted_newest: dict[str, int] = {}
    rows = TextEntry.objects.filter(poll_id=poll_id).values_list(
        "id", "shown", "key", "digest", "state"
    )
    for entry_id, shown, key, term, state in rows.iterator(chunk_size=5000):
        states[state] += 1
        if state != SHOWN:
            continue
        counted_newest[term] = max(entry_id, counted_newest.get(term, 0))
        counted_terms[term] += 1
        term_keys[term] = key
        spelling = digest(shown)
        counted_spellings[spelling] += 1
        spelling_rows[spelling] = (term, shown)
    stored_spellings = dict(
        SpellingCount.objects.filter(poll_id=poll_id).values_list("digest", "votes")
    )
    term_rows = TermCount.objects.filter(poll_id=poll_id).values_list(
        "digest", "votes", "key", "shown", "newest"
    )
    stored_terms: dict[str, int] = {}
    stored_keys, stored_shown, stored_newest = {}, {}, {}
    for term, votes, key, shown, newest in term_rows:  # the term rows, read once
        stored_terms[term], stored_keys[term] = votes, key
        stored_shown[term], stored_newest[term] = shown, newest
    # Each counted term's most common spelling, as the worker keeps it on the term's row.
    best = {
        t.key: t.shown  # the term's digest: its spellings' rows are given by it
        for t in engine.terms(
            (term, shown, counted_spellings[spelling])
            for spelling, (term, shown) in spelling_rows.items()
        )
    }
    found = totals(poll_id)
    counted = Totals(states[SHOWN], len(counted_terms), states[PENDING], states[HIDDEN])
    differences = [
        Difference(f"term {term_keys.get(term) or stored_keys.get(term, term)!r}", s, n)
        for term, s, n in _differing(stored_terms, counted_terms)
    ]
    differences += [
        Difference(f"spelling {spelling_rows[spelling][1]!r}" if spelling in spelling_rows
                   else f"spelling {spelling}", s, n)
        for spelling, s, n in _differing(stored_spellings, counted_spellings)
    ]  # fmt: skip
    differences += [
        Difference(f"term {term_keys[term]!r} shown as", stored_shown.get(term, ""), shown)
        for term, shown in sorted(best.items())
        if stored_shown.get(term, "") != shown
    ]
    differences += [
        Difference(f"term {term_keys.get(term) or stored_keys.get(term, term)!r} newest", s, n)
        for term, s, n in _differing(stored_newest, Counter(counted_newest))
    ]
    differences += [
        Difference(f"{name} entries", getattr(found, name), getattr(counted, name))
        for name in ("entries", "distinct", "pending", "hidden")
        if getattr(found, name) != getattr(counted, name)
    ]
    if fix and differences:
        for term, _stored, n in _differing(stored_terms, counted_terms):
            TermCount.objects.update_or_create(
                poll_id=poll_id,
                digest=term,
                defaults={"votes": n},
                create_defaults={"votes": n, "key": term_keys.get(term, "")},
            )
        for spelling, _stored, n in _differing(stored_spellings, counted_spellings):
            term, shown = spelling_rows.get(spelling, ("", ""))
            SpellingCount.objects.update_or_create(
                poll_id=poll_id,
                digest=spelling,
                defaults={"votes": n},
                create_defaults={"votes": n, "term": term, "shown": shown},
            )
        for term, shown in best.items():
            TermCount.objects.filter(poll_id=poll_id, digest=term).update(shown=shown)
        for term, _stored, n in _differing(stored_newest, Counter(counted_newest)):
            TermCount.objects.filter(poll_id=poll_id, digest=term).update(newest=n)
        EntryCounter.objects.update_or_create(
            poll_id=poll_id,
            defaults={
                "entries": counted.entries,
                "distinct_terms": counted.distinct,
                "pending": counted.pending,
                "hidden": counted.hidden,
            },
        )
    return differences


def _differing(stored: dict[str, int], counted: Counter[str]) -> list[tuple[str, int, int]]:
    """(digest, stored, counted) wherever they differ; a missing row counts as 0."""
    return [
        (k, stored.get(k, 0), counted[k])
        for k in sorted(set(stored) | set(counted))
        if stored.get(k, 0) != counted[k]
    ]
