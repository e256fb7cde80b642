"""The profanity filter, Django-free: does a text hold a word of the vendored lists?

`check(text, languages)` returns the first `Finding` (the list's word, the languages whose
lists have it, where it is in the text) or None; `findings` returns them all. The caller
decides what a finding does (hold for review or refuse): the filter only says what it
found. Lists: LDNOOBW's English, German, French and Spanish (npm naughty-words, CC-BY-4.0,
vendored unchanged in polls/profanity_lists/), plus our table of `ORDINARY` words below.
Rules, reasons and cost: docs/moderation.md.

How a text is matched, word by word (never inside a word: "Scunthorpe", "class"):
- folded: NFKD, combining marks dropped, case-folded ("ÉNCULÉ" is "encule", "ß" is "ss");
- stretched letters: a word matches a list word when it is that word with some letters
  repeated ("baaad" is "bad"), never with fewer ("as" is not "ass");
- separators: single letters separated by separators join ("b.a.d", "b a d"), and so do
  the parts of a word split by separators without spaces ("ba-d", "b_a_d");
- a list entry of several words matches those words in a row, whatever separates them;
- an entry with no letter or digit (an emoji) matches anywhere in the text.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import regex

LANGUAGES = ("en", "de", "fr", "es")  # the site's four; the default
LISTS = Path(__file__).resolve().parent / "profanity_lists"

# Ordinary words that a list word matches: a text word that is (a stretching of) one of
# these, in a language the poll uses, is let through. Keys are written as the language
# writes them, accents kept: an accent tells "cono" (a cone) from "coño". Three kinds:
# - a word of one list that is an ordinary word of another language (the cross-language
#   false positives: French "bite" is English "bite"; German "Bitte" is French "bite"
#   stretched);
# - an ordinary word that folding accents away makes a list word (French "péter" is the
#   name "Peter"; Spanish "coño" is "cono");
# - the list's own entries that are first an ordinary word of its own language, which a
#   poll's answers hold for innocent reasons (Spanish "martillo", a hammer).
# With the default (all four languages) each is let through everywhere; a poll that sets
# fewer languages catches the list word again ("dick" in an English-only poll).
ORDINARY: dict[str, frozenset[str]] = {
    word: frozenset(languages.split())
    for word, languages in {
        # cross-language: the list word is an ordinary word there
        "bite": "en",  # fr list: English "to bite"
        "bitte": "de",  # fr list: German "please" (and "bite" stretched)
        "con": "en es",  # fr list: Spanish "with", English "pros and cons"
        "dick": "de",  # en list: German "thick, fat"
        "negro": "es",  # en and fr lists: Spanish "black"
        "trio": "en de fr es",  # es list: a trio in all four
        "trío": "es",
        "rosette": "en de fr",  # de list: a rosette
        # folding accents away makes these list words
        "peter": "en de fr es",  # fr "péter": the name
        "pedale": "de",  # fr "pédale": German "Pedale"
        "cono": "es",  # es "coño": Spanish "cone"
        # the list's own entries that are first ordinary words of its language
        "martillo": "es",  # a hammer
        "asno": "es",  # a donkey
        "concha": "es",  # a shell
        "heroína": "es",  # a heroine
        "heroina": "es",
        "drogas": "es",  # drugs
        "asesinato": "es",  # a murder
        "infierno": "es",  # hell
        "baiser": "fr",  # a kiss
        "bander": "fr",  # to bandage
        "folle": "fr",  # mad (feminine)
        "gerbe": "fr",  # a sheaf, a bouquet
        "tanche": "fr",  # a tench (a fish)
        "ramoner": "fr",  # to sweep a chimney
        "jouir": "fr",  # to enjoy
        "bonze": "de",  # a bigwig; a monk
        "mufti": "de",  # a Muslim scholar
    }.items()
}

_FORMAT = regex.compile(r"\p{Cf}")  # invisible: a zero-width space must not split a word
_WORD = regex.compile(r"[\p{L}\p{N}\p{M}]+")
_REPEATS = regex.compile(r"(.)\1+")
_SPACE = regex.compile(r"\s")
GAP = 3  # at most this many separators between the parts of one word ("b . a . d")


@dataclass(frozen=True)
class Finding:
    """A list word found: `word` as its list writes it, the `languages` (of those asked)
    whose lists have it, and `start`, `end`: where it is in the text checked."""

    word: str
    languages: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class _Part:
    """One word of the folded text, or several joined (`b.a.d`): its folded letters, its
    letters collapsed ("baaad" to "bad") and the lengths of their runs, and the spans of
    its pieces in the text as given."""

    folded: str
    collapsed: str
    runs: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]


def _runs(word: str) -> tuple[str, tuple[int, ...]]:
    """A word's letters with each run of one letter made one, and the runs' lengths."""
    letters: list[str] = []
    runs: list[int] = []
    for letter in word:
        if letters and letters[-1] == letter:
            runs[-1] += 1
        else:
            letters.append(letter)
            runs.append(1)
    return "".join(letters), tuple(runs)


def _stretches(runs: Sequence[int], of: Sequence[int]) -> bool:
    """Whether a word with these runs is `of`'s word (same letters collapsed) with letters
    repeated: every run at least as long."""
    return all(mine >= theirs for mine, theirs in zip(runs, of, strict=True))


@functools.cache
def _fold_char(char: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    ).casefold()


def fold(text: str) -> tuple[str, list[int]]:
    """The text folded (NFKD, combining marks dropped, case-folded, invisible format
    characters removed) and, for each folded character, its index in the text."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    folded: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        if _FORMAT.match(char):
            continue
        for out in _fold_char(char):
            folded.append(out)
            where.append(index)
    return "".join(folded), where


