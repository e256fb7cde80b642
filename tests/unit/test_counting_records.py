"""Cast-vote records read into a ranked count (polls.counting.records): the marks, the import
rules (overvote, skipped ranks, a repeated candidate), weights, and problems by line or an
unreadable file. Hand-worked rows; the real Minneapolis file is test_minneapolis_record.py."""

from __future__ import annotations

import io

import pytest

from polls.counting.records import (
    EXHAUST,
    MAX_PROBLEMS,
    SKIP,
    ImportRules,
    Problem,
    RecordFormat,
    UnreadableRecords,
    read_records,
)

HEADER = "Precinct,rank1,rank2,rank3,weight\n"


def read(rows: str, rules: ImportRules | None = None, form: RecordFormat | None = None):
    return read_records(io.BytesIO((HEADER + rows).encode()), form, rules)


def rankings(records) -> dict[tuple[str, ...], tuple[int, str]]:
    """The profile by candidate names: ranking -> (ballots, why it ended)."""
    return {
        tuple(records.candidates[c - 1] for c in ranking): (count, reason)
        for ranking, count, reason in records.profile
    }


def test_candidates_are_numbered_by_name_with_the_write_in_last() -> None:
    records = read("p,Zed,UWI,amy,1\np,Bob,Zed,undervote,1\n")
    assert records.candidates == ["amy", "Bob", "Zed", "Write-in"]
    assert rankings(records) == {("Zed", "Write-in", "amy"): (1, ""), ("Bob", "Zed"): (1, "")}
    # The same ballots in another order: the same numbers.
    again = read("p,Bob,Zed,undervote,1\np,Zed,UWI,amy,1\n")
    assert (again.candidates, sorted(again.profile)) == (
        records.candidates,
        sorted(records.profile),
    )


def test_identical_ballots_are_one_ranking_with_their_weights_summed() -> None:
    records = read("p1,A,B,,1\np2,A,B,undervote,3\np3,B,,,0\n")
    assert rankings(records) == {("A", "B"): (4, "")}
    assert (records.rows, records.ballots) == (3, 4)  # a weight of 0 is a row, no ballot


OVERVOTE_TABLE = [
    # cells, skip to the next rank, exhaust (ranking, why it ended)
    ("overvote,A,B", (("A", "B"), ""), ((), "overvote")),
    ("A,overvote,B", (("A", "B"), ""), (("A",), "overvote")),
    ("A,B,overvote", (("A", "B"), ""), (("A", "B"), "overvote")),
    ("overvote,overvote,undervote", ((), "overvote"), ((), "overvote")),
]


@pytest.mark.parametrize(("cells", "skipping", "exhausting"), OVERVOTE_TABLE)
def test_an_overvote_skips_to_the_next_rank_or_ends_the_ballot(cells, skipping, exhausting) -> None:
    for rule, (ranking, reason) in ((SKIP, skipping), (EXHAUST, exhausting)):
        records = read(f"p,{cells},2\n", ImportRules(overvote=rule))
        if ranking:
            assert rankings(records) == {ranking: (2, reason)}
            assert records.inactive == {}
        else:  # nothing ranked: inactive from the start
            assert (records.profile, records.inactive) == ([], {reason: 2})


SKIPPED_TABLE = [
    # cells, skipped ranks allowed, the ranking, why it ended
    ("A,undervote,B", None, ("A", "B"), ""),
    ("A,undervote,B", 1, ("A", "B"), ""),
    ("A,undervote,B", 0, ("A",), "skipped"),
    ("undervote,undervote,B", 1, (), "skipped"),
    ("undervote,undervote,B", 2, ("B",), ""),
    ("A,,", 0, ("A",), ""),  # blanks after the last mark skip nothing
    ("undervote,,undervote", None, (), "undervote"),  # a blank ballot
]


