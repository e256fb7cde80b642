"""Rate limits shared by every web process through Redis: one voter's requests spread over
two gunicorn worker processes."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import requests

from tests.support import processes
from tests.support.stores import PrivateRedis
from tests.support.vote_stream import VoteStream

# Each answer's line in gunicorn's access log names the worker process that gave it.
ACCESS_LOG = {
    "GUNICORN_CMD_ARGS": "--access-logfile - --access-logformat 'answered-by %(p)s %(s)s %(r)s'"
}


def answers_by_process(server: processes.WebServer) -> list[tuple[str, int]]:
    """(process id, status) of each vote the server answered, from its access log."""
    found = re.findall(r"^answered-by <(\d+)> (\d+) POST /api/", server.output(), re.MULTILINE)
    return [(pid, int(status)) for pid, status in found]


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
def test_limits_are_shared_by_every_web_process_through_redis(make_poll) -> None:
    """One voter, many requests spread over two gunicorn worker processes: five get in,
    however many of them each process answered."""
    poll = make_poll()
    store = PrivateRedis().start()  # the votes wait there, for no worker to take
    store.hold_admission_states()
    env = {"VOTE_RATE_PER_VOTER": "5/h", "REDIS_URL": store.url, **ACCESS_LOG}
    voting = processes.voting_server(env=env, workers=2).start()
    try:
        voting.wait_ready()
        stream = VoteStream(voting.url, poll.slug, [poll.choices.first().pk], voters=1,
                            change_every=1, threads=1)  # fmt: skip

        def send_one() -> None:
            # A new connection each time, so the processes take turns at accepting.
            stream._send(requests.Session(), "one-voter", poll.choices.first().pk)
            processes.wait_for(
                lambda: len(answers_by_process(voting)) == len(stream.sent),
                timeout=10,
                what="the answer in the access log",
            )

        for _ in range(12):
            send_one()
        while len({pid for pid, _ in answers_by_process(voting)}) < 2 and len(stream.sent) < 40:
            send_one()  # one process happened to take them all: until the other answers

        answers = answers_by_process(voting)
        assert len({pid for pid, _ in answers}) == 2, answers
        assert stream.statuses() == Counter({202: 5, 429: len(stream.sent) - 5})
        assert Counter(status for _, status in answers) == stream.statuses()
        # A process refused the voter having let fewer than five in itself: the count is
        # the one in Redis, not the process's own.
        let_in = Counter(pid for pid, status in answers if status == 202)
        assert any(status == 429 and let_in[pid] < 5 for pid, status in answers), answers
    finally:
        voting.stop()
        store.cleanup()
