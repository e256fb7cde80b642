"""The profanity filter (polls.profanity), pure: what it catches and what it lets through,
per language, with the evasions it undoes; the cross-language table; the language setting;
properties. Design: docs/moderation.md.

Test data warning: the tables quote rude words of the vendored lists in English, German,
French and Spanish, the fewest that show each rule (one or two a language)."""

# ruff: noqa: RUF001 (full-width letters are what some rows are about)

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from polls import profanity
from polls.counting.text import normalise
from polls.profanity import LANGUAGES, ORDINARY, Filter, check, findings, fold, word_list

ROOT = Path(__file__).resolve().parents[2]

# --- rude words (test data) ----------------------------------------------------------------
EN, EN_PHRASE = "shit", "piece of shit"
DE = "arschloch"
FR, FR_PHRASE = "merde", "fils de pute"
ES, ES_PHRASE = "Mierda", "Hijo de puta"  # as the Spanish list writes them
# -------------------------------------------------------------------------------------------


def caught(text: str, languages: tuple[str, ...] = LANGUAGES) -> str | None:
    """The list word the filter reports first, as its list writes it, or None."""
    finding = check(text, languages)
    return finding.word if finding else None


# What each language's list catches, with the evasions the filter undoes: (text, word).
CATCHES = {
    "en": [
        ("that was shit", EN),
        ("That was SHIT!", EN),
        ("Shiiiiit", EN),  # stretched
        ("s.h.i.t", EN),  # single letters with separators
        ("s h i t", EN),
        ("s-h-i-t", EN),
        ("s_h_i_t", EN),
        ("s . h . i . t", EN),
        ("sh.it", EN),  # pieces without a space
        ("sh-it happens", EN),
        ("shït", EN),  # an accent added
        ("ｓｈｉｔ", EN),  # full-width letters
        ("sh\u200bit", EN),  # a zero-width space inside
        ("what a piece of shit", EN_PHRASE),  # the phrase starts before the word
    ],
    "de": [
        ("So ein Arschloch", DE),
        ("ARSCHLOCH", DE),
        ("Arschloooch", DE),
        ("A.r.s.c.h.l.o.c.h", DE),
        ("a r s c h l o c h", DE),
        ("Arsch-loch", DE),
        ("Scheiße", "scheiße"),  # the list's own spelling, with ß
        ("SCHEISSE", "scheiße"),  # ß folds to ss
    ],
    "fr": [
        ("Oh merde", FR),
        ("MERDE!!!", FR),
        ("merdeeee", FR),
        ("m.e.r.d.e", FR),
        ("m e r d e", FR),
        ("mèrde", FR),
        ("quel fils de pute", FR_PHRASE),
        ("fils-de-pute", FR_PHRASE),
        ("Fils  de   PUTE", FR_PHRASE),
        ("l'enculé", "enculé"),  # elided article: a word of its own
        ("encule", "enculé"),  # typed without its accent
    ],
    "es": [
        ("Qué mierda", ES),
        ("MIERDA", ES),
        ("mierdaaaa", ES),
        ("m-i-e-r-d-a", ES),
        ("m i e r d a", ES),
        ("hijo de puta", ES_PHRASE),
        ("HIJO DE PUTA", ES_PHRASE),
        ("coño", "Coño"),  # with its ñ (without it, a cone: below)
        ("COÑO", "Coño"),
    ],
}


@pytest.mark.parametrize(
    ("language", "text", "word"),
    [(language, text, word) for language, rows in CATCHES.items() for text, word in rows],
)
def test_what_each_list_catches(language: str, text: str, word: str) -> None:
    assert caught(text, (language,)) == word
    assert caught(text) == word  # the default: all four lists


@pytest.mark.parametrize(
    ("language", "text"),
    [(language, text) for language, rows in CATCHES.items() for text, _ in rows],
)
def test_another_languages_list_alone_does_not_catch_them(language: str, text: str) -> None:
    others = tuple(other for other in LANGUAGES if other != language)
    assert caught(text, others) is None


