"""The sealed chain, as rules: the worker appends one batch per stored batch of ballots
(counted, replaced, refused with why), nothing for a redelivered one; a secret-ballot
poll's ballots only as commitments; organiser actions that change counts append their
own (reset, rules changed, an answer key corrected, a choice deleted, an import, a
recount's fix); the links hold, and `chain.check` names what a changed row breaks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone, translation

from polls import chain, organising
from polls.counting import chain as encoding
from polls.models import ChainBatch, ChainHead, Poll, PollCounter, Tally, Vote
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from tests.support.votes import receipted_ballot

pytestmark = pytest.mark.django_db

T0 = timezone.now()


def ballot(poll: Poll, voter_key: str, label: str, seconds: int, **fields: Any) -> QueuedVote:
    """A ballot with its receipt, cast `seconds` after T0, as the web side would queue it."""
    return receipted_ballot(poll, voter_key, label, T0 + timedelta(seconds=seconds), **fields)


def events(poll: Poll) -> list[list[dict[str, Any]]]:
    return [list(b[3]) for b in chain.batches(poll.pk)]


def kinds_of(poll: Poll) -> list[list[str]]:
    return [[e["type"] for e in batch] for batch in events(poll)]


def problems(poll: Poll) -> list[str]:
    return chain.check(poll, chain.stored_ballots(poll, {}))


def test_each_stored_batch_appends_one_link_and_the_head_is_the_last_hash(
    make_poll: Callable[..., Poll],
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), ballot_secrecy=Poll.BallotSecrecy.PUBLIC)
    a1, b1, a2 = (
        ballot(poll, "anon:a", "Cats", 1),
        ballot(poll, "anon:b", "Dogs", 1),
        ballot(poll, "anon:a", "Dogs", 2),
    )
    record_votes([a1, b1])
    record_votes([a2])
    assert kinds_of(poll) == [["counted", "counted"], ["replaced", "counted"]]
    first, second = events(poll)
    assert first[0] == {
        "type": "counted",
        "vote": str(a1.vote_id),
        "receipt": a1.receipt,
        "ballot": [poll.choices.get(label="Cats").pk],
    }
    assert second[0] == {"type": "replaced", "vote": str(a1.vote_id), "receipt": a1.receipt}
    rows = list(ChainBatch.objects.filter(poll=poll).order_by("index"))
    assert rows[0].previous == encoding.genesis(poll.pk)
    assert rows[1].previous == rows[0].hash
    assert rows[1].hash == encoding.batch_hash(rows[0].hash, [encoding.digest(e) for e in second])
    head = ChainHead.objects.get(poll=poll)
    assert (head.hash, head.length) == (rows[1].hash, 2)
    assert problems(poll) == []


def test_a_redelivered_batch_appends_nothing(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    a1, a2, b1 = (
        ballot(poll, "anon:a", "Cats", 1),
        ballot(poll, "anon:a", "Dogs", 2),
        ballot(poll, "anon:b", "Dogs", 1),
    )
    record_votes([a1, a2, b1])
    seal = ChainHead.objects.get(poll=poll).hash
    record_votes([a1, a2, b1])  # the same message again
    record_votes([a1])  # an older copy, late
    assert ChainHead.objects.get(poll=poll).hash == seal
    assert kinds_of(poll) == [["replaced", "counted", "counted"]]
    assert problems(poll) == []


def test_a_refused_ballot_is_on_the_chain_with_why(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), allow_vote_change=False)
    first, second = ballot(poll, "anon:a", "Cats", 1), ballot(poll, "anon:a", "Dogs", 2)
    record_votes([first])
    seq = PollCounter.objects.get(poll=poll).seq
    record_votes([second])
    record_votes([second])
    assert events(poll)[1] == [
        {
            "type": "refused",
            "vote": str(second.vote_id),
            "receipt": second.receipt,
            "reason": "vote change not allowed",
        }
    ]
    assert len(events(poll)) == 2
    # No count changed: no new snapshot for the viewers (the seal shows with the next one).
    assert PollCounter.objects.get(poll=poll).seq == seq


def test_on_a_secret_poll_a_ballot_is_only_a_commitment_salted_by_its_nonce(
    make_poll: Callable[..., Poll],
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    assert poll.ballot_secrecy == Poll.BallotSecrecy.SECRET
    vote = ballot(poll, "anon:a", "Cats", 1)
    record_votes([vote])
    ((event,),) = events(poll)
    assert "ballot" not in event
    cats = poll.choices.get(label="Cats").pk
    assert event["commitment"] == encoding.commitment(vote.nonce, [cats])
    # Without the nonce, trying each choice finds nothing.
    for choice in poll.choices.values_list("pk", flat=True):
        assert event["commitment"] != encoding.commitment("", [choice])
    assert problems(poll) == []


def test_organiser_actions_that_change_counts_are_on_the_chain(
    make_poll: Callable[..., Poll],
) -> None:
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    record_votes([ballot(poll, "anon:a", "Cats", 1)])
    poll.choices.get(label="Fish").delete()
    organising.reset_votes(poll)
    Poll.objects.filter(pk=poll.pk).update(options={"quiz_correct": "1"})
    organising.record_rules_change(poll, {"quiz_correct": "1"}, {"quiz_correct": "2"})
    assert kinds_of(poll) == [
        ["counted"],
        ["choice deleted"],
        ["reset"],
        ["answer key corrected"],
    ]
    assert events(poll)[2][0]["votes_removed"] == 1
    assert events(poll)[3][0]["after"] == {"quiz_correct": "2"}
    assert problems(poll) == []


def test_a_ranked_polls_rules_change_is_on_the_chain(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll(kind=Poll.Kind.RANKED)
    organising.change_rules(poll, {"batch": True})
    ((event,),) = events(poll)
    assert event["type"] == "rules changed"
    assert event["before"]["batch"] is False
    assert event["after"]["batch"] is True


def test_a_recount_that_fixes_counts_is_on_the_chain(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    record_votes([ballot(poll, "anon:a", "Cats", 1)])
    Tally.objects.filter(poll=poll).update(votes=5)
    organising.recount_poll(poll)
    assert kinds_of(poll)[-1] == ["recounted"]
    assert problems(poll) == []


def test_the_organiser_event_function_for_other_modules(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    seal = chain.record_organiser_event(poll, "entry hidden", {"entry": 7})
    assert events(poll) == [[{"type": "entry hidden", "entry": 7}]]
    assert chain.seal_of(poll.pk, closed=False).hash == seal
    with pytest.raises(ValueError, match="type"):
        chain.record_organiser_event(poll, "entry hidden", {"type": "x"})


def test_a_deleted_poll_takes_its_chain_along(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    chain.record_organiser_event(poll, "entry hidden", {"entry": 7})
    poll.delete()  # its choices go too: no "choice deleted" for a poll that is gone
    assert not ChainBatch.objects.exists()


# --- What a changed row breaks --------------------------------------------------------


def _tamper(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def voted(make_poll: Callable[..., Poll]) -> tuple[Poll, list[QueuedVote]]:
    poll = make_poll(labels=("Cats", "Dogs"))
    votes = [ballot(poll, f"anon:{n}", "Cats" if n % 2 else "Dogs", n) for n in range(6)]
    record_votes(votes[:3])
    record_votes(votes[3:])
    return poll, votes


def test_a_changed_ballot_is_named(voted: tuple[Poll, list[QueuedVote]]) -> None:
    poll, votes = voted
    dogs = poll.choices.get(label="Dogs").pk
    Vote.objects.filter(vote_id=votes[1].vote_id).update(ballot=[dogs], choice_id=dogs)
    assert problems(poll) == [f"vote {votes[1].receipt}: its ballot is not the chain's"]


def test_a_deleted_ballot_is_named(voted: tuple[Poll, list[QueuedVote]]) -> None:
    poll, votes = voted
    Vote.objects.filter(vote_id=votes[4].vote_id).delete()
    assert problems(poll) == [f"vote {votes[4].receipt}: on the chain, not stored"]


def test_a_changed_chain_event_is_named(voted: tuple[Poll, list[QueuedVote]]) -> None:
    poll, _ = voted
    _tamper(
        "UPDATE polls_chainbatch SET events = jsonb_set(events::jsonb, '{1,receipt}', "
        "'\"0000000000\"') WHERE poll_id = %s AND index = 2",
        [poll.pk],
    )
    assert problems(poll) == ["chain batch 2, event 2 (counted): altered"]


def test_a_rewritten_chain_row_is_named(voted: tuple[Poll, list[QueuedVote]]) -> None:
    poll, _ = voted
    # Its events and their hashes rewritten together: its own hash no longer fits.
    row = ChainBatch.objects.get(poll=poll, index=1)
    row.events = row.events[:2]
    row.event_hashes = row.event_hashes[:2]
    row.save()
    assert problems(poll) == ["chain batch 1: its hash does not fit its events"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_storing_at_once_never_fork_the_chain(make_poll: Callable[..., Poll]) -> None:
    import threading

    from django.db import connections

    poll = make_poll(labels=("Cats", "Dogs"), slug=f"race-{uuid.uuid4().hex[:6]}")
    batches = [
        [ballot(poll, f"anon:{w}-{b}-{n}", "Cats" if n % 2 else "Dogs", n) for n in range(5)]
        for w in range(2)
        for b in range(10)
    ]
    start = threading.Barrier(2)

    def store(mine: list[list[QueuedVote]]) -> None:
        start.wait()
        try:
            for batch in mine:
                record_votes(batch)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=store, args=(batches[w::2],)) for w in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    head = ChainHead.objects.get(poll=poll)
    assert head.length == len(batches) == ChainBatch.objects.filter(poll=poll).count()
    assert problems(poll) == []
    assert Vote.objects.filter(poll=poll).count() == 5 * len(batches)


def test_the_seal_is_in_the_api_and_on_the_results_page_and_final_once_closed(
    make_poll: Callable[..., Poll], client: Any, settings: Any
) -> None:
    settings.RESULTS_SNAPSHOT_STALE_SECONDS = 0  # each read after a change: the new seal
    poll = make_poll(labels=("Cats", "Dogs"))
    answer = client.get(f"/api/polls/{poll.slug}/results").json()
    assert answer["seal"] == {"hash": encoding.genesis(poll.pk), "batches": 0, "final": False}
    record_votes([ballot(poll, "anon:a", "Cats", 1)])
    head = ChainHead.objects.get(poll=poll)
    answer = client.get(f"/api/polls/{poll.slug}/results").json()
    assert answer["seal"] == {"hash": head.hash, "batches": 1, "final": False}
    page = client.get(f"/polls/{poll.slug}/results/").content.decode()
    assert f'data-hash="{head.hash}">{head.hash[:16]}</code>' in page
    organising.close_poll(poll)
    answer = client.get(f"/api/polls/{poll.slug}/results").json()
    assert answer["seal"] == {"hash": head.hash, "batches": 1, "final": True}
    with translation.override("en"):  # the request's language does not outlive the test
        page = client.get(
            f"/polls/{poll.slug}/results/", HTTP_ACCEPT_LANGUAGE="de"
        ).content.decode()
    assert '<span data-seal-label="final">Endgültiges Siegel</span>' in page


def test_recount_seals_ballots_the_chain_lacks_on_record(
    make_poll: Callable[..., Poll], tmp_path: Any
) -> None:
    """A ballot stored without the worker (before the chain existed, or written by hand):
    `recount --check` names it; `recount` puts the stored ballots on the chain, as a
    recount's batch everyone can see."""
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    poll = make_poll(labels=("Cats", "Dogs"))
    record_votes([ballot(poll, "anon:a", "Cats", 1)])
    dogs = poll.choices.get(label="Dogs").pk
    row = Vote.objects.create(poll=poll, voter_key="anon:b", choice_id=dogs, ballot=[dogs],
                              cast_at=T0, receipt="ABCDEFGHJK", nonce="ab" * 16)  # fmt: skip
    assert problems(poll) == ["vote ABCDEFGHJK: counted, but not on the chain"]
    with pytest.raises(CommandError):
        call_command("recount", poll.slug, "--check", stdout=StringIO())
    call_command("recount", poll.slug, stdout=StringIO())
    assert problems(poll) == []
    recounted = events(poll)[-1]
    assert recounted[0]["type"] == "recounted"
    assert recounted[0]["ballots_sealed"] == 1
    assert recounted[1] == encoding.counted(
        vote_id=str(row.vote_id), receipt="ABCDEFGHJK", ballot=[dogs], nonce="ab" * 16,
        sealed=True,
    )  # fmt: skip
    call_command("recount", poll.slug, "--check", stdout=StringIO())
