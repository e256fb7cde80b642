"""Results computed once per change, on real roles: a big ranked poll's readers do not slow
voting, and syncing sockets do not starve new viewers. Each test prints what it measured."""

from __future__ import annotations

import itertools
import statistics
import threading
import time
import uuid
from collections import Counter

import pytest
import requests
from django.db.models import F

from polls import organising, snapshots
from polls.models import Poll, PollCounter, RankingCount, Tally
from tests.support import processes
from tests.support.clients import Browser, next_results, results_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


RANKINGS = 20_000


def big_ranked_poll() -> Poll:
    """A 12-choice ranked poll holding 20,000 distinct rankings, inserted directly."""
    poll = organising.create_poll(
        slug=f"big-{uuid.uuid4().hex[:6]}", question="Rank them?",
        labels=[f"Option {n}" for n in range(12)], open_now=True, kind=Poll.Kind.RANKED,
    )  # fmt: skip
    ids = list(poll.choices.order_by("position").values_list("pk", flat=True))
    rankings = list(itertools.islice(itertools.permutations(ids, 5), RANKINGS))
    RankingCount.objects.bulk_create(
        RankingCount(poll=poll, ranking=list(r), votes=1) for r in rankings
    )
    for choice_id, votes in Counter(r[0] for r in rankings).items():
        Tally.objects.filter(choice_id=choice_id).update(votes=votes)
    PollCounter.objects.filter(poll=poll).update(total=RANKINGS, seq=F("seq") + 1)
    snapshots.forget(poll.pk)
    return poll


def p50(values: list[float]) -> float:
    return statistics.median(values)


def test_readers_of_a_big_ranked_poll_leave_ordinary_votes_quick(
    worker: processes.Worker, voting: processes.WebServer
) -> None:
    big = big_ranked_poll()
    small = organising.create_poll(
        slug=f"small-{uuid.uuid4().hex[:6]}", question="Tea?", labels=["Yes", "No"], open_now=True
    )
    yes = small.choices.get(label="Yes").pk

    def vote_times(seconds: float) -> list[float]:
        times = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            began = time.monotonic()
            assert Browser(voting.url).vote_api(small.slug, yes).status_code == 202
            times.append(time.monotonic() - began)
        return times

    idle = vote_times(2)
    stop = threading.Event()
    reads = Counter[int]()

    def reader() -> None:
        with requests.Session() as http:
            while not stop.is_set():
                answer = http.get(f"{voting.url}/api/polls/{big.slug}/results", timeout=30)
                reads[answer.status_code] += 1

    readers = [threading.Thread(target=reader) for _ in range(8)]
    for thread in readers:
        thread.start()
    try:
        time.sleep(0.5)
        busy = vote_times(4)
    finally:
        stop.set()
        for thread in readers:
            thread.join(60)
    print(
        f"vote p50 idle {p50(idle) * 1000:.0f} ms, with 8 readers {p50(busy) * 1000:.0f} ms;"
        f" reads {dict(reads)}"
    )
    assert set(reads) == {200}
    # Before: every read recomputed the 20,000 rankings (p50 6 -> 304 ms seen).
    assert p50(busy) <= 10 * p50(idle) + 0.1


def test_syncing_sockets_do_not_hold_up_new_viewers(results: processes.WebServer) -> None:
    big = big_ranked_poll()
    stop = threading.Event()
    syncs = Counter[str]()

    def syncing() -> None:
        with results_socket(results.url, big.slug) as ws:
            next_results(ws)
            while not stop.is_set():
                ws.send('{"type": "sync"}')  # at the allowed rate, 2 a second
                syncs["sent"] += 1
                time.sleep(0.5)

    sockets = [threading.Thread(target=syncing) for _ in range(30)]
    for thread in sockets:
        thread.start()
    waits = []
    try:
        time.sleep(1)
        for _ in range(5):
            began = time.monotonic()
            with results_socket(results.url, big.slug) as ws:
                assert next_results(ws, timeout=30)["total"] == RANKINGS
            waits.append(time.monotonic() - began)
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in sockets:
            thread.join(30)
    print(
        f"{syncs['sent']} syncs sent; new viewers' first snapshot in", [f"{w:.2f}" for w in waits]
    )
    # Before: each sync recomputed the poll; with 30 sockets every new viewer failed.
    assert max(waits) < 3