@pytest.mark.parametrize(("cells", "allowed", "ranking", "reason"), SKIPPED_TABLE)
def test_skipped_ranks_beyond_those_allowed_end_the_ballot(cells, allowed, ranking, reason) -> None:
    records = read(f"p,{cells},1\n", ImportRules(skipped_allowed=allowed))
    if ranking:
        assert rankings(records) == {ranking: (1, reason)}
    else:
        assert records.inactive == {reason: 1}


def test_an_overvote_is_a_mark_not_a_skipped_rank() -> None:
    # Maine-like: one skipped rank allowed. The overvote between is passed over, not counted.
    records = read("p,A,overvote,B,1\n", ImportRules(skipped_allowed=0))
    assert rankings(records) == {("A", "B"): (1, "")}


def test_a_candidate_ranked_again_counts_once_at_the_first_rank() -> None:
    records = read("p,A,A,B,1\np,A,B,A,1\n")
    assert rankings(records) == {("A", "B"): (2, "")}


def test_the_marks_are_the_files_own() -> None:
    form = RecordFormat(undervote="-", overvote="OV", write_in="WRITE-IN", write_in_name="Other")
    records = read("p,OV,WRITE-IN,-,1\np,-,undervote,B,1\n", form=form)
    # "undervote" is not this file's mark: it is a candidate's name here.
    assert rankings(records) == {("Other",): (1, ""), ("undervote", "B"): (1, "")}


def test_without_a_weight_column_each_row_is_one_ballot() -> None:
    data = b"rank1,rank2\nA,B\nB,\n"
    records = read_records(io.BytesIO(data))
    assert (records.ballots, records.candidates) == (2, ["A", "B"])


def test_rank_columns_are_read_by_their_number_not_their_place() -> None:
    data = b"RANK2,Rank1,id\nB,A,7\n"
    records = read_records(io.BytesIO(data))
    assert rankings(records) == {("A", "B"): (1, "")}


def test_bad_rows_are_listed_by_line_and_left_out() -> None:
    records = read(
        "p,A,B,C,1\np,A,B,C,one\np,A,B\n\np," + "x" * 201 + ",,,1\np,B,,,2\np,A\x00,,,1\n"
    )
    assert records.problems == [
        Problem(3, "weight 'one' is not a whole number"),
        Problem(4, "3 fields where the header has 5"),
        Problem(6, "a mark longer than 200 characters"),
        Problem(8, "a mark with a NUL character"),
    ]
    assert records.problem_count == 4
    assert (records.rows, records.ballots) == (2, 3)  # the blank line 5 is no row


def test_a_header_without_rank_columns_is_a_problem_on_line_1() -> None:
    records = read_records(io.BytesIO(b"first,second\nA,B\n"))
    assert (records.problems, records.profile) == (
        [Problem(1, "no rank columns (rank1, rank2...) in the header")],
        [],
    )


def test_problems_beyond_the_first_hundred_are_counted_not_listed() -> None:
    records = read("p,A,,,x\n" * (MAX_PROBLEMS + 5))
    assert (len(records.problems), records.problem_count) == (MAX_PROBLEMS, MAX_PROBLEMS + 5)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "empty"),
        (HEADER.encode() + b"p,\xff\xfe,,,1\n", "codec can't decode"),
        (HEADER.encode() + b'p,"A,,,1\n', "unexpected end of data"),
    ],
)
def test_a_file_that_is_not_csv_text_is_unreadable(data, said) -> None:
    with pytest.raises(UnreadableRecords, match=said):
        read_records(io.BytesIO(data))


def test_a_byte_order_mark_is_not_part_of_the_first_column() -> None:
    records = read_records(io.BytesIO("\ufeffrank1,rank2\nA,B\n".encode()))
    assert rankings(records) == {("A", "B"): (1, "")}


def test_import_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="overvote rule"):
        ImportRules(overvote="count")
    with pytest.raises(ValueError, match="skipped ranks"):
        ImportRules(skipped_allowed=-1)
