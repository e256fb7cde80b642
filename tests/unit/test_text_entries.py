"""Text answers (polls.counting.text), pure: how an entry is normalised, measured and
refused, and how stored counts become a cloud or a wall of cards. Rules as tables, then
properties. Design: docs/text-answers.md."""

# ruff: noqa: RUF001 (look-alike letters are what these tables are about)

from __future__ import annotations

import json
import pickle
import unicodedata

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from polls.counting.text import (
    ANSWER_GRAPHEMES,
    CARD_OVERHEAD,
    CLOUD_GRAPHEMES,
    CODE_POINTS_PER_GRAPHEME,
    EMPTY,
    SIZE_STEPS,
    SNAPSHOT_BYTES,
    TERM_OVERHEAD,
    TOO_LONG,
    TOO_MANY_CODE_POINTS,
    TOO_MANY_ENTRIES,
    Card,
    Entry,
    EntryProblem,
    Limits,
    answer_limits,
    card_bytes,
    cloud,
    cloud_limits,
    entries,
    entry,
    graphemes,
    key_of,
    normalise,
    select_cards,
    size_step,
    term_bytes,
    terms,
    top,
)

ZWSP, ZWNJ, ZWJ, BOM, WJ = "\u200b", "\u200c", "\u200d", "\ufeff", "\u2060"
FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # four people joined by three ZWJs: one grapheme
FAMILY_TONED = "👨🏽\u200d👩🏽\u200d👧🏽\u200d👦🏽"  # eleven code points, one grapheme
ENGLAND = "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"  # a tag sequence

NORMALISED = [
    # (what was typed, what is shown, why)
    ("cats", "cats", "plain text is kept"),
    ("  cats  ", "cats", "trimmed"),
    ("big   cats", "big cats", "inner runs of spaces collapse"),
    ("big\t\n\r\ncats", "big cats", "tabs and line breaks are whitespace, made one space"),
    ("big\u00a0\u2003\u3000cats", "big cats", "no-break, em and ideographic spaces too"),
    ("\u2028big\u2029cats\x85", "big cats", "line and paragraph separators, NEL"),
    ("ｃａｔｓ", "cats", "NFKC: full-width letters"),
    ("ﬁsh", "fish", "NFKC: a ligature"),
    ("x²", "x2", "NFKC: a superscript"),
    ("Cafe\u0301", "Café", "NFKC composes a letter and its accent"),
    ("①", "1", "NFKC: a circled digit"),
    ("wait…", "wait...", "NFKC: the ellipsis is three full stops"),
    ("ｶﾀｶﾅ", "カタカナ", "NFKC: half-width katakana become full-width"),
    (f"py{ZWSP}thon", "python", "zero-width space"),
    (f"py{WJ}thon{BOM}", "python", "word joiner, byte-order mark"),
    (f"py{ZWNJ}th{ZWJ}on", "python", "joiners between Latin letters change nothing seen"),
    ("py\u00adthon", "python", "soft hyphen"),
    ("\u202eevil\u202c", "evil", "right-to-left override and its pop"),
    ("\u202ax\u202by\u202c", "xy", "embeddings"),
    ("\u2066a\u2067b\u2068c\u2069", "abc", "isolates"),
    ("\u200ea\u200fb\u061c", "ab", "directional marks"),
    ("a\x00b\x07c\x1bd\x7f", "abcd", "controls, NUL included (Postgres cannot store it)"),
    ("\ud800cats", "cats", "a lone surrogate (JSON's \\ud800 decodes to one)"),
    ("\u3164", "", "a Hangul filler draws nothing"),
    ("\u2800\u2800", "", "nor does the Braille blank"),
    (f" {ZWSP}\u202e\t", "", "nothing left"),
    (f"e{ZWJ}\u0301", "é", "removal comes before NFKC: the freed accent composes"),
    (FAMILY, FAMILY, "an emoji ZWJ sequence keeps its joiners"),
    (FAMILY_TONED, FAMILY_TONED, "with skin tones too"),
    ("🏳️\u200d🌈", "🏳️\u200d🌈", "after a variation selector: the rainbow flag"),
    ("👩\u200d💻", "👩\u200d💻", "a profession: woman + ZWJ + laptop"),
    (f"👩{ZWJ}", "👩", "a joiner joining nothing goes"),
    (ENGLAND, ENGLAND, "a flag's tag characters stay after the black flag"),
    ("a\U000e0067", "a", "tags anywhere else go"),
    ("می\u200cخواهم", "می\u200cخواهم", "Persian's non-joiner between letters stays"),
    ("क्\u200dष", "क्\u200dष", "a Devanagari half form's joiner stays"),
    (f"\u200cمی{ZWNJ}", "می", "a non-joiner at an edge joins nothing and goes"),
]


