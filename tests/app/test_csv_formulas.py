# ruff: noqa: RUF001 (full-width look-alikes are the point)
"""CSV exports never hand a spreadsheet a formula, in any of the forms a spreadsheet reads
as one: the ASCII signs, and their full-width and small forms (East Asian input)."""

from __future__ import annotations

import csv
import io

import pytest

from polls.export import EXPORT_FIELDS, cell, write_csv

FORMULAS = ["＝1+1", "＝HYPERLINK(\"http://evil.example\")", "﹦1", "＋1", "－1", "＠SUM(A1)",
            "﹢1", "﹣1", "=1", "+1", "-1", "@A1", "\tx", "\rx"]  # fmt: skip


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_is_quoted(value: str) -> None:
    assert cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Cats", "1+1", "a=b", "", "100%", "（注）", "Ｃａｔｓ"])
def test_plain_text_is_left_as_it_is(value: str) -> None:
    assert cell(value) == value


def test_the_written_csv_starts_no_cell_with_a_formula_sign_in_any_width() -> None:
    out = io.StringIO()
    write_csv([dict.fromkeys(EXPORT_FIELDS, value) for value in FORMULAS], out)
    for row in list(csv.reader(io.StringIO(out.getvalue())))[1:]:
        for value in row:
            assert value.startswith("'"), value
