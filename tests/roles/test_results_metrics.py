"""The results role's autoscaling metric (deploy/k8s/base/autoscaling.yaml): each results
process serves the WebSockets it holds open as the gauge results_open_websockets on its
/metrics, up as a page connects and down as it leaves. On the real daphne process."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
import requests

from polls.models import Poll
from tests.support import processes
from tests.support.clients import next_results, results_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def open_sockets(results_url: str) -> float:
    text = requests.get(f"{results_url}/metrics", timeout=10).text
    match = re.search(r"^results_open_websockets (\S+)$", text, re.M)
    assert match, "the gauge is served on the role's /metrics"
    return float(match.group(1))


def test_the_open_sockets_gauge_follows_pages_connecting_and_leaving(
    results, make_poll: Callable[..., Poll]
) -> None:
    poll = make_poll(slug=f"gauge-{uuid.uuid4().hex[:8]}")
    before = open_sockets(results.url)
    with (
        results_socket(results.url, poll.slug) as first,
        results_socket(results.url, poll.slug) as second,
    ):
        next_results(first)
        next_results(second)
        assert open_sockets(results.url) == before + 2
    processes.wait_for(
        lambda: open_sockets(results.url) == before, timeout=10, what="the gauge back down"
    )
    # A socket the consumer closes at once (an unknown poll) is not left counted.
    with (
        results_socket(results.url, "no-such-poll") as refused,
        pytest.raises(Exception, match="4404"),
    ):
        refused.recv(timeout=10)
    processes.wait_for(
        lambda: open_sockets(results.url) == before, timeout=10, what="the refused one gone"
    )
