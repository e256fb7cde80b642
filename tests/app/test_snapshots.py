"""Results computed once per change: concurrent readers of a change share one computation,
and a kept snapshot behind the votes is served only until its push is overdue. Real
Postgres and Redis (tests/roles/test_snapshots.py: the same on real roles)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from django.db import connection
from django.db.models import F

from polls import organising, snapshots
from polls.models import Poll, PollCounter

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_readers_of_a_change_share_one_computation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poll = organising.create_poll(
        slug=f"once-{uuid.uuid4().hex[:6]}", question="Once?", labels=["A", "B"], open_now=True
    )
    computed: list[int] = []
    real = snapshots.poll_results

    def counted(*, poll: Poll) -> dict[str, Any]:
        computed.append(poll.pk)
        time.sleep(0.2)  # a costly poll: readers arrive while it is being computed
        return real(poll=poll)

    monkeypatch.setattr(snapshots, "poll_results", counted)
    snapshots.forget(poll.pk)
    seqs: list[int] = []

    def read() -> None:
        try:
            seqs.append(snapshots.results(poll=Poll.objects.get(pk=poll.pk))["seq"])
        finally:
            connection.close()

    readers = [threading.Thread(target=read) for _ in range(12)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(10)
    assert len(seqs) == 12
    assert computed == [poll.pk]  # one computation for twelve readers

    # A change stored: the next readers compute it once more, then share it again.
    PollCounter.objects.filter(poll=poll).update(seq=F("seq") + 1)
    snapshots.forget(poll.pk)  # as if its push never came
    first = snapshots.results(poll=poll)["seq"]
    assert snapshots.results(poll=poll)["seq"] == first == max(seqs) + 1
    assert computed == [poll.pk, poll.pk]


def test_a_snapshot_behind_the_votes_is_served_until_its_push_is_overdue(settings: Any) -> None:
    poll = organising.create_poll(
        slug=f"stale-{uuid.uuid4().hex[:6]}", question="Stale?", labels=["A", "B"], open_now=True
    )
    before = snapshots.results(poll=poll)["seq"]
    PollCounter.objects.filter(poll=poll).update(seq=F("seq") + 1)  # its push on its way
    assert snapshots.results(poll=poll)["seq"] == before
    settings.RESULTS_SNAPSHOT_STALE_SECONDS = 0  # overdue: the latest state must arrive
    assert snapshots.results(poll=poll)["seq"] == before + 1
