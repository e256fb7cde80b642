"""The organisers' manage.py commands with a real Celery worker: simulate_votes goes through
the whole vote path."""

from __future__ import annotations

from collections import Counter

import pytest

from polls.models import PollCounter, Tally, Vote
from tests.support.commands import run
from tests.support.votes import pipeline_drained

# Every command the polls app ships, found on disk so that a new one is checked too.


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
def test_simulate_votes_goes_through_the_real_pipeline(
    make_poll, worker, redis_client, wait_for
) -> None:
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    output = run("simulate_votes", poll.slug, "--voters", "40", "--change-ratio", "0.5",
                 "--seed", "1", "--verbosity", "2")  # fmt: skip
    assert "\r[" in output  # the progress bar
    assert "Sent 60 votes (40 voters, 20 changes)" in output
    assert "votes/s" in output

    cast = [line.split()[1:] for line in output.splitlines() if line.startswith("cast ")]
    assert len(cast) == 60
    by_voter: dict[str, list[int]] = {}
    for voter, choice in cast:
        by_voter.setdefault(voter, []).append(int(choice))
    assert len(by_voter) == 40
    assert sorted(len(set(choices)) for choices in by_voter.values()) == [1] * 20 + [2] * 20
    last = {voter: choices[-1] for voter, choices in by_voter.items()}  # the vote cast last

    # Queued (Redis), taken by the worker, stored, struck off the ledger: nothing left.
    wait_for(
        lambda: pipeline_drained(redis_client, poll),
        timeout=60,
        what="the queue, the unacknowledged votes and the poll's ledger entries to empty",
    )
    stored = dict(Vote.objects.filter(poll=poll).values_list("voter_key", "choice_id"))
    assert stored == last
    expected = Counter(last.values())
    assert dict(Tally.objects.filter(poll=poll).values_list("choice_id", "votes")) == {
        c.pk: expected.get(c.pk, 0) for c in poll.choices.all()
    }
    assert PollCounter.objects.get(poll=poll).total == 40
    assert "ok (40 votes)" in run("recount", poll.slug, "--check")
