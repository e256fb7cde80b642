"""Draft -> open -> closed: timed polls open and close by themselves; organisers open,
close, reset and recount through polls.organising, and viewers are told (seq, announce)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from polls import organising
from polls.models import Poll, PollCounter, PollReset, Tally, Vote
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from tests.support.votes import api_vote, stored_vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced(monkeypatch) -> list[frozenset[int]]:
    """The poll ids announced to live viewers (polls.live.publisher.polls_changed)."""
    calls: list[frozenset[int]] = []
    monkeypatch.setattr("polls.live.publisher.polls_changed", calls.append)
    return calls


# --- By itself ---------------------------------------------------------------------------


def test_a_timed_poll_opens_and_closes_by_itself(client, make_poll, own_queue) -> None:
    now = timezone.now()
    poll = make_poll(opens_at=now + timedelta(seconds=1), closes_at=now + timedelta(seconds=2))
    assert poll.state == "scheduled"
    assert api_vote(client, poll, "Cats").status_code == 409

    time.sleep(max(0.0, (poll.opens_at - timezone.now()).total_seconds()) + 0.05)
    assert Poll.objects.get(pk=poll.pk).state == "open"
    assert api_vote(client, poll, "Cats").status_code == 202

    time.sleep(max(0.0, (poll.closes_at - timezone.now()).total_seconds()) + 0.05)
    assert api_vote(client, poll, "Cats").status_code == 409
    assert client.get(f"/api/polls/{poll.slug}/results").json()["status"] == "closed"
    assert "closed" in client.get(f"/polls/{poll.slug}/").content.decode()
    assert Poll.objects.get(pk=poll.pk).status == Poll.Status.OPEN  # nobody had to act


def test_state_follows_the_clock(make_poll) -> None:
    now = timezone.now()
    poll = make_poll(opens_at=now, closes_at=now + timedelta(minutes=2))
    assert poll.state_at(now - timedelta(seconds=1)) == "scheduled"
    assert poll.state_at(now + timedelta(minutes=1)) == "open"
    assert poll.state_at(now + timedelta(minutes=2)) == "closed"
    assert not poll.is_open_at(now + timedelta(minutes=2))


def test_front_page_lists_open_scheduled_and_recently_closed_polls_never_drafts(
    client, make_poll
) -> None:
    # Closed polls stay listed for INDEX_CLOSED_DAYS, so their final results can be found
    # (tests/app/test_index.py has the details).
    now = timezone.now()
    make_poll(slug="open-one", question="Open one?")
    make_poll(slug="later", question="Later?", opens_at=now + timedelta(hours=1))
    make_poll(slug="over", question="Over?", closes_at=now - timedelta(seconds=1))
    make_poll(slug="long-over", question="Long over?", closes_at=now - timedelta(days=60))
    make_poll(slug="draft", question="Draft?", status=Poll.Status.DRAFT)
    page = client.get("/").content.decode()
    assert "Open one?" in page
    assert "Later?" in page
    assert "Over?" in page
    assert "Long over?" not in page
    assert "Draft?" not in page


def test_a_poll_must_close_after_it_opens(make_poll) -> None:
    now = timezone.now()
    poll = make_poll(opens_at=now, closes_at=now - timedelta(minutes=1))
    with pytest.raises(ValidationError):
        poll.full_clean()


# --- Open now / close now ------------------------------------------------------------------


def test_open_now_opens_a_draft_scheduled_for_later(
    make_poll, announced, django_capture_on_commit_callbacks
):
    poll = make_poll(status=Poll.Status.DRAFT, opens_at=timezone.now() + timedelta(hours=1))
    seq = PollCounter.objects.get(poll=poll).seq
    with django_capture_on_commit_callbacks(execute=True):
        opened = organising.open_poll(poll)
    assert opened.status == Poll.Status.OPEN
    assert opened.opens_at is not None
    assert opened.opens_at <= timezone.now()
    assert opened.state == "open"
    assert PollCounter.objects.get(poll=poll).seq == seq + 1
    assert announced == [frozenset([poll.pk])]


def test_open_now_reopens_a_closed_poll_and_keeps_a_future_close(make_poll) -> None:
    closed = make_poll(slug="closed", status=Poll.Status.CLOSED)
    assert closed.closes_at is not None
    assert organising.open_poll(closed).closes_at is None
    later = timezone.now() + timedelta(hours=1)
    timed = make_poll(slug="timed", closes_at=later)
    assert organising.open_poll(timed).closes_at == later


def test_close_now_stamps_the_time_and_counts_votes_cast_before(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    cats = poll.choices.get(label="Cats")
    cast_before = QueuedVote(uuid.uuid4(), poll.pk, cats.pk, "anon:a", timezone.now())
    closed = organising.close_poll(poll)
    assert closed.status == Poll.Status.CLOSED
    assert closed.closes_at is not None
    assert closed.closes_at <= timezone.now()
    assert closed.state == "closed"
    late = QueuedVote(uuid.uuid4(), poll.pk, cats.pk, "anon:b", timezone.now())
    outcome = record_votes([cast_before, late])  # the worker catches up after the close
    assert outcome.created == 1
    assert outcome.rejected == {"poll not open when cast": 1}


def test_a_draft_cannot_be_closed(make_poll) -> None:
    poll = make_poll(status=Poll.Status.DRAFT)
    with pytest.raises(organising.PollSetupError, match="draft"):
        organising.close_poll(poll)


# --- Reset and recount ---------------------------------------------------------------------


def test_reset_zeroes_tallies_bumps_seq_records_who_and_tells_viewers(
    make_poll, django_user_model, announced, django_capture_on_commit_callbacks
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    stored_vote(poll, "Dogs", "anon:b")
    seq = PollCounter.objects.get(poll=poll).seq
    organiser = django_user_model.objects.create_user("org", password="pw-org-123")

    with django_capture_on_commit_callbacks(execute=True):
        record = organising.reset_votes(poll, by=organiser)

    assert not Vote.objects.filter(poll=poll).exists()
    assert set(Tally.objects.filter(poll=poll).values_list("votes", flat=True)) == {0}
    counter = PollCounter.objects.get(poll=poll)
    assert (counter.total, counter.seq) == (0, seq + 1)
    assert PollReset.objects.get(poll=poll) == record
    assert (record.reset_by, record.votes_removed) == (organiser, 2)
    assert announced == [frozenset([poll.pk])]


def test_votes_after_a_reset_count_from_zero(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    organising.reset_votes(poll)
    stored_vote(poll, "Dogs", "anon:a")
    assert PollCounter.objects.get(poll=poll).total == 1
    assert Tally.objects.get(choice__label="Dogs", poll=poll).votes == 1


def test_recount_check_reports_drift_and_changes_nothing(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    Tally.objects.filter(poll=poll, choice__label="Cats").update(votes=5)

    report = organising.recount_poll(poll, check=True)
    assert not report.matches
    assert [(d.label, d.stored, d.counted) for d in report.differences] == [("Cats", 5, 1)]
    assert Tally.objects.get(poll=poll, choice__label="Cats").votes == 5


def test_recount_fixes_drift_and_bumps_seq(
    make_poll, announced, django_capture_on_commit_callbacks
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    Tally.objects.filter(poll=poll, choice__label="Dogs").update(votes=3)
    PollCounter.objects.filter(poll=poll).update(total=9)
    seq = PollCounter.objects.get(poll=poll).seq

    with django_capture_on_commit_callbacks(execute=True):
        report = organising.recount_poll(poll)

    assert report.fixed
    assert organising.recount_poll(poll, check=True).matches
    counter = PollCounter.objects.get(poll=poll)
    assert (counter.total, counter.seq) == (1, seq + 1)
    assert announced == [frozenset([poll.pk])]


def test_recount_of_a_correct_poll_changes_nothing(make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    seq = PollCounter.objects.get(poll=poll).seq
    report = organising.recount_poll(poll)
    assert report.matches
    assert not report.fixed
    assert PollCounter.objects.get(poll=poll).seq == seq
