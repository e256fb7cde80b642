"""A test that needs a missing part of the machine skips on a developer's machine and
fails under CI (tests/support/needs.py)."""

from __future__ import annotations

import pytest

from tests.support.needs import need


def test_a_missing_part_is_a_skip_outside_ci(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is missing"):
        need(False, "chromium is missing")


def test_a_missing_part_fails_the_test_under_ci(monkeypatch) -> None:
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="chromium is missing; CI must run"):
        need(False, "chromium is missing")


def test_a_present_part_is_neither(monkeypatch) -> None:
    monkeypatch.setenv("CI", "1")
    need(True, "never said")
