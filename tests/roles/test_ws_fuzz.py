"""The WebSocket, attacked from generated input: handshakes (paths, origins) and whatever a
client may send on an open socket (text or binary frames, any size, any order, pings, a
close at any point), against the real results role behind the real front door.

Whatever is sent, the site only ever answers in one of the documented ways: a 403
handshake for a foreign origin or a path nothing serves, a snapshot for a poll's page, a
documented close (a frame over 4 KB drops the socket, 4429 for more frames than the
burst allows), and it never logs a traceback. A socket that was not closed still answers `sync`.

Bounded: WS_FUZZ_EXAMPLES examples per property (40 in CI; the long run in
docs/testing.md sets more).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from polls.models import Poll

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

EXAMPLES = int(os.environ.get("WS_FUZZ_EXAMPLES", "40"))
FUZZ = hsettings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI") == "1",  # CI repeats one sequence; a local run explores
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MAX_FRAME = 4096  # the Procfile's --websocket-max-frame-size
BURST = 20  # WS_MESSAGES_BURST's default
CLOSE_TOO_BIG = 1009
CLOSE_TOO_MANY = 4429
# daphne (autobahn, failByDrop) drops a socket over the size limit without a close frame.
DROPPED = 1006
OPEN = None

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
text_frames = st.one_of(
    st.just(json.dumps({"type": "sync"})),
    json_values.map(json.dumps),
    st.dictionaries(st.sampled_from(["type", "seq", "poll"]), json_values, max_size=3).map(
        json.dumps
    ),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),  # deeply nested
    st.text(max_size=200),
    st.integers(MAX_FRAME - 16, MAX_FRAME * 3).map(lambda n: "x" * n),  # around the limit
)
frames = st.one_of(
    text_frames.map(lambda text: ("text", text)),
    st.binary(max_size=MAX_FRAME * 2).map(lambda data: ("bytes", data)),
    st.just(("ping", b"")),
)


def ws_url(site: Any, path: str) -> str:
    return site.url.replace("http://", "ws://", 1) + path


def is_snapshot(message: str | bytes, poll: Poll) -> bool:
    body = json.loads(message)
    return (
        isinstance(body, dict) and body.get("type") == "results" and body.get("poll") == poll.slug
    )


def send(socket: ClientConnection, frame: tuple[str, Any]) -> None:
    kind, payload = frame
    if kind == "ping":
        socket.ping()
    else:
        socket.send(payload)


def drain(socket: ClientConnection, quiet: float) -> Iterator[str | bytes]:
    """What the server sends until it has been quiet for `quiet` seconds."""
    while True:
        try:
            yield socket.recv(timeout=quiet)
        except TimeoutError:
            return


def too_big(frame: tuple[str, Any]) -> bool:
    kind, payload = frame
    size = len(payload.encode() if isinstance(payload, str) else payload)
    return kind != "ping" and size > MAX_FRAME


@pytest.fixture
def assert_no_traceback(site: Any) -> Callable[[], None]:
    """Checks what the results role logged since this test began."""
    start = len(site.results.output())

    def check() -> None:
        output = site.results.output()[start:]
        assert "Traceback" not in output
        assert "Internal Server Error" not in output

    return check


@FUZZ
@given(data=st.data(), sequence=st.lists(frames, max_size=30))
def test_whatever_a_viewer_sends_the_socket_answers_only_in_documented_ways(
    site: Any,
    poll: Poll,
    assert_no_traceback: Callable[[], None],
    data: st.DataObject,
    sequence: list[tuple[str, Any]],
) -> None:
    close_after = data.draw(st.none() | st.integers(0, len(sequence)), label="close_after")
    with connect(ws_url(site, f"/ws/polls/{poll.slug}/"), origin=Origin(site.url), open_timeout=10,
                 close_timeout=5, max_size=None) as socket:  # fmt: skip
        assert is_snapshot(socket.recv(timeout=10), poll)
        sent = []
        try:
            for position, frame in enumerate(sequence):
                if position == close_after:
                    socket.close()
                    return
                send(socket, frame)
                sent.append(frame)
            if any(too_big(f) for f in sent):
                for _ in drain(socket, quiet=10):  # until the server closes it (or does not)
                    pass
            else:
                # Frames sent so far may have been answered (a `sync` with a snapshot):
                # read those until the socket is quiet, then ask once more.
                for answer in drain(socket, quiet=0.25):
                    assert is_snapshot(answer, poll)
                socket.send(json.dumps({"type": "sync"}))
                sent.append(("text", "sync"))
                assert is_snapshot(socket.recv(timeout=10), poll)
            refused: int | None = OPEN
        except ConnectionClosed as closed:
            refused = closed.rcvd.code if closed.rcvd else DROPPED
        data_frames = [f for f in sent if f[0] != "ping"]
        if any(too_big(f) for f in data_frames):
            assert refused in (DROPPED, CLOSE_TOO_BIG, CLOSE_TOO_MANY)
        elif len(data_frames) > BURST:
            assert refused in (OPEN, CLOSE_TOO_MANY)  # tokens refill while frames are sent
        else:
            assert refused == OPEN, f"closed with {refused} after {len(data_frames)} frames"
    assert_no_traceback()


def same_origin(origin: str, site_url: str) -> bool:
    """What Channels' origin check compares: scheme, host and port (a browser never sends
    a path in Origin; a client that does is still from the same site)."""
    sent, ours = urlsplit(origin), urlsplit(site_url)
    return (sent.scheme, sent.netloc) == (ours.scheme, ours.netloc)


paths = st.one_of(
    st.just("/ws/polls/{slug}/"),
    st.just("/ws/polls/no-such-poll/"),
    st.sampled_from(
        ["/ws/", "/ws/nothing/", "/polls/{slug}/", "/ws/polls/{slug}", "/ws/s/000000/"]
    ),
    st.text(min_size=1, max_size=30).map(lambda text: "/ws/polls/" + quote(text, safe="") + "/"),
)
origins = st.one_of(
    st.just("{site}"),
    st.sampled_from([
        "http://127.0.0.1:1", "https://{host}", "http://evil.example", "null", "",
        "http://{host}.evil.example", "{site}/extra",
    ]),
    # What a client can put in a header: visible ASCII (websockets refuses the rest itself).
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).filter(
        lambda text: not set(text) & set("{}")
    ),
)  # fmt: skip


def test_a_snapshot_bigger_than_a_client_frame_may_be_still_reaches_the_viewer(
    site: Any, make_poll: Callable[..., Poll], assert_no_traceback: Callable[[], None]
) -> None:
    """The size limits bound what a viewer sends; autobahn also applies the message limit
    to what the server sends, which once kept a poll of many long choices off the air."""
    poll = make_poll(labels=[f"{n:02d} " + "a choice with a long label " * 3 for n in range(60)])
    with connect(ws_url(site, f"/ws/polls/{poll.slug}/"), origin=Origin(site.url),
                 open_timeout=10, close_timeout=5) as socket:  # fmt: skip
        snapshot = socket.recv(timeout=10)
    assert isinstance(snapshot, str)
    assert len(snapshot.encode()) > MAX_FRAME
    assert is_snapshot(snapshot, poll)
    assert_no_traceback()


@FUZZ
@given(path=paths, origin=origins)
def test_a_handshake_is_answered_with_a_snapshot_a_close_or_403_never_an_error(
    site: Any, poll: Poll, assert_no_traceback: Callable[[], None], path: str, origin: str
) -> None:
    host = site.url.removeprefix("http://").split(":")[0]
    path = path.format(slug=poll.slug)
    origin = origin.format(site=site.url, host=host)
    try:
        socket = connect(ws_url(site, path), origin=Origin(origin) if origin else None,
                         open_timeout=10, close_timeout=5)  # fmt: skip
    except InvalidStatus as refused:
        status = refused.response.status_code
        if path.startswith("/ws/"):
            assert status in (400, 403, 404), status
        else:  # the door sends only /ws/ to the results role; a page is answered as a page
            assert status in (200, 301, 302, 400, 403, 404), status
        assert not same_origin(origin, site.url) or path != f"/ws/polls/{poll.slug}/"
        assert_no_traceback()
        return
    except ValueError:  # the client library itself refuses a URL it cannot send
        return
    with socket:
        served = same_origin(origin, site.url) and path == f"/ws/polls/{poll.slug}/"
        if served:
            assert is_snapshot(socket.recv(timeout=10), poll)
        else:
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code in (4403, 4404)
    assert_no_traceback()
