"""Moderation (issue 34) on the real roles: ballots through gunicorn, Redis and a Celery
worker; a poll in "before" mode stores every entry waiting and the live socket shows
nothing until `manage.py moderate` approves a term; hiding takes it off the socket's
snapshot; a refusing poll answers 400 at admission; the counts equal the entries."""

from __future__ import annotations

from typing import Any

import pytest

from polls import organising
from polls.models import TextEntry
from tests.support.commands import run
from tests.support.kinds import kind_poll

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def api_ballot(base: str, slug: str, body: dict[str, Any]) -> Any:
    import requests

    http = requests.Session()
    http.get(f"{base}/api/polls/{slug}", timeout=10)
    return http.post(
        f"{base}/api/polls/{slug}/vote",
        json=body,
        headers={"X-CSRFToken": http.cookies.get("csrftoken") or ""},
        timeout=10,
    )


def test_before_mode_shows_nothing_until_a_moderator_approves_and_hiding_is_live(
    worker: Any, voting: Any, results: Any
) -> None:
    from tests.support.clients import next_results, results_socket, results_until

    poll = kind_poll("wordcloud", moderation="before")
    with results_socket(results.url, poll.slug) as ws:
        assert next_results(ws)["terms"] == []
        for words in (["Python", "Scheiße"], ["python"], ["Rust"]):
            assert api_ballot(voting.url, poll.slug, {"entries": words}).status_code == 202
        while TextEntry.objects.filter(poll=poll).count() < 4:  # the worker stored them
            latest = next_results(ws)
            assert latest["terms"] == []  # nothing unapproved reaches a page
        assert set(TextEntry.objects.filter(poll=poll).values_list("state", flat=True)) == {
            "pending"
        }

        assert "2 entries moved" in run("moderate", poll.slug, "--approve", "Python")
        # The first message showing any term (the stores' own updates may come first).
        latest = results_until(ws, lambda message: bool(message["terms"]))
        assert [(t["text"], t["count"]) for t in latest["terms"]] == [("Python", 2)]

        # A new voter's "PYTHON": its term approved, shown at once through the worker.
        assert api_ballot(voting.url, poll.slug, {"entries": ["PYTHON"]}).status_code == 202
        while latest["entries"] < 3:
            latest = next_results(ws)
        assert latest["terms"][0]["count"] == 3

        assert "3 entries moved" in run("moderate", poll.slug, "--hide", "python")
        results_until(ws, lambda message: message["terms"] == [])
    assert organising.recount_poll(poll, check=True).matches


def test_a_refusing_poll_answers_400_at_admission_and_stores_nothing(
    worker: Any, voting: Any
) -> None:
    poll = kind_poll("openanswer", filter_action="refuse")
    answer = api_ballot(voting.url, poll.slug, {"answer": "Du Arschloch"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "entry_refused_by_filter"
    assert api_ballot(voting.url, poll.slug, {"answer": "Danke"}).status_code == 202
