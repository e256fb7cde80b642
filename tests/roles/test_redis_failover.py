"""What a Redis failover does to votes, measured (docs/kubernetes.md, "Redis"): a primary
with a streaming replica, as a managed Redis or Sentinel runs them; the primary killed
mid-stream, the replica promoted, a worker started on it. Replication is asynchronous, so
the votes the primary admitted in its last moments, not yet sent to the replica, are
lost with it, ledger entries included: the ledger lives in the same Redis and cannot
bring them back. Everything the replica had is stored, once; no vote answered "nothing was
recorded" is stored (one the primary ran but whose answer died with it is answered "cannot
tell", with its id: the voting role cannot ask the dead primary). The test prints how many
202s were lost and how close to the kill they came."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from polls.models import Poll, Vote
from tests.support import processes
from tests.support.stores import PrivateRedis
from tests.support.vote_stream import VoteStream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

# A quick redelivery and re-queue on the promoted replica, so the test ends soon.
FAST = {
    "RATELIMIT_ENABLE": "0",
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "VOTE_LEDGER_GRACE_SECONDS": "8",
    "VOTE_LEDGER_SWEEP_SECONDS": "1",
}


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[PrivateRedis, PrivateRedis]]:
    primary = PrivateRedis().start()
    replica = PrivateRedis("--replicaof", "127.0.0.1", str(primary.port)).start()
    client = replica.client()
    processes.wait_for(
        lambda: client.info("replication").get("master_link_status") == "up",
        timeout=20,
        what="the replica in sync",
    )
    client.close()
    yield primary, replica
    for store in (primary, replica):
        store.cleanup()


def stored_voters(poll: Poll) -> set[str]:
    keys = Vote.objects.filter(poll=poll).values_list("voter_key", flat=True)
    return {key.removeprefix("anon:") for key in keys}


def test_a_failover_to_an_async_replica_loses_only_the_last_moments_votes(
    make_poll: Callable[..., Poll], primary_and_replica
) -> None:
    primary, replica = primary_and_replica
    poll = make_poll(labels=("Cats", "Dogs"))
    env = {**FAST, "REDIS_URL": primary.url}
    voting = processes.voting_server(env=env).start().wait_ready()
    worker = processes.Worker(env=env).start().wait_ready()
    successor: processes.Worker | None = None
    try:
        stream = VoteStream(voting.url, poll.slug, [c.pk for c in poll.choices.all()],
                            voters=1500, change_every=10**9, threads=8, rate=250)  # fmt: skip
        sender = threading.Thread(target=stream.run)
        sender.start()
        time.sleep(3)
        assert primary.proc is not None
        primary.proc.send_signal(signal.SIGKILL)  # the node is gone
        killed_at = time.monotonic()
        promoted = replica.client()
        promoted.replicaof("NO", "ONE")  # what Sentinel or the provider does
        promoted.close()
        worker.kill()  # its connections died with the node; a new worker takes over
        worker.stop()
        successor = processes.Worker(env={**env, "REDIS_URL": replica.url}).start().wait_ready()
        sender.join()

        accepted = {s.voter for s in stream.sent if s.status == 202}
        refused = {s.voter for s in stream.sent if s.status != 202}
        unknown = {s.voter for s in stream.sent if "vote_outcome_unknown" in s.body}
        assert accepted, "votes were taken before the kill"
        assert refused, "the kill was felt"
        client = redis.Redis.from_url(replica.url)

        def drained() -> bool:
            return client.llen("votes") == 0 and client.zcard("votes:pending") == 0 and (
                client.hlen("unacked") == 0)  # fmt: skip

        processes.wait_for(drained, timeout=60, interval=0.2, what="the replica drained")
        time.sleep(1)
        client.close()
        stored = stored_voters(poll)
        lost = accepted - stored
        answered = {s.voter: s.answered_at for s in stream.sent}
        latest = max((killed_at - answered[v] for v in lost), default=0.0)
        print(
            f"\nfailover: {len(accepted)} votes answered 202 before the kill, {len(stored)} "
            f"stored, {len(lost)} lost (answered at most {latest * 1000:.0f} ms before it); "
            f"{len(unknown)} answered 'cannot tell', {len(stored & unknown)} of them stored"
        )
        assert stored <= accepted | unknown, "no vote answered 'nothing was recorded' is stored"
        # The lost ones are the primary's last moments, not older votes.
        assert all(killed_at - answered[v] < 1.0 for v in lost)
        counted = sum(poll.tallies.values_list("votes", flat=True))
        assert counted == len(stored), "each stored vote counted once"
    finally:
        voting.stop()
        worker.stop()
        if successor is not None:
            successor.stop()
