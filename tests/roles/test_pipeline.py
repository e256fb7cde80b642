"""End to end on real services: a vote POSTed to gunicorn goes through Redis to a real
Celery worker, which stores it in Postgres; the results API then shows it."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from polls.models import PollCounter, Tally, Vote
from tests.support.clients import Browser, results_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def test_form_vote_is_stored_by_the_worker_and_shown(make_poll, worker, voting, wait_for) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    cats, _dogs = poll.choices.all()
    alice = Browser(voting.url)

    response = alice.vote_form(poll.slug, cats.pk)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/polls/{poll.slug}/"

    wait_for(lambda: Vote.objects.filter(poll=poll).exists(), what="the vote row")
    vote = Vote.objects.get(poll=poll)
    assert vote.choice_id == cats.pk
    assert vote.voter_key.startswith("anon:")
    assert Tally.objects.get(choice=cats).votes == 1
    page = alice.open_poll(poll.slug)
    assert "Vote received" in page
    assert "(your vote" in page  # ", being stored" until the worker has settled it
    wait_for(lambda: "(your vote)" in alice.open_poll(poll.slug), what="the vote shown as stored")


def test_two_browsers_vote_and_one_changes(make_poll, worker, voting, wait_for) -> None:
    """The issue's "done when": two voters, one changes; the results API shows exactly that."""
    poll = make_poll(labels=("Cats", "Dogs"))
    cats, dogs = poll.choices.all()
    alice, bob = Browser(voting.url), Browser(voting.url)
    assert alice.vote_form(poll.slug, cats.pk).status_code == 303
    assert bob.vote_api(poll.slug, cats.pk).status_code == 202
    wait_for(lambda: results_of(voting.url, poll.slug)["total"] == 2, what="two votes")
    assert bob.vote_api(poll.slug, dogs.pk).status_code == 202

    def changed() -> bool:
        votes = {c["label"]: c["votes"] for c in results_of(voting.url, poll.slug)["choices"]}
        return votes == {"Cats": 1, "Dogs": 1}

    wait_for(changed, what="bob's change")
    assert results_of(voting.url, poll.slug)["total"] == 2
    assert Vote.objects.filter(poll=poll).count() == 2


def test_many_voters_voting_and_changing_at_once_keep_exact_tallies(
    make_poll, worker, voting, wait_for
) -> None:
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    choice_ids = [c.pk for c in poll.choices.all()]
    voters, rounds = 40, 3
    final: dict[int, int] = {}
    errors: list[str] = []

    def voter(index: int) -> None:
        browser = Browser(voting.url)
        for round_ in range(rounds):
            choice = choice_ids[(index + round_) % len(choice_ids)]
            response = browser.vote_api(poll.slug, choice)
            if response.status_code != 202:
                errors.append(f"{response.status_code} {response.text}")
                return
        final[index] = choice

    threads = [threading.Thread(target=voter, args=(i,)) for i in range(voters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    expected = Counter(final.values())
    wait_for(
        lambda: (
            dict(Tally.objects.filter(poll=poll).values_list("choice_id", "votes"))
            == {cid: expected.get(cid, 0) for cid in choice_ids}
        ),
        what="tallies equal to each voter's last vote",
    )
    for cid in choice_ids:
        assert Tally.objects.get(choice_id=cid).votes == Vote.objects.filter(choice_id=cid).count()
    assert PollCounter.objects.get(poll=poll).total == voters


def test_results_role_serves_the_same_results_json(make_poll, worker, voting, results, wait_for):
    poll = make_poll(labels=("Cats", "Dogs"))
    assert Browser(voting.url).vote_api(poll.slug, poll.choices.first().pk).status_code == 202
    wait_for(lambda: results_of(results.url, poll.slug)["total"] == 1, what="the vote")
    from_voting, from_results = (
        results_of(voting.url, poll.slug),
        results_of(results.url, poll.slug),
    )
    assert from_voting == from_results
    assert set(from_results) >= {"poll", "question", "status", "total", "choices"}


def test_on_a_no_change_poll_a_different_second_vote_sent_at_once_gets_409_not_a_false_202(
    make_poll, worker, voting, wait_for
) -> None:
    """The rule holds where the vote is admitted (the voter's pending ballot), not only
    against the stored vote, which the first vote has not reached yet."""
    poll = make_poll(labels=("Cats", "Dogs"), allow_vote_change=False)
    cats, dogs = poll.choices.all()
    for _ in range(20):
        voter = Browser(voting.url)
        assert voter.vote_api(poll.slug, cats.pk).status_code == 202
        second = voter.vote_api(poll.slug, dogs.pk)
        assert second.status_code == 409, second.text
        assert "does not allow changing" in second.json()["error"]
        assert voter.vote_api(poll.slug, cats.pk).status_code == 202  # the same ballot again
    wait_for(lambda: PollCounter.objects.get(poll=poll).total == 20, what="the first votes stored")
    assert Tally.objects.get(choice=cats).votes == 20
    assert Tally.objects.get(choice=dogs).votes == 0
