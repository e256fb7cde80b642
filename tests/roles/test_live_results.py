"""Live results end to end on the real roles: a vote posted to gunicorn reaches a socket on
daphne; daphne refuses a socket from another origin."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from polls.models import Poll
from tests.support.clients import Browser, next_results, results_socket
from tests.support.live import votes_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.processes
def test_a_vote_posted_to_the_voting_role_reaches_a_socket_on_the_results_role(
    make_poll: Callable[..., Poll], worker: Any, voting: Any, results: Any
) -> None:
    poll = make_poll(slug=f"e2e-{uuid.uuid4().hex[:8]}", labels=("Cats", "Dogs"))
    dogs = poll.choices.get(label="Dogs")
    with results_socket(results.url, poll.slug) as ws:
        first = next_results(ws)
        assert first["total"] == 0

        assert Browser(voting.url).vote_api(poll.slug, dogs.pk).status_code == 202
        assert Browser(voting.url).vote_api(poll.slug, dogs.pk).status_code == 202

        latest = first
        while latest["total"] < 2:
            news = next_results(ws)
            assert news["seq"] > latest["seq"]
            latest = news
        assert votes_of(latest) == {"Cats": 0, "Dogs": 2}


@pytest.mark.processes
def test_the_results_role_refuses_a_socket_from_another_origin(
    make_poll: Callable[..., Poll], results: Any
) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect
    from websockets.typing import Origin

    poll = make_poll(slug=f"origin-{uuid.uuid4().hex[:8]}")
    ws_url = results.url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/"
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, origin=Origin("http://evil.example"), open_timeout=10)
    assert refused.value.response.status_code == 403
