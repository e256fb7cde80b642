"""Cast-vote records read into a ranked count: a CSV of rank columns, one row per ballot, as
election offices publish them (Minneapolis: `Precinct,rank1,rank2,rank3,weight`, with the
marks `undervote`, `overvote` and `UWI`). Pure: no database, no Django.

What each ballot counts as follows the import rules (organisers' guide, Ranked-choice
rules), as the place's law says:
  - an empty cell, or the undervote mark, is a skipped rank; more than `skipped_allowed`
    skipped ranks in a row before a later mark end the ballot there ("skipped");
  - an overvote skips to the next rank (Minneapolis), or ends the ballot ("overvote": Maine);
  - a candidate ranked again counts once, at the first rank (the repeat is passed over);
  - the write-in mark counts for one candidate, `write_in_name`.
A ballot that ranks no candidate before it ends is inactive from the start, by reason
("undervote" for a blank one); the others make the profile, each ranking with the reason it
ended, if any, for the runoff's inactive counts (polls.counting).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import IO

SKIP = "skip"  # an overvote passes to the next rank
EXHAUST = "exhaust"  # an overvote ends the ballot
OVERVOTE_RULES = (SKIP, EXHAUST)
RANK_COLUMN = re.compile(r"rank\s*(\d+)$", re.IGNORECASE)
MAX_NAME = 200  # a longer cell is not a candidate's name
MAX_PROBLEMS = 100  # listed; more are only counted


@dataclass(frozen=True)
class RecordFormat:
    """How a file writes its marks; the defaults are Minneapolis'."""

    undervote: str = "undervote"  # besides an empty cell
    overvote: str = "overvote"
    write_in: str = "UWI"  # "" when the file has none
    write_in_name: str = "Write-in"
    weight_column: str = "weight"  # used when the header has it; each row is 1 ballot otherwise
    rank_prefix: str = "rank"  # the rank columns: rank1, rank2... (any case, a space allowed)


@dataclass(frozen=True)
class ImportRules:
    overvote: str = SKIP
    skipped_allowed: int | None = None  # skipped ranks in a row before a mark; None: any

    def __post_init__(self) -> None:
        if self.overvote not in OVERVOTE_RULES:
            raise ValueError(f"overvote rule {self.overvote!r}: one of {', '.join(OVERVOTE_RULES)}")
        if self.skipped_allowed is not None and self.skipped_allowed < 0:
            raise ValueError("skipped ranks allowed: 0 or more, or None for any")


@dataclass(frozen=True)
class Problem:
    line: int  # in the file, from 1 (the header)
    message: str


@dataclass
class Records:
    candidates: list[str]  # by name (the write-in last); choice i + 1 is candidates[i]
    # (ranking of choice numbers, how many ballots, why the ranking ended or ""): the
    # ballots that rank someone, for polls.counting.instant_runoff
    profile: list[tuple[tuple[int, ...], int, str]]
    inactive: dict[str, int]  # ballots that rank nobody, by reason
    rows: int = 0  # ballot rows read
    ballots: int = 0  # their weights' sum
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS
    problem_count: int = 0


class UnreadableRecords(Exception):
    """Not a CSV of cast-vote records at all: not UTF-8, not CSV, or empty."""


def read_records(
    stream: IO[bytes], form: RecordFormat | None = None, rules: ImportRules | None = None
) -> Records:
    """Read a CSV of cast-vote records. Bad content (a weight not a whole number, a row of
    the wrong width, an overlong mark) is listed by line in `problems`, and that row is
    left out; a file that cannot be read as CSV at all raises UnreadableRecords."""
    form = form or RecordFormat()
    rules = rules or ImportRules()
    reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise UnreadableRecords("the file is empty")
        ballots = _Ballots(header, form, rules)
        for row in reader:
            ballots.add(row, reader.line_num)
    except (UnicodeDecodeError, csv.Error) as error:
        raise UnreadableRecords(f"line {reader.line_num + 1}: {error}") from error
    return ballots.records()