# Let through whatever the languages: ordinary words, list words inside longer words,
# words the lists do not have.
LETS_THROUGH = [
    "Scunthorpe United",  # a list word inside a word
    "a class to assess",
    "as you wish",  # "ass" has two s: fewer letters never match
    "Mist, das ist Gift!",  # German: damn, poison
    "eine lange Fahrt",  # German: a journey
    "voy a coger el autobús",  # Spanish: to catch (vulgar in much of Latin America)
    "Bitte schön",  # German: please
    "don't bite the hand",
    "café con leche",
    "Moby Dick ist dick",
    "Peter and Paul",
    "un cono de helado",
    "el martillo",
    "un baiser sur la joue",
    "die Pedale des Fahrrads",
    "el trío de jazz",
    "Merci, à demain!",
    "Sehr gut, danke.",
    "¡Muy bien, gracias!",
    "s h o r t",  # single letters joined, but to no list word
    "e.g. the U.S.A.",
    "",
]


@pytest.mark.parametrize("text", LETS_THROUGH)
def test_what_it_lets_through_by_default(text: str) -> None:
    assert findings(text) == []


# Known cross-language false positives: what the language setting does with each. A word
# that is ordinary in one of the poll's languages is let through; a poll without that
# language catches it. (text, languages, the list word caught or None)
CROSS_LANGUAGE = [
    ("Bitte", ("fr",), "bite"),  # French list's "bite", stretched
    ("Bitte", ("fr", "de"), None),  # German "please"
    ("Bitte", LANGUAGES, None),
    ("bite", ("fr",), "bite"),
    ("bite", ("fr", "en"), None),  # English "to bite"
    ("bite", LANGUAGES, None),
    ("Dick", ("en",), "dick"),  # an English name, and the list word
    ("Dick", ("en", "de"), None),  # German "thick"
    ("Dick", LANGUAGES, None),
    ("con", ("fr",), "con"),
    ("con", ("fr", "es"), None),  # Spanish "with"
    ("con", ("fr", "en"), None),  # "pros and cons"
    ("negro", ("en",), "negro"),
    ("negro", ("en", "es"), None),  # Spanish "black"
    ("Peter", ("fr",), None),  # a name in all four: accents folded, "péter"
    ("péter", ("fr",), "péter"),  # with its accent, the French list word
    ("péter", LANGUAGES, "péter"),
    ("cono", ("es",), None),  # Spanish "cone"
    ("coño", ("es",), "Coño"),
    ("Pedale", ("fr",), "pédale"),  # German "pedals" in a French-only poll
    ("Pedale", ("fr", "de"), None),
    ("pédale", LANGUAGES, "pédale"),  # with its accent: the French slur
    ("ein Ass", LANGUAGES, "ass"),  # German "ace" is rare: held, so English "ass" is caught
    ("ein Ass", ("de",), None),
    ("Gift", LANGUAGES, None),  # German "poison": on no list
    ("Mist", LANGUAGES, None),  # German "damn", English "mist": on no list
    ("Fahrt", LANGUAGES, None),  # not "fart": whole words, no sound-alikes
    ("coger", ("es",), None),  # not on the Spanish list
    ("Scunthorpe", ("en",), None),
    ("class", ("en",), None),
    ("assess", ("en",), None),
]


@pytest.mark.parametrize(("text", "languages", "word"), CROSS_LANGUAGE)
def test_the_known_cross_language_false_positives(
    text: str, languages: tuple[str, ...], word: str | None
) -> None:
    assert caught(text, languages) == word


def test_ordinary_words_are_let_through_stretched_or_spelled_out_too() -> None:
    assert caught("Bittttte", ("fr", "de")) is None
    assert caught("b.i.t.t.e", ("fr", "de")) is None
    assert caught("b.i.t.t.e", ("fr",)) == "bite"


