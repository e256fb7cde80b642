"""The vote just cast, as an API client sees it through the real pipeline (the site behind
the front door): queued, then stored."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from polls.models import Poll
from tests.support import processes
from tests.support.clients import Browser


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
def test_an_api_client_sees_its_vote_stored_through_the_real_pipeline(
    make_poll: Callable[..., Poll], site: Any
) -> None:
    poll = make_poll(slug=f"status-{uuid.uuid4().hex[:8]}", labels=("Cats", "Dogs"))
    client = Browser(site.url)
    answer = client.vote_api(poll.slug, poll.choices.get(label="Dogs").pk)
    assert answer.status_code == 202, answer.text
    vote_id = answer.json()["vote_id"]
    started = time.monotonic()
    seen: list[str] = []

    def stored() -> bool:
        status = client.http.get(f"{site.url}/api/polls/{poll.slug}/votes/{vote_id}", timeout=10)
        assert status.status_code == 200, status.text
        seen.append(status.json()["status"])
        return seen[-1] == "stored"

    processes.wait_for(stored, timeout=30, interval=0.05, what="the vote's status: stored")
    took = time.monotonic() - started
    print(f"status stored {took:.3f} s after the 202; statuses seen: {sorted(set(seen))}")
    assert set(seen) <= {"queued", "stored"}
    assert (
        requests.get(f"{site.url}/api/polls/{poll.slug}/results", timeout=10).json()["total"] == 1
    )