class _Ballots:
    """The rows read so far, as distinct rankings with their ballots."""

    def __init__(self, header: list[str], form: RecordFormat, rules: ImportRules) -> None:
        self.form, self.rules, self.width = form, rules, len(header)
        column = (
            RANK_COLUMN
            if form.rank_prefix == "rank"
            else re.compile(rf"{re.escape(form.rank_prefix)}\s*(\d+)$", re.IGNORECASE)
        )
        ranks = sorted(
            (int(match.group(1)), index)
            for index, name in enumerate(header)
            if (match := column.match(name.strip()))
        )
        self.columns = [index for _, index in ranks]
        self.weight_at = next(
            (i for i, name in enumerate(header) if name.strip() == form.weight_column), None
        )
        self.names: dict[str, int] = {}  # candidate -> a number in order of appearance
        self.seen: Counter[tuple[tuple[int, ...], str]] = Counter()
        self.inactive: Counter[str] = Counter()
        self.counted = Records([], [], {})
        if not self.columns:
            self.problem(
                1, f"no rank columns ({form.rank_prefix}1, {form.rank_prefix}2...) in the header"
            )

    def add(self, row: list[str], line: int) -> None:
        if not self.columns or not any(cell.strip() for cell in row):
            return  # nothing to read, or a blank line
        if len(row) != self.width:
            self.problem(line, f"{len(row)} fields where the header has {self.width}")
            return
        weight = 1
        if self.weight_at is not None:
            cell = row[self.weight_at].strip()
            if not (cell.isascii() and cell.isdigit()):
                self.problem(line, f"weight {cell!r} is not a whole number")
                return
            weight = int(cell)
        cells = [row[index].strip() for index in self.columns]
        if any(len(cell) > MAX_NAME for cell in cells):
            self.problem(line, f"a mark longer than {MAX_NAME} characters")
            return
        if any("\x00" in cell for cell in cells):  # no name has one; Postgres stores none
            self.problem(line, "a mark with a NUL character")
            return
        ranking, reason = _ballot(cells, self.names, self.form, self.rules)
        self.counted.rows += 1
        self.counted.ballots += weight
        if weight and ranking:
            self.seen[ranking, reason] += weight
        elif weight:
            self.inactive[reason] += weight

    def problem(self, line: int, message: str) -> None:
        self.counted.problem_count += 1
        if len(self.counted.problems) < MAX_PROBLEMS:
            self.counted.problems.append(Problem(line, message))

    def records(self) -> Records:
        """Candidates by name (the write-in last), numbered from 1 in that order: the same
        ballots give the same numbers whatever the rows' order."""
        form, names = self.form, self.names
        order = sorted(names, key=lambda n: (n == form.write_in_name, n.casefold(), n))
        number = {names[name]: place for place, name in enumerate(order, start=1)}
        counted = self.counted
        counted.candidates = order
        counted.profile = sorted(
            (
                (tuple(number[c] for c in ranking), count, reason)
                for (ranking, reason), count in self.seen.items()
            ),
            key=lambda entry: (-entry[1], entry[0], entry[2]),
        )
        counted.inactive = dict(sorted(self.inactive.items()))
        return counted


def _ballot(
    cells: list[str], names: dict[str, int], form: RecordFormat, rules: ImportRules
) -> tuple[tuple[int, ...], str]:
    """One ballot's ranking (provisional numbers) and why it ended ("" for no reason)."""
    ranking: list[int] = []
    skipped = 0
    overvoted = False
    for cell in cells:
        if not cell or cell == form.undervote:
            skipped += 1
            continue
        if rules.skipped_allowed is not None and skipped > rules.skipped_allowed:
            return tuple(ranking), "skipped"
        skipped = 0
        if cell == form.overvote:
            if rules.overvote == EXHAUST:
                return tuple(ranking), "overvote"
            overvoted = True
            continue
        name = form.write_in_name if form.write_in and cell == form.write_in else cell
        number = names.setdefault(name, len(names))
        if number not in ranking:
            ranking.append(number)
    if ranking:
        return tuple(ranking), ""
    return (), "overvote" if overvoted else "undervote"
