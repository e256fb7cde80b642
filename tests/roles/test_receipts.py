"""Receipts on real processes: voters vote through the voting role, some change their
vote, the worker is killed in the middle and replaced; afterwards every 202's receipt
reads counted or replaced, exactly as the final ballots say, and the board's count equals
the totals. 300 voters and 60 changes here (~25 s; up to a minute more when the killed worker held
votes the ledger's sweep must bring back); `--slow` runs 1,000 voters and 200 changes."""

from __future__ import annotations

import json
import signal
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from polls.counting import receipts as codes
from polls.models import PollCounter, UncountedReceipt, Vote
from polls.receipts import check
from tests.support import processes
from tests.support.stores import PrivateRedis
from tests.support.vote_stream import VoteStream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


# Loopback load: one address sends everything, so the per-address limit is off here.
NO_LIMITS = {"RATELIMIT_ENABLE": "0"}


def start_roles(redis_url: str) -> tuple[processes.WebServer, processes.Worker]:
    env = {**NO_LIMITS, "REDIS_URL": redis_url}
    voting = processes.voting_server(env=env).start()
    worker = processes.Worker(env=env).start()
    return voting.wait_ready(), worker.wait_ready()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    store = PrivateRedis().start()
    yield store
    store.cleanup()


def test_after_a_worker_kill_every_202s_receipt_reads_counted_or_replaced_as_the_final_ballots_say(
    make_poll,
    private_redis,
    slow,
) -> None:
    voters = 1000 if slow else 300
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    choice_ids = [c.pk for c in poll.choices.all()]
    voting, worker = start_roles(private_redis.url)
    replacement: processes.Worker | None = None
    try:
        stream = VoteStream(voting.url, poll.slug, choice_ids, voters=voters, change_every=5)
        a_third_sent = threading.Event()
        sender = threading.Thread(target=stream.run, args=(a_third_sent, voters // 3))
        sender.start()
        a_third_sent.wait(120)
        worker.kill(signal.SIGKILL)
        replacement = processes.Worker(env={**NO_LIMITS, "REDIS_URL": private_redis.url})
        replacement.start().wait_ready()
        sender.join()

        assert stream.statuses() == Counter({202: len(stream.sent)})
        changes = len(stream.sent) - voters
        assert changes == voters // 5
        processes.wait_for(
            lambda: (
                Vote.objects.filter(poll=poll).count() == voters
                and UncountedReceipt.objects.filter(poll=poll).count() == changes
            ),
            timeout=90,
            interval=0.5,
            what=lambda: "every ballot and every replaced receipt stored",
        )
        # The voter's last 202 counts; every earlier one of theirs reads replaced.
        last = {s.voter: s for s in stream.sent}
        expected = {s.body: "counted" if last[s.voter] is s else "replaced" for s in stream.sent}
        seen = {}
        for sent in stream.sent:
            receipt = json.loads(sent.body)["receipt"]
            seen[sent.body] = check(poll=poll, code=codes.parsed(receipt) or "").status
        assert seen == expected
        assert Counter(seen.values()) == Counter(counted=voters, replaced=changes)

        # The board lists every counted receipt: its count equals the totals.
        listed: list[str] = []
        after = ""
        while True:
            page = requests.get(
                f"{voting.url}/api/polls/{poll.slug}/board",
                params={"after": after, "limit": "1000"},
                timeout=10,
            ).json()
            listed += [row["receipt"] for row in page["receipts"]]
            if page["next_after"] is None:
                break
            after = page["next_after"]
        total = PollCounter.objects.get(poll=poll).total
        assert page["total"] == total == len(listed) == len(set(listed)) == voters
        counted = {json.loads(s.body)["receipt"] for s in stream.sent if last[s.voter] is s}
        assert set(listed) == counted
    finally:
        voting.stop()
        worker.stop()
        if replacement:
            replacement.stop()