@pytest.mark.parametrize(("typed", "shown", "why"), NORMALISED, ids=[n[2] for n in NORMALISED])
def test_normalising(typed: str, shown: str, why: str) -> None:
    assert normalise(typed) == shown, why


KEYS = [
    # (shown, key, why): the key is Python's str.casefold (Unicode's full default case
    # folding), made NFKC again.
    ("Python", "python", "case"),
    ("PYTHON", "python", "case"),
    ("Straße", "strasse", "German ß folds to ss"),
    ("STRASSE", "strasse", "so both spellings count together"),
    ("ẞ", "ss", "capital sharp s too"),
    ("Ὀδυσσεύς", "ὀδυσσεύσ", "Greek final sigma folds to σ"),
    ("İstanbul", "i\u0307stanbul", "Turkish dotted İ: i + combining dot (not Turkish rules)"),
    ("ISTANBUL", "istanbul", "so İstanbul and ISTANBUL count apart"),
    ("ırmak", "ırmak", "dotless ı is not folded to i"),
    ("ǰ", "ǰ", "folding decomposes ǰ; NFKC composes it again"),
    ("ǅ", "dž", "a titlecase digraph: folded, then NFKC splits it in two letters"),
    ("👋🏽", "👋🏽", "emoji have no case"),
]


@pytest.mark.parametrize(("shown", "key", "why"), KEYS, ids=[k[2] for k in KEYS])
def test_counting_keys(shown: str, key: str, why: str) -> None:
    assert key_of(normalise(shown)) == key, why


GRAPHEMES = [
    ("cats", 4),
    ("Café", 4),
    ("e\u0301\u0301\u0301", 1),  # one letter, three accents
    ("👋🏽", 1),  # emoji + skin tone modifier
    (FAMILY, 1),
    (FAMILY_TONED, 1),
    ("🏳️\u200d🌈", 1),
    (ENGLAND, 1),
    ("🇩🇪🇫🇷", 2),  # two flags, four regional indicators
    ("क्षि", 1),  # an Indic conjunct with a vowel sign
    ("한국어", 3),
    ("a b", 3),
]


@pytest.mark.parametrize(("text", "count"), GRAPHEMES)
def test_lengths_count_grapheme_clusters(text: str, count: int) -> None:
    assert graphemes(text) == count


