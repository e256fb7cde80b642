"""The sealed chain on real processes: voters vote through the voting role (some change
their vote), a real worker stores them, then every message is delivered a second time.
The chain is unmoved by the redelivery, its replay is exactly the stored ballots, and
the audit export of the poll passes the stand-alone verifier. 120 voters, 24 changes
(~15 s)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.core.management import call_command

from polls import organising
from polls.models import ChainHead, PollCounter, UncountedReceipt, Vote
from tests.support import processes
from tests.support.stores import PrivateRedis
from tests.support.vote_stream import VoteStream
from tests.support.votes import pipeline_drained

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

NO_LIMITS = {"RATELIMIT_ENABLE": "0"}
VERIFY = Path(__file__).resolve().parents[2] / "tools" / "verify.py"


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    store = PrivateRedis().start()
    yield store
    store.cleanup()


def stored_logged(worker: processes.Worker | None) -> int:
    """Votes the worker says it has handled (its "stored N votes" lines)."""
    found = re.findall(r"stored (\d+) votes", worker.output()) if worker else []
    return sum(int(n) for n in found)


def test_the_chain_matches_the_stored_ballots_after_changes_and_a_redelivery(
    make_poll, private_redis, tmp_path
) -> None:
    voters = 120
    poll = make_poll(labels=("Cats", "Dogs", "Fish"), ballot_secrecy="public")
    choice_ids = [c.pk for c in poll.choices.all()]
    env = {**NO_LIMITS, "REDIS_URL": private_redis.url}
    store = redis.Redis.from_url(private_redis.url)
    voting = processes.voting_server(env=env).start().wait_ready()
    worker: processes.Worker | None = None
    try:
        # A worker writes what is open to Redis (its reconciler), then stops: every vote
        # waits in the queue, so a copy of each message can be delivered again once the
        # next worker has stored them all.
        opener = processes.Worker(env=env).start().wait_ready()
        processes.wait_for(
            lambda: store.exists(f"admit:{poll.pk}"), timeout=30, interval=0.2, what="admit copy"
        )
        opener.stop()
        stream = VoteStream(voting.url, poll.slug, choice_ids, voters=voters, change_every=5)
        stream.run()
        assert stream.statuses() == Counter({202: len(stream.sent)})
        messages = store.lrange("votes", 0, -1)
        assert messages
        worker = processes.Worker(env=env).start().wait_ready()
        changes = len(stream.sent) - voters
        processes.wait_for(
            lambda: (
                Vote.objects.filter(poll=poll).count() == voters
                and UncountedReceipt.objects.filter(poll=poll).count() == changes
                and pipeline_drained(store, poll)
            ),
            timeout=90,
            interval=0.5,
            what=lambda: f"every ballot stored:\n{worker.output()[-2000:] if worker else ''}",
        )
        head = ChainHead.objects.get(poll=poll)
        seq = PollCounter.objects.get(poll=poll).seq

        before = stored_logged(worker)
        store.rpush("votes", *messages)  # every message again: a redelivery
        processes.wait_for(
            lambda: stored_logged(worker) >= before + len(stream.sent),
            timeout=60,
            interval=0.5,
            what=lambda: (
                f"the redelivered votes handled:\n{worker.output()[-2000:] if worker else ''}"
            ),
        )
        again = ChainHead.objects.get(poll=poll)
        assert (again.hash, again.length) == (head.hash, head.length)
        assert PollCounter.objects.get(poll=poll).seq == seq
        assert organising.chain_problems(poll) == []

        path = tmp_path / "poll.json"
        call_command("export_audit", poll.slug, output=path, stderr=StringIO())
        done = subprocess.run(
            [sys.executable, "-S", "-I", str(VERIFY), str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{voters} ballots counted, {changes} replaced" in done.stdout
    finally:
        voting.stop()
        if worker:
            worker.stop()
