"""Multiple choice, ranked choice and rating scales on the real roles: each kind's ballots go
through gunicorn, Redis and a Celery worker to a live socket, and simulate_votes casts
random ballots of each kind."""

from __future__ import annotations

from typing import Any

import pytest

from polls import organising
from polls.models import Poll, Vote
from tests.support.commands import run
from tests.support.kinds import K, ids, kind_poll

pytestmark = pytest.mark.django_db


def api_ballot(base: str, poll: Poll, body: dict[str, Any]) -> Any:
    import requests

    http = requests.Session()
    http.get(f"{base}/api/polls/{poll.slug}", timeout=10)
    return http.post(
        f"{base}/api/polls/{poll.slug}/vote",
        json=body,
        headers={"X-CSRFToken": http.cookies.get("csrftoken") or ""},
        timeout=10,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
@pytest.mark.parametrize("kind", [K.MULTIPLE, K.RANKED, K.SCALE])
def test_each_kind_goes_through_the_real_pipeline_to_a_live_socket(
    kind, worker, voting, results
) -> None:
    import requests

    from tests.support.clients import next_results, results_socket

    poll = kind_poll(kind)
    red, green, blue, _ = ids(poll) if kind != K.SCALE else [0, 0, 0, 0]
    by_kind: dict[str, list[dict[str, Any]]] = {
        K.MULTIPLE: [{"choices": [red, green]}, {"choices": [green]}, {"choices": [blue, red]}],
        K.RANKED: [{"ranking": [red, green]}, {"ranking": [green, red]}, {"ranking": [blue]}],
        K.SCALE: [{"value": 5}, {"value": 2}, {"value": 4}],
    }
    bodies = by_kind[kind]
    with results_socket(results.url, poll.slug) as ws:
        assert next_results(ws)["total"] == 0
        for body in bodies:
            assert api_ballot(voting.url, poll, body).status_code == 202
        latest = next_results(ws)
        while latest["total"] < 3:
            latest = next_results(ws)
    assert latest["kind"] == kind
    api = requests.get(f"{voting.url}/api/polls/{poll.slug}/results", timeout=10).json()
    # The API also says a ranked count's rounds in the request's language (the socket's
    # snapshot is language-neutral: the page's script words it from the same catalogue).
    words = {key: api.pop(key) for key in ("described", "described_language") if key in api}
    assert bool(words) == (kind == "ranked")
    assert api == latest  # the page, the socket and the API agree
    if kind == K.MULTIPLE:
        assert {c["id"]: c["votes"] for c in latest["choices"]}[red] == 2
    if kind == K.RANKED:
        assert latest["winner"] in (red, green)
        assert latest["rounds"][0]["counts"][0] == {"id": red, "votes": 1, "percent": 33.4}
    if kind == K.SCALE:
        assert (latest["mean"], latest["median"]) == (3.67, 4.0)
    assert organising.recount_poll(poll, check=True).matches


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
@pytest.mark.parametrize("kind", [K.MULTIPLE, K.RANKED, K.SCALE])
def test_simulate_votes_casts_random_ballots_of_each_kind(kind, worker, redis_client) -> None:
    from tests.support.votes import pipeline_drained

    poll = kind_poll(kind)
    out = run("simulate_votes", poll.slug, "--voters", "30", "--change-ratio", "0.3",
              "--seed", "2", "--verbosity", "2")  # fmt: skip
    assert "Sent 39 votes (30 voters, 9 changes)" in out
    last: dict[str, tuple[int, ...]] = {}
    for line in out.splitlines():
        if line.startswith("cast "):
            _, voter, items = line.split()
            last[voter] = tuple(int(i) for i in items.split(","))
    from tests.support.processes import wait_for

    wait_for(lambda: pipeline_drained(redis_client, poll), timeout=60, what="the votes stored")
    stored = {
        key: tuple(b)
        for key, b in Vote.objects.filter(poll=poll).values_list("voter_key", "ballot")
    }
    want = {k: tuple(sorted(v)) if kind == K.MULTIPLE else v for k, v in last.items()}
    assert stored == want
    assert organising.recount_poll(poll, check=True).matches