def test_a_phrase_is_caught_even_when_its_words_are_ordinary() -> None:
    # "folle" (mad) is ordinary in French; "grande folle" is the list's slur
    assert caught("folle", ("fr",)) is None
    assert caught("une grande folle", ("fr",)) == "grande folle"


def test_every_ordinary_word_is_written_as_its_language_writes_it_and_matters() -> None:
    """Each row of the exception table is case-folded, in the four languages, and a word
    that the lists catch without the table (else it is dead weight)."""
    without_exceptions = Filter(LANGUAGES, ordinary={})
    for word, languages in ORDINARY.items():
        assert word == unicodedata.normalize("NFC", word.casefold()), word
        assert languages, word
        assert languages <= set(LANGUAGES), word
        assert without_exceptions.check(word), f"{word}: no list word matches it"
        assert check(word, tuple(languages)) is None, word


def test_the_finding_says_where_the_word_is_in_the_text_as_given() -> None:
    text = "Oh, sh.i.t happens"
    (finding,) = findings(text, ("en",))
    assert text[finding.start : finding.end] == "sh.i.t"
    assert finding.languages == ("en",)
    text = "ＳＨＩＴ！ and « Scheiße »"
    found = findings(text)
    assert [text[f.start : f.end] for f in found] == ["ＳＨＩＴ", "Scheiße"]
    assert [f.languages for f in found] == [("en",), ("de",)]


def test_every_list_that_has_the_word_is_named() -> None:
    # "porno" is on the English and German lists; only the languages asked are named
    assert [f.languages for f in findings("porno")] == [("en", "de")]
    assert [f.languages for f in findings("porno", ("de",))] == [("de",)]


def test_a_phrase_and_its_word_are_both_found_the_phrase_first() -> None:
    found = findings(f"quel {FR_PHRASE}", ("fr",))
    assert [f.word for f in found] == [FR_PHRASE, "pute"]


def test_an_entry_without_letters_matches_anywhere() -> None:
    # the English list's one emoji, the middle finger, here with a skin tone
    assert caught("ok\N{REVERSED HAND WITH MIDDLE FINGER EXTENDED}\U0001f3fd!", ("en",)) == (
        "\N{REVERSED HAND WITH MIDDLE FINGER EXTENDED}"
    )


def test_it_runs_on_the_text_engines_shown_text() -> None:
    # what the engine shows (invisible characters removed, NFKC) is caught as typed
    shown = normalise("  s\u200bh\u2060i\u00adt  ")
    assert caught(shown, ("en",)) == EN


def test_the_languages_setting() -> None:
    assert caught("Scheiße", ("en",)) is None
    assert caught("Scheiße", ("de",)) == "scheiße"
    assert caught("Scheiße", ()) is None  # no list: nothing caught
    with pytest.raises(ValueError, match="no word list"):
        check("hello", ("it",))
    with pytest.raises(ValueError, match="no word list"):
        Filter(("en", "xx"))


def test_a_filter_is_built_once_per_set_of_languages() -> None:
    assert profanity.filter_for(("de", "en")) is profanity.filter_for(["en", "de", "en"])
    assert profanity.filter_for(("en",)) is not profanity.filter_for(("de",))


def test_each_list_is_the_vendored_one_and_not_empty() -> None:
    for language in LANGUAGES:
        assert len(word_list(language)) > 50, language
    assert "arschloch" in word_list("de")


def test_folding_maps_each_folded_character_to_where_it_was() -> None:
    assert fold("Straße") == ("strasse", [0, 1, 2, 3, 4, 4, 5])
    assert fold("ÉtÉ") == ("ete", [0, 1, 2])
    assert fold("a\u200bb") == ("ab", [0, 2])