CLOUD = cloud_limits()  # 3 entries of 25 graphemes, 100 code points


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a" * CLOUD_GRAPHEMES, None),
        ("a" * (CLOUD_GRAPHEMES + 1), TOO_LONG),
        ("a" * (CLOUD_GRAPHEMES - 1), None),
        ("👋🏽" * CLOUD_GRAPHEMES, None),  # 50 code points, 25 graphemes
        (FAMILY_TONED * 9, None),  # 99 code points in 9 graphemes: under the cap
        (FAMILY_TONED * 10, TOO_MANY_CODE_POINTS),  # 110 code points, 10 graphemes
        ("x" + "\u0301" * 1000, TOO_MANY_CODE_POINTS),  # a combining-mark bomb: 1 grapheme
        # x has no precomposed acute, so NFKC keeps every code point
        ("x" + "\u0301" * 99, None),  # 100 code points exactly
        ("x" + "\u0301" * 100, TOO_MANY_CODE_POINTS),  # 101
        ("  " + "a" * CLOUD_GRAPHEMES + "  ", None),  # measured after trimming
        ("a" + ZWSP * 200, None),  # and after removing what is invisible
        ("a" * 25 + " " * 775, None),  # 800 sent: 8 times the cap, normalised first
        ("a" * 25 + " " * 776, TOO_MANY_CODE_POINTS),  # 801: refused before any work
        ("\u202e \t", EMPTY),
    ],
)
def test_an_entry_is_measured_after_normalising(text: str, problem: str | None) -> None:
    if problem is None:
        assert entry(text, CLOUD).shown == normalise(text)
        return
    with pytest.raises(EntryProblem) as raised:
        entry(text, CLOUD)
    assert raised.value.code == problem


def test_a_problem_carries_the_numbers_for_its_message() -> None:
    with pytest.raises(EntryProblem) as long:
        entry("a" * 26, CLOUD, index=2)
    assert (long.value.code, long.value.limit, long.value.actual, long.value.index) == (
        TOO_LONG,
        25,
        26,
        2,
    )
    copied = pickle.loads(pickle.dumps(long.value))  # noqa: S301 (our own bytes)
    assert (copied.code, copied.limit, copied.actual, copied.index) == (TOO_LONG, 25, 26, 2)
    with pytest.raises(EntryProblem) as bomb:
        entry("x" + "\u0301" * 150, CLOUD)
    assert (bomb.value.limit, bomb.value.actual) == (100, 151)


def test_the_defaults_are_the_issues() -> None:
    assert answer_limits() == Limits(1, ANSWER_GRAPHEMES, CODE_POINTS_PER_GRAPHEME * 280)
    assert (CLOUD.entries, CLOUD.graphemes, CLOUD.code_points) == (3, 25, 100)
    entry("a" * 280, answer_limits())
    with pytest.raises(EntryProblem):
        entry("a" * 281, answer_limits())


@pytest.mark.parametrize("count", [0, 6])
def test_a_cloud_takes_one_to_five_entries(count: int) -> None:
    assert cloud_limits(1).entries == 1
    assert cloud_limits(5).entries == 5
    with pytest.raises(ValueError, match="1-5 entries"):
        cloud_limits(count)


def test_limits_that_cannot_be_met_are_refused() -> None:
    with pytest.raises(ValueError, match="impossible limits"):
        Limits(1, 10, code_points=9)
    with pytest.raises(ValueError, match="impossible limits"):
        Limits(1, 0)
    with pytest.raises(ValueError, match="impossible limits"):
        Limits(0, 10)


SUBMISSIONS = [
    # (texts, limit of entries, shown entries or a problem code)
    (["cats"], 1, ["cats"]),
    (["cats", "dogs", "owls"], 3, ["cats", "dogs", "owls"]),
    (["cats", "dogs", "owls", "bats"], 3, TOO_MANY_ENTRIES),
    (["cats", "dogs"], 1, TOO_MANY_ENTRIES),
    (["cats", "", "  "], 3, ["cats"]),  # a form's blank fields are dropped
    (["", ZWSP, "\t"], 3, EMPTY),
    ([], 3, EMPTY),
    (["Cats", "cats", "CATS"], 3, ["Cats"]),  # one key counts once: the first spelling
    (["Straße", "strasse"], 3, ["Straße"]),
    (["cats", "a" * 26], 3, TOO_LONG),  # one bad entry refuses the submission
]


