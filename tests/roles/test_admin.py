"""The organisers' admin with the vote path running: the issue's "done when" scenario, a poll
made in the admin, voted on through a real Celery worker, closing by itself, exported and
recounted."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from polls.models import Poll, Vote
from tests.support.admin import CHANGELIST, poll_form, run_action
from tests.support.votes import api_vote, pipeline_drained

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
def test_done_when_admin_poll_closes_by_itself_exports_and_recounts(
    admin_client, client, django_user_model, worker, redis_client, wait_for
) -> None:
    """Four choices made in the admin, closing shortly; two voters; it closes by itself.

    The votes go the whole way: admitted and queued in Redis with their ledger entries,
    taken by a real worker and stored in Postgres.
    """
    closes_at = timezone.now() + timedelta(seconds=3)
    labels = ["Red", "Green", "Blue", "Yellow"]
    choices = [{"label": label, "position": i} for i, label in enumerate(labels)]
    form = poll_form(
        None,
        choices,
        question="Favourite colour?",
        slug="favourite-colour",
        status=Poll.Status.OPEN,
        closes_at=closes_at,
    )
    response = admin_client.post(f"{CHANGELIST}add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    poll = Poll.objects.get(slug="favourite-colour")
    assert [c.label for c in poll.choices.all()] == labels
    assert poll.state == "open"

    # Two browsers vote (the view queues; the worker stores what was queued).
    second = django_user_model.objects.create_user("voter2", password="pw-voter-2")
    other = type(client)()
    other.force_login(second)
    for browser, label in ((client, "Blue"), (other, "Red")):
        assert api_vote(browser, poll, label).status_code == 202
    wait_for(lambda: pipeline_drained(redis_client, poll), what="the worker to store both votes")
    stored = dict(Vote.objects.filter(poll=poll).values_list("voter_key", "choice__label"))
    assert stored.pop(f"user:{second.pk}") == "Red"
    assert list(stored.values()) == ["Blue"]  # the anonymous voter, by their cookie

    # Nobody acts; the poll closes at closes_at (second precision in the form).
    assert poll.closes_at is not None
    wait = (poll.closes_at - timezone.now()).total_seconds() + 0.05
    time.sleep(max(0.0, wait))
    poll.refresh_from_db()
    assert poll.status == Poll.Status.OPEN
    assert poll.state == "closed"
    assert api_vote(client, poll, "Red").status_code == 409

    exported = run_action(admin_client, "export_csv", [poll]).content.decode()
    rows = {r["choice"]: r for r in csv.DictReader(io.StringIO(exported))}
    assert {label: rows[label]["votes"] for label in labels} == {
        "Red": "1",
        "Green": "0",
        "Blue": "1",
        "Yellow": "0",
    }
    assert {r["status"] for r in rows.values()} == {"closed"}

    out = io.StringIO()
    call_command("recount", poll.slug, "--check", stdout=out)
    assert "ok (2 votes)" in out.getvalue()