def _catalogue(path: Path) -> list[tuple[str, str]]:
    """(field, text) of a gettext catalogue: msgid and msgstr, continuation lines joined."""
    entries: list[tuple[str, str]] = []
    field, text = "", None
    for line in path.read_text(encoding="utf-8").splitlines():
        start = re.match(r'(msgid|msgstr(?:\[\d\])?) "(.*)"$', line)
        if start:
            if text is not None:
                entries.append((field, text))
            field, text = start.group(1), start.group(2)
        elif line.startswith('"') and text is not None:
            text += line[1:-1]
    if text is not None:
        entries.append((field, text))
    return entries


CATALOGUES = sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po"))


@pytest.mark.parametrize("path", CATALOGUES, ids=[str(p.relative_to(ROOT)) for p in CATALOGUES])
def test_the_sites_own_words_in_four_languages_pass(path: Path) -> None:
    """Real sentences in the four languages: the site's own catalogues, English and its
    translation, pass the filter with every list on."""
    texts = [text for _, text in _catalogue(path) if text]
    assert len(texts) > 20
    assert [(text, findings(text)) for text in texts if findings(text)] == []


# --- properties ----------------------------------------------------------------------------

SEPARATORS = st.sampled_from([".", "-", "_", " ", " . ", "*", "'", "/"])


def _single_words(language: str) -> list[str]:
    """A list's entries of one word of letters that the filter catches alone."""
    words = []
    for entry in word_list(language):
        folded, _ = fold(entry)
        if folded.isalpha() and len(folded) >= 2 and check(entry, (language,)):
            words.append(entry)
    return words


LIST_WORDS = st.sampled_from(LANGUAGES).flatmap(
    lambda language: st.tuples(st.just(language), st.sampled_from(_single_words(language)))
)


@hsettings(max_examples=300, deadline=None)
@given(LIST_WORDS, st.data())
def test_separators_between_the_letters_of_a_caught_word_still_catch(
    language_and_word: tuple[str, str], data: st.DataObject
) -> None:
    language, word = language_and_word
    letters = list(word)
    spelled = letters[0]
    for letter in letters[1:]:
        spelled += data.draw(SEPARATORS) + letter * data.draw(st.integers(1, 3))
    text = f"well {spelled.upper() if data.draw(st.booleans()) else spelled} indeed"
    assert word in [finding.word for finding in findings(text, (language,))], text


def _letters(text: str) -> str:
    """The oracle's folding: accents dropped, case folded, only letters and digits kept,
    each run of one letter made one. Everything the filter matches is a run of words
    whose letters, so folded, are a substring of the text's."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    kept = "".join(c for c in kept if c.isalnum())
    return re.sub(r"(.)\1+", r"\1", kept)


LIST_LETTERS = {_letters(entry) for language in LANGUAGES for entry in word_list(language)} - {""}
# Letters and separators; no "x" (the English list's "xx" would leave few texts without it).
ALPHABET = "abcdefghijklmnopqrstuvwyzäéèöüñßABCDEFGHÄÖÜÉ .-_'!?,"
ENTRIES = sorted({entry for language in LANGUAGES for entry in word_list(language)})


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """A list entry with one letter changed: text close to a list word."""
    entry = draw(st.sampled_from(ENTRIES))
    at = draw(st.integers(0, len(entry) - 1))
    return entry[:at] + draw(st.sampled_from(ALPHABET[:-6])) + entry[at + 1 :]


TEXTS = st.lists(st.one_of(st.text(alphabet=ALPHABET, max_size=12), near_misses()), max_size=6).map(
    " ".join
)


@hsettings(max_examples=400, deadline=None)
@given(TEXTS)
def test_a_text_with_no_list_word_in_its_letters_is_never_caught(text: str) -> None:
    letters = _letters(text)
    assume(not any(word in letters for word in LIST_LETTERS))
    assert findings(text) == []


@hsettings(max_examples=300, deadline=None)
@given(TEXTS)
def test_case_never_changes_what_is_caught(text: str) -> None:
    assert [f.word for f in findings(text)] == [f.word for f in findings(text.swapcase())]
