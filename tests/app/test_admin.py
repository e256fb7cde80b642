"""The organisers' admin at /admin/: polls with choices inline, lifecycle actions, reset with
confirmation, CSV export, read-only votes, and the issue's "done when" scenario."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from polls.models import Poll, PollCounter, PollReset, Tally, Vote
from tests.support.admin import CHANGELIST, poll_form, run_action
from tests.support.votes import stored_vote

pytestmark = pytest.mark.django_db


def existing_choices(poll: Poll) -> list[dict[str, Any]]:
    return [{"id": c.pk, "label": c.label, "position": c.position} for c in poll.choices.all()]


# --- Poll list ----------------------------------------------------------------------------


def test_changelist_shows_total_votes_state_and_public_links(admin_client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    stored_vote(poll, "Dogs", "anon:b")
    page = admin_client.get(CHANGELIST).content.decode()
    assert "Best pet?" in page
    assert '<td class="field-total_votes">2</td>' in page
    assert f'href="/polls/{poll.slug}/"' in page
    assert f'href="/polls/{poll.slug}/results/"' in page


def test_changelist_filters_by_status_and_searches_question_and_slug(admin_client, make_poll):
    make_poll(slug="tea-or-coffee", question="Tea or coffee?")
    make_poll(slug="best-city", question="Best city?", status=Poll.Status.DRAFT)
    drafts = admin_client.get(CHANGELIST, {"status__exact": "draft"}).content.decode()
    assert "Best city?" in drafts
    assert "Tea or coffee?" not in drafts
    by_question = admin_client.get(CHANGELIST, {"q": "coffee"}).content.decode()
    assert "Tea or coffee?" in by_question
    assert "Best city?" not in by_question
    by_slug = admin_client.get(CHANGELIST, {"q": "best-city"}).content.decode()
    assert "Best city?" in by_slug


def test_change_form_shows_choices_inline_and_tallies_with_percentages(admin_client, make_poll):
    poll = make_poll(labels=("Cats", "Dogs"))
    for voter in ("a", "b", "c"):
        stored_vote(poll, "Cats", f"anon:{voter}")
    stored_vote(poll, "Dogs", "anon:d")
    page = admin_client.get(f"{CHANGELIST}{poll.pk}/change/").content.decode()
    assert 'name="choices-0-label"' in page
    assert "<td>Cats</td><td>3</td><td>75.0%</td>" in page
    assert "<td>Dogs</td><td>1</td><td>25.0%</td>" in page
    assert "3 (75.0%)" in page  # the inline row too
    assert 'id="id_slug"' in page
    # The rules: results visibility as radio buttons, one per choice of rule.
    assert 'id="id_results_visibility_0"' in page
    assert all(label in page for label in Poll.ResultsVisibility.labels)


def test_renaming_and_reordering_choices_keeps_their_votes(admin_client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    cats, dogs = poll.choices.all()
    choices = [
        {"id": cats.pk, "label": "Felines", "position": 2},
        {"id": dogs.pk, "label": "Dogs", "position": 1},
    ]
    response = admin_client.post(f"{CHANGELIST}{poll.pk}/change/", poll_form(poll, choices))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [c.label for c in poll.choices.all()] == ["Dogs", "Felines"]
    assert Tally.objects.get(choice=cats).votes == 1


def test_deleting_a_choice_with_votes_is_refused_with_a_message(admin_client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    stored_vote(poll, "Cats", "anon:a")
    choices = existing_choices(poll)
    choices[0]["DELETE"] = True
    response = admin_client.post(f"{CHANGELIST}{poll.pk}/change/", poll_form(poll, choices))
    assert response.status_code == 200  # the form again, with the reason
    assert "cannot be deleted: 1 vote(s) are for it" in response.content.decode()
    assert poll.choices.filter(label="Cats").exists()


def test_deleting_a_choice_without_votes_works(admin_client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    stored_vote(poll, "Cats", "anon:a")
    choices = existing_choices(poll)
    choices[2]["DELETE"] = True
    response = admin_client.post(f"{CHANGELIST}{poll.pk}/change/", poll_form(poll, choices))
    assert response.status_code == 302
    assert [c.label for c in poll.choices.all()] == ["Cats", "Dogs"]


def test_a_poll_with_votes_is_deleted_only_after_a_reset(admin_client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    refused = admin_client.post(f"{CHANGELIST}{poll.pk}/delete/", {"post": "yes"})
    assert refused.status_code == 200
    assert "Cannot delete poll" in refused.content.decode()  # votes are protected
    assert Poll.objects.filter(pk=poll.pk).exists()

    run_action(admin_client, "reset_votes", [poll], confirm="yes")
    deleted = admin_client.post(f"{CHANGELIST}{poll.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Poll.objects.filter(pk=poll.pk).exists()


# --- Actions ------------------------------------------------------------------------------


def test_open_now_and_close_now_actions(admin_client, make_poll) -> None:
    poll = make_poll(status=Poll.Status.DRAFT, opens_at=timezone.now() + timedelta(days=1))
    run_action(admin_client, "open_now", [poll])
    poll.refresh_from_db()
    assert poll.state == "open"
    run_action(admin_client, "close_now", [poll])
    poll.refresh_from_db()
    assert (poll.status, poll.state) == (Poll.Status.CLOSED, "closed")


def test_close_now_on_a_draft_says_why_it_did_nothing(admin_client, make_poll) -> None:
    poll = make_poll(status=Poll.Status.DRAFT)
    response = run_action(admin_client, "close_now", [poll])
    page = admin_client.get(response["Location"]).content.decode()
    assert "is a draft: it never opened" in page
    poll.refresh_from_db()
    assert poll.status == Poll.Status.DRAFT


def test_reset_asks_for_confirmation_then_resets_and_records_who(
    admin_client, admin_user, make_poll
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    stored_vote(poll, "Dogs", "anon:b")

    confirm = run_action(admin_client, "reset_votes", [poll])
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Yes, reset the votes" in page
    assert "2 votes" in page
    assert Vote.objects.filter(poll=poll).count() == 2  # nothing happened yet

    done = run_action(admin_client, "reset_votes", [poll], confirm="yes")
    assert done.status_code == 302
    assert not Vote.objects.filter(poll=poll).exists()
    assert PollCounter.objects.get(poll=poll).total == 0
    reset = PollReset.objects.get(poll=poll)
    assert (reset.reset_by, reset.votes_removed) == (admin_user, 2)
    change_page = admin_client.get(f"{CHANGELIST}{poll.pk}/change/").content.decode()
    assert admin_user.username in change_page  # who reset, on the poll's page


def test_export_csv_action_reads_the_tallies(admin_client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    response = run_action(admin_client, "export_csv", [poll])
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{poll.slug}-results.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["choice"], r["votes"], r["percent"]) for r in rows] == [
        ("Cats", "1", "100.0"),
        ("Dogs", "0", "0.0"),
    ]


# --- Votes --------------------------------------------------------------------------------


def test_votes_are_listed_and_searchable_by_voter_key(admin_client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:alice")
    stored_vote(poll, "Dogs", "anon:bob")
    page = admin_client.get("/admin/polls/vote/", {"q": "alice"}).content.decode()
    assert "anon:alice" in page
    assert "anon:bob" not in page


def test_votes_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, make_poll) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    stored_vote(poll, "Cats", "anon:a")
    vote = Vote.objects.get()
    assert admin_client.get("/admin/polls/vote/add/").status_code == 403
    view = admin_client.get(f"/admin/polls/vote/{vote.pk}/change/")
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()  # read-only view
    dogs = poll.choices.get(label="Dogs").pk
    admin_client.post(f"/admin/polls/vote/{vote.pk}/change/", {"choice": dogs})
    assert Vote.objects.get().choice.label == "Cats"  # type: ignore[union-attr]
    assert admin_client.post(f"/admin/polls/vote/{vote.pk}/delete/").status_code == 403
    assert Vote.objects.exists()


# --- The "done when" -------------------------------------------------------------
