"""Text answers, Django-free: the one engine of the word cloud and the open answer.

An entry is normalised once, on the web side before admission (`entry`, `entries`): what is
shown and a counting key, both stored; counting never normalises again (Unicode's tables
change between Python versions, and a recount must agree with the counts kept). A refusal
is an `EntryProblem` with a machine `code` and the numbers a translated message needs; no
words for people here. Counting (`cloud`, `select_cards`) works on stored rows. Rules and
reasons: docs/text-answers.md.
"""

from __future__ import annotations

import heapq
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

# Limits: the defaults. A word cloud's voter gives 1-5 entries (the organiser's
# choice), each a word or short phrase; an open answer is one entry.
CLOUD_ENTRIES_MIN = 1
CLOUD_ENTRIES_MAX = 5
CLOUD_ENTRIES_DEFAULT = 3
CLOUD_GRAPHEMES = 25
ANSWER_GRAPHEMES = 280
# Code points allowed per grapheme, on average over the entry. One grapheme cluster can
# carry any number of combining marks (a "Zalgo" entry of 1 grapheme and 10,000 code
# points), so lengths in graphemes alone bound nothing. Real text stays well under 4: most
# letters are 1 after NFKC, an Indic conjunct 3-4, a flag 2, an emoji with skin tone 2, a
# family of four 7 (11 with skin tones). A 25-grapheme entry may carry 100 code points.
CODE_POINTS_PER_GRAPHEME = 4
# What a text may be as sent, in times the code-point cap, before normalising: a bound on
# the work one entry costs (spaces and invisible characters are removed, so the sent text
# may be longer than the cap; not eight times).
RAW_FACTOR = 8

# Cloud: how many terms a snapshot carries, and the number of size steps.
CLOUD_TOP = 100
SIZE_STEPS = 5
# A snapshot stays within 16 KB: its terms or cards within 15 KB, each measured as its text
# (and a term's key) as JSON, plus an overhead for the rest of its object and the list's
# separator; the last KB is the snapshot's own fields. The overheads fit
# {"text": .., "key": .., "count": 1234567, "step": 5}, and
# {"text": .., "count": 1234567, "newest": 1234567890123456789}, (a bigint id).
SNAPSHOT_BYTES = 16 * 1024
CLOUD_BUDGET = CARDS_BUDGET = SNAPSHOT_BYTES - 1024
TERM_OVERHEAD = 56
CARD_OVERHEAD = 64

# Problem codes (EntryProblem.code). The Django side words them in the page's language.
EMPTY = "empty"  # nothing left after normalising (or no entries at all)
TOO_LONG = "too_long"  # more grapheme clusters than the limit
TOO_MANY_CODE_POINTS = "too_many_code_points"  # more code points than the cap
TOO_MANY_ENTRIES = "too_many_entries"  # more entries than the poll allows


class EntryProblem(ValueError):
    """An entry, or a voter's list of entries, refused: `code` says why; `limit` and
    `actual` are the numbers for the message; `index` is the entry's position (None for
    the list as a whole)."""

    # Positional too, so a pickled problem (args) builds again.
    def __init__(
        self, code: str, limit: int = 0, actual: int = 0, index: int | None = None
    ) -> None:
        super().__init__(code, limit, actual, index)
        self.code = code
        self.limit = limit
        self.actual = actual
        self.index = index

    def __str__(self) -> str:
        return f"{self.code} (limit {self.limit}, actual {self.actual}, index {self.index})"


@dataclass(frozen=True)
class Limits:
    """What one voter's submission may hold."""

    entries: int
    graphemes: int
    code_points: int = 0  # 0: CODE_POINTS_PER_GRAPHEME per grapheme

    def __post_init__(self) -> None:
        if self.code_points == 0:
            object.__setattr__(self, "code_points", CODE_POINTS_PER_GRAPHEME * self.graphemes)
        if self.entries < 1 or self.graphemes < 1 or self.code_points < self.graphemes:
            raise ValueError(f"impossible limits: {self}")


def cloud_limits(entries: int = CLOUD_ENTRIES_DEFAULT, graphemes: int = CLOUD_GRAPHEMES) -> Limits:
    """A word cloud's limits: `entries` per voter, 1-5."""
    if not CLOUD_ENTRIES_MIN <= entries <= CLOUD_ENTRIES_MAX:
        raise ValueError(f"a word cloud takes {CLOUD_ENTRIES_MIN}-{CLOUD_ENTRIES_MAX} entries")
    return Limits(entries, graphemes)


def answer_limits(graphemes: int = ANSWER_GRAPHEMES) -> Limits:
    """An open answer's limits: one entry."""
    return Limits(1, graphemes)


@dataclass(frozen=True)
class Entry:
    shown: str  # normalised: what every page shows
    key: str  # the counting key: `shown` case-folded; stored, never recomputed


