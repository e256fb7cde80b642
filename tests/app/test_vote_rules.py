"""The worker's rules for storing votes, as a table of cases (polls.pipeline.store.record_votes).

These call the service the worker task calls, on the real test database; the pipeline
tests prove the same path through Redis and a real worker process.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from polls.models import Poll, PollCounter, Tally, Vote
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from tests.support.votes import tallies

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(minutes=5)


def vote(
    poll: Poll, label: str, voter: str = "anon:v1", at: int = 0, vote_id: str = ""
) -> QueuedVote:
    choice = poll.choices.get(label=label)
    return QueuedVote(
        uuid.UUID(vote_id) if vote_id else uuid.uuid4(),
        poll.pk,
        choice.pk,
        voter,
        T0 + timedelta(seconds=at),
    )


SAME_ID = "00000000-0000-4000-8000-000000000001"

# (case, votes as (label, voter, seconds after T0, vote id), expected tallies,
#  choice stored for voter v1)
CASES = [
    ("first vote counts", [("Cats", "v1", 0, "")], {"Cats": 1, "Dogs": 0}, "Cats"),
    (
        "a later vote moves the tally",
        [("Cats", "v1", 0, ""), ("Dogs", "v1", 1, "")],
        {"Cats": 0, "Dogs": 1},
        "Dogs",
    ),
    (
        "same choice again changes nothing",
        [("Cats", "v1", 0, ""), ("Cats", "v1", 1, "")],
        {"Cats": 1, "Dogs": 0},
        "Cats",
    ),
    (
        "duplicate delivery counts once",
        [("Cats", "v1", 0, SAME_ID), ("Cats", "v1", 0, SAME_ID)],
        {"Cats": 1, "Dogs": 0},
        "Cats",
    ),
    (
        "out of order: the vote cast last wins",
        [("Dogs", "v1", 5, ""), ("Cats", "v1", 1, "")],
        {"Cats": 0, "Dogs": 1},
        "Dogs",
    ),
    (
        "two voters count separately",
        [("Cats", "v1", 0, ""), ("Dogs", "v2", 0, "")],
        {"Cats": 1, "Dogs": 1},
        "Cats",
    ),
]


@pytest.mark.parametrize(
    ("case", "sequence", "expected", "stored"), CASES, ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("delivery", ["one message each", "one batch"])
def test_vote_rules(make_poll, case, sequence, expected, stored, delivery) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), opens_at=T0 - timedelta(hours=1))
    votes = [vote(poll, label, f"anon:{voter}", at, vid) for label, voter, at, vid in sequence]
    if delivery == "one batch":
        record_votes(votes)
    else:
        for v in votes:
            record_votes([v])
    assert tallies(poll) == expected
    assert Vote.objects.get(poll=poll, voter_key="anon:v1").choice.label == stored  # type: ignore[union-attr]
    assert_tallies_match_votes(poll)


def test_redelivery_of_an_older_vote_after_a_change_is_ignored(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    first = vote(poll, "Cats", at=0)
    record_votes([first])
    record_votes([vote(poll, "Dogs", at=1)])
    outcome = record_votes([first])  # the broker delivers the first message again
    assert outcome.ignored == 1
    assert tallies(poll) == {"Cats": 0, "Dogs": 1}


def test_vote_cast_after_close_is_rejected(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), closes_at=T0 + timedelta(seconds=10))
    outcome = record_votes([vote(poll, "Cats", at=11)])
    assert outcome.rejected == {"poll not open when cast": 1}
    assert tallies(poll) == {"Cats": 0, "Dogs": 0}
    assert not Vote.objects.exists()


def test_vote_cast_before_a_manual_close_still_counts(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    cast_while_open = vote(poll, "Cats", at=0)
    poll.status = Poll.Status.CLOSED
    poll.save()
    record_votes([cast_while_open])
    assert tallies(poll) == {"Cats": 1, "Dogs": 0}


def test_unknown_choice_or_another_polls_choice_is_rejected(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    other = make_poll(slug="other", labels=("Tea", "Coffee"))
    foreign = QueuedVote(uuid.uuid4(), poll.pk, other.choices.first().pk, "anon:v1", T0)
    missing = QueuedVote(uuid.uuid4(), poll.pk, 999_999, "anon:v2", T0)
    outcome = record_votes([foreign, missing])
    assert outcome.rejected == {"unknown choice": 2}
    assert tallies(poll) == {"Cats": 0, "Dogs": 0}


def test_draft_poll_takes_no_votes(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), status=Poll.Status.DRAFT)
    assert record_votes([vote(poll, "Cats")]).rejected == {"poll not open when cast": 1}


def test_each_change_bumps_seq_and_total_counts_voters(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    record_votes([vote(poll, "Cats", "anon:a", 0)])
    record_votes([vote(poll, "Dogs", "anon:a", 1), vote(poll, "Dogs", "anon:b", 1)])
    record_votes([vote(poll, "Dogs", "anon:b", 2)])  # same choice: nothing to show
    counter = PollCounter.objects.get(poll=poll)
    assert (counter.total, counter.seq) == (2, 2)


@pytest.mark.parametrize(
    "message",
    [
        None,
        [],
        {"poll_id": 1},
        {
            "vote_id": "x",
            "poll_id": 1,
            "choice_id": 1,
            "voter_key": "a",
            "cast_at": "2026-01-01T00:00:00+00:00",
        },
        {
            "vote_id": str(uuid.uuid4()),
            "poll_id": "1",
            "choice_id": 1,
            "voter_key": "a",
            "cast_at": "2026-01-01T00:00:00+00:00",
        },
        {
            "vote_id": str(uuid.uuid4()),
            "poll_id": 1,
            "choice_id": 1,
            "voter_key": "",
            "cast_at": "2026-01-01T00:00:00+00:00",
        },
        {
            "vote_id": str(uuid.uuid4()),
            "poll_id": 1,
            "choice_id": 1,
            "voter_key": "a",
            "cast_at": "2026-01-01T00:00:00",
        },
        {
            "vote_id": str(uuid.uuid4()),
            "poll_id": 1,
            "choice_id": 1,
            "voter_key": "a",
            "cast_at": "yesterday",
        },
    ],
)
def test_malformed_messages_are_refused(message) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        QueuedVote.from_message(message)


def test_message_round_trip() -> None:
    original = QueuedVote(
        uuid.uuid4(), 3, 7, "user:5", datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    )
    assert QueuedVote.from_message(original.to_message()) == original


def assert_tallies_match_votes(poll: Poll) -> None:
    counted = dict(Vote.objects.filter(poll=poll).values_list("choice_id").annotate(n=Count("id")))
    kept = dict(Tally.objects.filter(poll=poll).values_list("choice_id", "votes"))
    assert kept == {cid: counted.get(cid, 0) for cid in kept}
    assert PollCounter.objects.get(poll=poll).total == sum(counted.values())


def test_a_rejected_later_vote_does_not_hide_a_valid_earlier_one(make_poll) -> None:
    """Cast before the close, then again after it, both in one batch: the first counts."""
    poll = make_poll(labels=("Cats", "Dogs"), closes_at=T0 + timedelta(seconds=10))
    outcome = record_votes([vote(poll, "Cats", at=5), vote(poll, "Dogs", at=11)])
    assert outcome.rejected == {"poll not open when cast": 1}
    assert tallies(poll) == {"Cats": 1, "Dogs": 0}


# The worker's rules: a change to a stored vote where changes are not allowed (a
# specification a surviving mutant broke: docs/testing.md, "Mutation testing").


@pytest.mark.django_db(transaction=True)
def test_on_a_no_change_poll_changes_to_stored_votes_are_refused_each_counted_and_named(
    make_poll,
) -> None:
    poll = make_poll(allow_vote_change=False, labels=("Cats", "Dogs"))
    cats, dogs = poll.choices.all()
    first = [
        QueuedVote(uuid.uuid4(), poll.pk, cats.pk, f"anon:{v}", timezone.now()) for v in ("a", "b")
    ]
    record_votes(first)
    changes = [
        QueuedVote(uuid.uuid4(), poll.pk, dogs.pk, f"anon:{v}", timezone.now()) for v in ("a", "b")
    ]
    again = QueuedVote(uuid.uuid4(), poll.pk, cats.pk, "anon:a", timezone.now())
    outcome = record_votes([*changes, again])  # the same ballot again is no change
    assert outcome.rejected == {"vote change not allowed": 2}
    assert outcome.refused == {str(v.vote_id): "vote change not allowed" for v in changes}
    assert {t.choice.label: t.votes for t in Tally.objects.filter(choice__poll=poll)} == {
        "Cats": 2,
        "Dogs": 0,
    }
