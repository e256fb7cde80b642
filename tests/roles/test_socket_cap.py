"""The per-address socket cap, through daphne as a page meets it: the socket past the cap
is closed with 4429 (as docs/live-results.md and results/guard.py say), not refused with
a 403 handshake that tells the page nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from tests.support import processes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def capped(django_db_blocker: Any, redis_client: Any) -> Iterator[processes.WebServer]:
    """A results role of its own with a cap of two sockets per address."""
    with django_db_blocker.unblock():
        server = processes.results_server(env={"WS_SOCKETS_PER_ADDRESS": "2"}).start()
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def test_a_socket_past_the_per_address_cap_is_closed_with_4429(
    capped: processes.WebServer, make_poll: Any
) -> None:
    poll = make_poll(slug=f"cap-{uuid.uuid4().hex[:8]}", labels=("Cats", "Dogs"))
    url = capped.url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/"
    origin = Origin(capped.url)
    held: list[ClientConnection] = []
    try:
        for _ in range(2):
            held.append(connect(url, origin=origin, open_timeout=10))
            held[-1].recv(timeout=10)  # its snapshot: it is in
        extra = connect(url, origin=origin, open_timeout=10)
        with pytest.raises(ConnectionClosed) as closed:
            extra.recv(timeout=10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4429
    finally:
        for socket in held:
            socket.close()