# What normalising removes: controls (except whitespace, which becomes one space), format
# characters (Cf: zero-width spaces and joiners, bidirectional marks, embeddings, overrides
# and isolates, the soft hyphen, the BOM, tags), lone surrogates (JSON's "\ud800" decodes
# to one; Postgres cannot store it) and the letters that draw nothing (the Hangul fillers
# and the Braille blank: a blank-looking entry would not be empty otherwise).
# Three contexts keep a format character, where it is part of what people see:
# - a zero-width joiner inside an emoji sequence (a family, a profession: one grapheme);
# - the tag characters after a black flag (England's, Scotland's and Wales's flags);
# - a zero-width joiner or non-joiner between letters of a script whose shapes it changes
#   (Persian's "می‌خواهم", an Indic half form).
_JOINING_SCRIPTS = [
    *("Arabic", "Syriac", "Nko", "Mongolian"),
    *("Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu"),
    *("Kannada", "Malayalam", "Sinhala", "Myanmar", "Khmer", "Tibetan"),
]
_JOINING = "[" + "".join(rf"\p{{scx={script}}}" for script in _JOINING_SCRIPTS) + "]"
_EMOJI_BEFORE = r"\p{Extended_Pictographic}[\N{VARIATION SELECTOR-16}\p{Emoji_Modifier}]{0,2}"
_TAGS = r"[\U000E0020-\U000E007F]"
_REMOVED = regex.compile(
    rf"(?!(?<={_EMOJI_BEFORE})\N{{ZERO WIDTH JOINER}}(?=\p{{Extended_Pictographic}}))"
    rf"(?!(?<=\N{{WAVING BLACK FLAG}}{_TAGS}{{0,32}}){_TAGS})"
    rf"(?!(?<={_JOINING})[\N{{ZERO WIDTH NON-JOINER}}\N{{ZERO WIDTH JOINER}}](?={_JOINING}))"
    r"[[\p{Cc}\p{Cf}\p{Cs}\u115F\u1160\u3164\uFFA0\u2800]--[\t\n\v\f\r\x1c-\x1f\x85]]",
    flags=regex.V1,
)
_GRAPHEME = regex.compile(r"\X")


def normalise(text: str) -> str:
    """What an entry shows: invisible characters removed (above), Unicode NFKC (full-width
    letters, ligatures, superscripts and the like become their plain forms: one spelling
    per word people read alike), whitespace runs of any kind made one space, trimmed.
    Removal comes before NFKC, so a mark freed from a removed joiner is composed too and
    normalising twice changes nothing."""
    text = unicodedata.normalize("NFKC", _REMOVED.sub("", text))
    return " ".join(text.split())


def key_of(shown: str) -> str:
    """The counting key of normalised text: Unicode's case folding (str.casefold), made NFKC
    again (folding can decompose: "ǰ" folds to "j" and a combining caron). Case folding is
    not lowercasing: "Straße" and "STRASSE" share the key "strasse"; Turkish "İ" folds to
    "i" and a combining dot (Unicode's default folding, not Turkish rules), dotless i
    (U+0131) stays itself."""
    return unicodedata.normalize("NFKC", shown.casefold())


def graphemes(text: str) -> int:
    """Grapheme clusters: what a person counts as characters (`Intl.Segmenter` in the
    browser counts the same, up to Unicode versions)."""
    return sum(1 for _ in _GRAPHEME.finditer(text))


def entry(text: str, limits: Limits, index: int | None = None) -> Entry:
    """One entry normalised and checked against `limits`, or EntryProblem. A text sent with
    more than RAW_FACTOR times the code-point cap is refused before any work (its `actual`
    is then the length sent): no entry needs that many spaces or invisible characters."""
    if len(text) > RAW_FACTOR * limits.code_points:
        raise EntryProblem(
            TOO_MANY_CODE_POINTS, limit=limits.code_points, actual=len(text), index=index
        )
    shown = normalise(text)
    if not shown:
        raise EntryProblem(EMPTY, index=index)
    # Code points first: cheap, and it bounds the grapheme scan's work.
    if len(shown) > limits.code_points:
        raise EntryProblem(
            TOO_MANY_CODE_POINTS, limit=limits.code_points, actual=len(shown), index=index
        )
    length = graphemes(shown)
    if length > limits.graphemes:
        raise EntryProblem(TOO_LONG, limit=limits.graphemes, actual=length, index=index)
    return Entry(shown, key_of(shown))


def entries(texts: Sequence[str], limits: Limits) -> tuple[Entry, ...]:
    """A voter's submission: each text an entry, in order. Texts empty after normalising
    are dropped (a form's fields left blank); none left is EMPTY. Two entries with one key
    count once (the first's spelling): a voter cannot weigh a term twice."""
    if len(texts) > limits.entries:
        raise EntryProblem(TOO_MANY_ENTRIES, limit=limits.entries, actual=len(texts))
    kept: dict[str, Entry] = {}
    for index, text in enumerate(texts):
        try:
            found = entry(text, limits, index)
        except EntryProblem as problem:
            if problem.code == EMPTY:
                continue
            raise
        kept.setdefault(found.key, found)
    if not kept:
        raise EntryProblem(EMPTY)
    return tuple(kept.values())


# Counting: from stored rows, never from the entries' raw text.


@dataclass(frozen=True)
class Term:
    key: str
    shown: str  # the most common spelling of the key
    count: int
    step: int = 0  # the size step in a cloud, 1 (smallest) to SIZE_STEPS; 0 until sized