@pytest.mark.parametrize(("texts", "limit", "expected"), SUBMISSIONS)
def test_a_voters_submission(texts: list[str], limit: int, expected: list[str] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(EntryProblem) as raised:
            entries(texts, cloud_limits(limit))
        assert raised.value.code == expected
        return
    assert [e.shown for e in entries(texts, cloud_limits(limit))] == expected


def test_an_entry_is_its_shown_text_and_key() -> None:
    assert entries(["  Big\u00a0CATS "], CLOUD) == (Entry("Big CATS", "big cats"),)
    with pytest.raises(AttributeError):
        entry("x", CLOUD).key = "y"  # type: ignore[misc]


def test_the_bad_entry_is_named_by_its_position() -> None:
    with pytest.raises(EntryProblem) as raised:
        entries(["cats", "dogs", "a" * 30], CLOUD)
    assert raised.value.index == 2


# Counting: from stored (key, spelling, count) rows.


def test_a_term_shows_its_most_common_spelling() -> None:
    rows = [("python", "Python", 3), ("python", "python", 5), ("python", "PYTHON", 1)]
    assert [(t.key, t.shown, t.count) for t in terms(rows)] == [("python", "python", 9)]


def test_spellings_tied_in_count_show_the_first_in_code_point_order() -> None:
    one = [("python", "python", 2), ("python", "Python", 2)]
    assert terms(one)[0].shown == "Python" == terms(list(reversed(one)))[0].shown


def test_rows_of_one_key_add_up_and_empty_rows_are_skipped() -> None:
    rows = [("cats", "cats", 2), ("cats", "cats", 3), ("dogs", "dogs", 0)]
    assert [(t.key, t.count) for t in terms(rows)] == [("cats", 5)]


def test_the_top_terms_are_the_most_counted_ties_in_key_order() -> None:
    found = terms([("b", "b", 2), ("a", "a", 2), ("c", "c", 5), ("d", "d", 1)])
    assert [t.key for t in top(found)] == ["c", "a", "b", "d"]
    assert [t.key for t in top(found, 2)] == ["c", "a"]


def test_a_cloud_carries_the_top_100_and_totals_of_all() -> None:
    rows = [(f"w{i:03}", f"W{i:03}", 1000 - i) for i in range(150)]
    made = cloud(rows)
    assert len(made.terms) == 100
    assert made.terms[0].key == "w000"
    assert made.terms[-1].key == "w099"
    assert made.distinct == 150
    assert made.entries == sum(1000 - i for i in range(150))


def test_a_clouds_terms_stop_before_the_first_that_would_pass_the_budget() -> None:
    rows = [(f"{i:02}" + "x" * 50, f"{i:02}" + "x" * 50, 100 - i) for i in range(10)]
    each = 2 * len('"00xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"') + TERM_OVERHEAD
    assert term_bytes(cloud(rows).terms[0]) == each
    assert len(cloud(rows, budget=3 * each).terms) == 3
    assert len(cloud(rows, budget=3 * each - 1).terms) == 2
    assert cloud(rows, budget=3 * each).distinct == 10  # totals are of every term


def test_100_words_fit_a_snapshot_and_long_emoji_terms_are_cut_to_fit() -> None:
    words = [(f"word{i:03}", f"Word{i:03}", 200 - i) for i in range(150)]
    made = cloud(words)
    assert len(made.terms) == 100
    objects = [{"text": t.shown, "key": t.key, "count": 1234567, "step": 5} for t in made.terms]
    assert len(json.dumps(objects)) <= sum(term_bytes(t) for t in made.terms) < 8 * 1024
    # 100 code points of emoji each, escaped as surrogate pairs: 1,200 bytes a spelling.
    heavy = [(f"{i:03}" + "👋🏽" * 48, f"{i:03}" + "👋🏽" * 48, 200 - i) for i in range(100)]
    cut = cloud(heavy)
    assert 0 < len(cut.terms) < 100
    shipped = json.dumps([[t.shown, t.key, t.count, t.step] for t in cut.terms])
    assert len(shipped) < SNAPSHOT_BYTES - 1024


def test_a_big_polls_totals_are_passed_in_with_its_top_rows() -> None:
    made = cloud([("cats", "cats", 7), ("dogs", "Dogs", 5)], entries=5000, distinct=900)
    assert [(t.shown, t.count) for t in made.terms] == [("cats", 7), ("Dogs", 5)]
    assert (made.entries, made.distinct) == (5000, 900)


def test_an_empty_cloud() -> None:
    made = cloud([])
    assert (made.terms, made.entries, made.distinct) == ((), 0, 0)


STEPS = [
    # (count, largest count, step): the top step above half the largest, one less for each
    # further halving, never below 1.
    (16, 16, 5),
    (9, 16, 5),
    (8, 16, 4),
    (5, 16, 4),
    (4, 16, 3),
    (2, 16, 2),
    (1, 16, 1),
    (1, 1000, 1),
    (1, 1, 5),
    (1, 2, 4),
    (3, 4, 5),
    (0, 4, 1),
]


@pytest.mark.parametrize(("count", "most", "step"), STEPS)
def test_size_steps(count: int, most: int, step: int) -> None:
    assert size_step(count, most) == step


def test_size_steps_are_exact_where_floats_are_not() -> None:
    # 2**54 - 1 is 2**54 as a float: floats see exactly half, so one step less.
    assert size_step(2**53, 2**54 - 1) == SIZE_STEPS
    assert size_step(2**53, 2**54) == SIZE_STEPS - 1


def test_one_more_entry_for_a_small_word_resizes_that_word_at_most() -> None:
    rows = [("big", "big", 40), ("mid", "mid", 15), ("small", "small", 3), ("one", "one", 1)]
    before = {t.key: t.step for t in cloud(rows).terms}
    for added in range(1, 10):
        after = {t.key: t.step for t in cloud([*rows, ("small", "small", added)]).terms}
        assert {k: v for k, v in after.items() if k != "small"} == {
            k: v for k, v in before.items() if k != "small"
        }
    # and its own step changes only where its count passes a halving of 40: 5, 10, 20.
    counts = range(4, 21)
    clouds = [cloud([*rows, ("small", "small", n - 3)]).terms for n in counts]
    sizes = [next(t.step for t in made if t.key == "small") for made in clouds]
    assert sizes == [2] * 2 + [3] * 5 + [4] * 10  # 4-5, 6-10, 11-20


def test_every_word_moves_one_step_when_the_largest_doubles() -> None:
    rows = [("big", "big", 16), ("mid", "mid", 8), ("small", "small", 2)]
    assert [t.step for t in cloud(rows).terms] == [5, 4, 2]
    assert [t.step for t in cloud([*rows, ("big", "big", 15)]).terms] == [5, 4, 2]  # 31
    assert [t.step for t in cloud([*rows, ("big", "big", 16)]).terms] == [5, 3, 1]  # 32


# Answers: cards up to a byte budget.


def card(key: str, count: int, newest: int, text: str | None = None) -> Card:
    return Card(key, text or key, count, newest)


def test_all_cards_are_carried_when_they_fit_newest_first() -> None:
    cards = [card("a", 1, 1), card("b", 9, 2), card("c", 3, 3)]
    chosen = select_cards(cards)
    assert [c.key for c in chosen.cards] == ["c", "b", "a"]
    assert chosen.left_out == 0


def test_the_budget_takes_the_newest_and_most_common_in_turn() -> None:
    # Each card costs 3 + overhead; the budget fits four of ten.
    cards = [
        card(f"{i}", count, newest=i) for i, count in enumerate([50, 40, 1, 1, 1, 1, 1, 1, 1, 1])
    ]
    each = card_bytes(cards[0])
    chosen = select_cards(cards, budget=4 * each)
    # newest: 9, 8; most common: 0, 1
    assert [c.key for c in chosen.cards] == ["9", "8", "1", "0"]
    assert chosen.left_out == 6


def test_of_cards_given_as_often_the_newer_is_the_more_common() -> None:
    cards = [card("old", 5, 1), card("new", 5, 2), card("newest", 1, 3)]
    chosen = select_cards(cards, budget=card_bytes(cards[1]) + card_bytes(cards[2]))
    assert [c.key for c in chosen.cards] == ["newest", "new"]


def test_a_card_too_big_for_what_is_left_is_passed_over() -> None:
    cards = [card("long", 1, 3, "x" * 500), card("short", 1, 2), card("other", 1, 1)]
    chosen = select_cards(cards, budget=2 * card_bytes(cards[1]) + 10)
    assert [c.key for c in chosen.cards] == ["short", "other"]


def test_a_cards_cost_is_its_text_as_sent_in_json() -> None:
    # json.dumps escapes non-ASCII: an emoji is a surrogate pair, 12 bytes.
    assert card_bytes(card("k", 1, 1, "👋")) == len('"\\ud83d\\udc4b"') + CARD_OVERHEAD
    assert card_bytes(card("k", 1, 1, 'a"b')) == len('"a\\"b"') + CARD_OVERHEAD


def test_the_default_budget_leaves_a_kb_of_a_16_kb_snapshot_for_the_rest() -> None:
    cards = [card(f"{i:05}", 1, i, "a" * 280) for i in range(1000)]
    chosen = select_cards(cards)
    carried = sum(card_bytes(c) for c in chosen.cards)
    budget = SNAPSHOT_BYTES - 1024
    assert budget - card_bytes(cards[0]) < carried <= budget
    objects = [{"text": c.shown, "count": 1234567, "newest": 2**62} for c in chosen.cards]
    assert len(json.dumps(objects)) <= carried  # the overhead covers a card's other fields


# Properties.

ANY_TEXT = st.text(st.characters(codec=None), max_size=40)
# Text people type: letters, marks, digits, spaces, emoji and the invisible characters.
TYPED = st.text(
    st.one_of(
        st.characters(categories=("L", "M", "N", "Zs", "So")),
        st.sampled_from([ZWSP, ZWNJ, ZWJ, BOM, "\u202e", "\u2066", "\t", "\n", "🏽", "\ufe0f"]),
    ),
    max_size=60,
)


@hsettings(max_examples=500)
@given(ANY_TEXT)
def test_normalising_twice_changes_nothing(text: str) -> None:
    shown = normalise(text)
    assert normalise(shown) == shown


@hsettings(max_examples=500)
@given(ANY_TEXT)
def test_the_key_of_a_key_is_the_key(text: str) -> None:
    key = key_of(normalise(text))
    assert key_of(normalise(key)) == key
    assert normalise(key) == key


@hsettings(max_examples=300)
@given(TYPED)
def test_shown_text_is_nfkc_trimmed_and_free_of_controls(text: str) -> None:
    shown = normalise(text)
    assert shown == unicodedata.normalize("NFKC", shown)
    assert shown == shown.strip()
    assert "  " not in shown
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in shown)
    assert not any(c in shown for c in (ZWSP, BOM, "\u202e", "\u2066", "\t", "\n"))


@hsettings(max_examples=300)
@given(TYPED, st.integers(1, 30))
def test_an_accepted_entry_is_within_its_limits(text: str, length: int) -> None:
    limits = Limits(1, length)
    try:
        accepted = entry(text, limits)
    except EntryProblem as problem:
        refused = problem.code
    else:
        refused = ""
    if refused:
        assert refused in (EMPTY, TOO_LONG, TOO_MANY_CODE_POINTS)
        return
    assert 1 <= graphemes(accepted.shown) <= length
    assert len(accepted.shown) <= limits.code_points


@hsettings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.sampled_from("aAbB"), st.integers(0, 9))))
def test_counting_keeps_every_entry_and_orders_by_count(rows: list[tuple[str, str, int]]) -> None:
    made = cloud(rows)
    assert made.entries == sum(count for _, _, count in rows)
    counts = [t.count for t in made.terms]
    assert counts == sorted(counts, reverse=True)
    assert all(1 <= t.step <= SIZE_STEPS for t in made.terms)
    assert all(t.step == SIZE_STEPS for t in made.terms[:1])