def _kept(text: str) -> str:
    """A word as its language writes it, for `ORDINARY`: case-folded, accents kept."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text).casefold())


def _parts(folded: str, where: Sequence[int]) -> tuple[list[_Part], list[_Part]]:
    """The folded text's words, and the same with words joined: single letters separated
    by at most `GAP` separators ("b . a . d"), and pieces separated by at most `GAP`
    separators without a space ("ba-d")."""
    words: list[_Part] = []
    joined: list[_Part] = []
    group: list[_Part] = []
    previous_end = 0
    for match in _WORD.finditer(folded):
        start, end = match.span()
        collapsed, runs = _runs(match.group())
        word = _Part(match.group(), collapsed, runs, ((where[start], where[end - 1] + 1),))
        words.append(word)
        if group:
            gap = folded[previous_end:start]
            single = len(group[-1].collapsed) == 1 and len(word.collapsed) == 1
            if not (len(gap) <= GAP and (single or not _SPACE.search(gap))):
                joined.append(_join(group))
                group = []
        group.append(word)
        previous_end = end
    if group:
        joined.append(_join(group))
    return words, joined


def _join(group: list[_Part]) -> _Part:
    if len(group) == 1:
        return group[0]
    folded = "".join(part.folded for part in group)
    collapsed, runs = _runs(folded)
    return _Part(folded, collapsed, runs, tuple(span for part in group for span in part.spans))


@dataclass(frozen=True)
class _Entry:
    word: str  # as the first list that has it writes it
    languages: tuple[str, ...]
    words: tuple[tuple[str, tuple[int, ...]], ...]  # each word collapsed, with its runs


class Filter:
    """The lists of some languages, indexed once: by each entry's first word collapsed."""

    def __init__(
        self,
        languages: Iterable[str] = LANGUAGES,
        ordinary: Mapping[str, frozenset[str]] = ORDINARY,
    ) -> None:
        self.languages = tuple(dict.fromkeys(languages))
        unknown = set(self.languages) - set(LANGUAGES)
        if unknown:
            raise ValueError(f"no word list for {sorted(unknown)}; there are {LANGUAGES}")
        found: dict[tuple[str, ...], tuple[str, list[str]]] = {}
        self.symbols: dict[str, tuple[str, list[str]]] = {}
        for language in self.languages:
            for raw in word_list(language):
                folded, _ = fold(raw.strip())
                words = tuple(_WORD.findall(folded))
                if not words:
                    if folded:
                        self.symbols.setdefault(folded, (raw, []))[1].append(language)
                    continue
                found.setdefault(words, (raw, []))[1].append(language)
        self.entries: dict[str, list[_Entry]] = {}
        for words, (raw, having) in found.items():
            entry = _Entry(raw, tuple(having), tuple(_runs(word) for word in words))
            self.entries.setdefault(entry.words[0][0], []).append(entry)
        self.ordinary: dict[str, list[tuple[int, ...]]] = {}
        for word, where_ordinary in ordinary.items():
            if where_ordinary & set(self.languages):
                collapsed, runs = _runs(word)
                self.ordinary.setdefault(collapsed, []).append(runs)

    def _is_ordinary(self, text: str, part: _Part) -> bool:
        kept = _kept("".join(text[start:end] for start, end in part.spans))
        collapsed, runs = _runs(kept)
        return any(_stretches(runs, of) for of in self.ordinary.get(collapsed, ()))

    def _matches(self, text: str, parts: Sequence[_Part]) -> Iterator[Finding]:
        for index, part in enumerate(parts):
            for entry in self.entries.get(part.collapsed, ()):
                after = parts[index : index + len(entry.words)]
                if len(after) < len(entry.words) or not all(
                    mine.collapsed == collapsed and _stretches(mine.runs, runs)
                    for mine, (collapsed, runs) in zip(after, entry.words, strict=False)
                ):
                    continue
                if len(entry.words) == 1 and self._is_ordinary(text, part):
                    continue
                yield Finding(entry.word, entry.languages, part.spans[0][0], after[-1].spans[-1][1])

    def findings(self, text: str) -> list[Finding]:
        """Every list word in the text, each place once: in order of where it starts, the
        longest first (a phrase before its words)."""
        folded, where = fold(text)
        words, joined = _parts(folded, where)
        found = {(f.word, f.start, f.end): f for f in self._matches(text, words)}
        if len(joined) < len(words):
            for finding in self._matches(text, joined):
                found.setdefault((finding.word, finding.start, finding.end), finding)
        for symbol, (raw, languages) in self.symbols.items():
            at = folded.find(symbol)
            if at >= 0:
                start, end = where[at], where[at + len(symbol) - 1] + 1
                found.setdefault((raw, start, end), Finding(raw, tuple(languages), start, end))
        return sorted(found.values(), key=lambda f: (f.start, -f.end, f.word))

    def check(self, text: str) -> Finding | None:
        """The first list word in the text, or None."""
        found = self.findings(text)
        return found[0] if found else None


@functools.cache
def word_list(language: str) -> tuple[str, ...]:
    """A language's vendored list, as its package ships it."""
    if language not in LANGUAGES:
        raise ValueError(f"no word list for {language!r}")
    words: list[str] = json.loads((LISTS / f"{language}.json").read_text(encoding="utf-8"))
    return tuple(words)


@functools.cache
def _filter(languages: frozenset[str]) -> Filter:
    return Filter(sorted(languages, key=LANGUAGES.index))


def filter_for(languages: Iterable[str] = LANGUAGES) -> Filter:
    """The filter of these languages, built once per set and kept."""
    chosen = frozenset(languages)
    if not chosen <= set(LANGUAGES):
        raise ValueError(
            f"no word list for {sorted(chosen - set(LANGUAGES))}; there are {LANGUAGES}"
        )
    return _filter(chosen)


def check(text: str, languages: Iterable[str] = LANGUAGES) -> Finding | None:
    """The first word of the languages' lists in the text (None: nothing found)."""
    return filter_for(languages).check(text)


def findings(text: str, languages: Iterable[str] = LANGUAGES) -> list[Finding]:
    """Every word of the languages' lists in the text."""
    return filter_for(languages).findings(text)