@dataclass(frozen=True)
class Cloud:
    terms: tuple[Term, ...]  # the top terms, most counted first, each with its size step
    entries: int  # every counted entry, shown or not
    distinct: int  # how many different keys


def terms(rows: Iterable[tuple[str, str, int]]) -> list[Term]:
    """Rows of (key, spelling, count), as the worker keeps them, merged per key: its total
    and its most common spelling (a tie: the spelling first in code point order, so every
    reader picks the same). Rows with a count of 0 or less are skipped."""
    totals: dict[str, int] = {}
    best: dict[str, tuple[int, str]] = {}
    for key, shown, count in rows:
        if count <= 0:
            continue
        totals[key] = totals.get(key, 0) + count
        current = best.get(key)
        if current is None or (-count, shown) < (-current[0], current[1]):
            best[key] = (count, shown)
    return [Term(key, best[key][1], total) for key, total in totals.items()]


def top(found: Iterable[Term], limit: int = CLOUD_TOP) -> list[Term]:
    """The `limit` most counted terms, most first; a tie goes to the key first in code
    point order (deterministic: every snapshot of the same counts is the same)."""
    return heapq.nsmallest(limit, found, key=lambda term: (-term.count, term.key))


def size_step(count: int, most: int, steps: int = SIZE_STEPS) -> int:
    """A term's size step from exact counts: `steps` for counts above half the largest
    count, one less for each further halving, never below 1. So a word's size changes only
    when its count crosses a power-of-two fraction of the largest, or the largest count
    doubles: a cloud on a projector resizes rarely. Exact integers: floor(log2(most /
    count)) is the bit length of most // count, less one."""
    if count <= 0 or most <= 0:
        return 1
    halvings = (most // count).bit_length() - 1 if count <= most else 0
    return max(1, steps - halvings)


def term_bytes(term: Term, overhead: int = TERM_OVERHEAD) -> int:
    """What a term costs in a snapshot: its spelling and key as JSON (json.dumps' default,
    ASCII escapes, as the snapshots are sent) plus `overhead` for the rest of its object."""
    return len(json.dumps(term.shown)) + len(json.dumps(term.key)) + overhead


def cloud(
    rows: Iterable[tuple[str, str, int]],
    limit: int = CLOUD_TOP,
    *,
    budget: int = CLOUD_BUDGET,
    entries: int | None = None,
    distinct: int | None = None,
) -> Cloud:
    """A cloud from stored (key, spelling, count) rows: its top terms sized, and totals.
    The terms are the `limit` most counted, fewer if they would not fit in `budget` bytes
    (the list ends before the first that does not: still the top ones, in order; only
    long terms in escaped scripts come near it: 100 ASCII words of 8 letters take 8 KB).
    A big poll's reader passes only the rows of its top keys (the database sorts the keys'
    counts) with the poll's totals as `entries` and `distinct`; without them the totals are
    the rows'."""
    merged = terms(rows)
    chosen = top(merged, limit)
    for index, term in enumerate(chosen):
        budget -= term_bytes(term)
        if budget < 0:
            chosen = chosen[:index]
            break
    most = chosen[0].count if chosen else 0
    sized = tuple(
        Term(term.key, term.shown, term.count, size_step(term.count, most)) for term in chosen
    )
    return Cloud(
        sized,
        sum(term.count for term in merged) if entries is None else entries,
        len(merged) if distinct is None else distinct,
    )


@dataclass(frozen=True)
class Card:
    """An open answer's card: one key, its most common spelling, how many gave it, and the
    newest of its entries (a number that grows with time: the newest entry's id)."""

    key: str
    shown: str
    count: int
    newest: int


@dataclass(frozen=True)
class Cards:
    cards: tuple[Card, ...]  # newest first; the client sorts by count for "most common"
    left_out: int  # cards not carried: paged through the API


def card_bytes(card: Card, overhead: int = CARD_OVERHEAD) -> int:
    """What a card costs in a snapshot: its text as JSON (json.dumps' default, ASCII
    escapes, as the snapshots are sent) plus `overhead` for the rest of its object."""
    return len(json.dumps(card.shown)) + overhead


def select_cards(
    cards: Iterable[Card], budget: int = CARDS_BUDGET, overhead: int = CARD_OVERHEAD
) -> Cards:
    """The cards a snapshot carries: taken in turn from the newest and the most common
    (more first, then newer), each once, while they fit in `budget` bytes; a card too big
    for what is left is passed over, so a long answer cannot keep short ones out."""
    every = list(cards)
    newest = sorted(every, key=lambda card: (-card.newest, card.key))
    common = sorted(every, key=lambda card: (-card.count, -card.newest, card.key))
    chosen: dict[str, Card] = {}
    left = budget
    for pair in zip(newest, common, strict=True):
        for card in pair:
            if card.key in chosen:
                continue
            cost = card_bytes(card, overhead)
            if cost <= left:
                chosen[card.key] = card
                left -= cost
    ordered = tuple(sorted(chosen.values(), key=lambda card: (-card.newest, card.key)))
    return Cards(ordered, len(every) - len(ordered))
