"""Parts of the machine a test needs (chromium, redis-server): a developer without one
gets a skip; CI (the CI environment variable set, as .ci/run does) gets a failure, since
scripts/test installs them and a missing one means the suite did not really run."""

from __future__ import annotations

import os

import pytest


def need(available: bool, missing: str) -> None:
    """Skip the test (fail it under CI) unless `available`; `missing` says what is absent."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{missing}; CI must run every test (scripts/test installs it)")
    pytest.skip(missing)
