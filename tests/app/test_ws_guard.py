"""WebSocket abuse stops at results.guard: unknown paths refused cleanly, sockets per
address and messages per socket limited, honest viewers unaffected."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from polls.live import publisher
from polls.models import Poll
from tests.support.live import cast, receive, run_async
from votingsite.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def ws(path: str, address: str = "198.51.100.7") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    communicator.scope["client"] = (address, 40000)
    return communicator


@pytest.mark.parametrize("path", ["/ws/nothing/", "/ws/polls/%C3%A9/", "/polls/x/", "/ws/"])
@run_async
async def test_a_socket_to_a_path_nothing_serves_is_refused_not_an_error(path: str) -> None:
    connected, code = await ws(path).connect(timeout=10)
    assert not connected
    assert code == 4404


@override_settings(WS_SOCKETS_PER_ADDRESS=3)
@run_async
async def test_one_address_holds_a_bounded_number_of_sockets(poll: Poll) -> None:
    mine = [ws(f"/ws/polls/{poll.slug}/") for _ in range(3)]
    for socket in mine:
        assert (await socket.connect(timeout=10))[0]
    extra = ws(f"/ws/polls/{poll.slug}/")
    await extra.connect(timeout=10)  # accepted, then closed: the page hears why
    assert await extra.receive_output(timeout=10) == {"type": "websocket.close", "code": 4429}
    other, _ = await ws(f"/ws/polls/{poll.slug}/", address="203.0.113.1").connect(timeout=10)
    assert other  # another address is not held back
    await mine[0].disconnect()
    again, _ = await ws(f"/ws/polls/{poll.slug}/").connect(timeout=10)
    assert again  # a freed place is taken again
    for socket in mine[1:]:
        await socket.disconnect()


@override_settings(WS_MESSAGES_PER_SECOND=2, WS_MESSAGES_BURST=5)
@run_async
async def test_a_flooding_socket_is_closed_and_other_viewers_keep_their_updates(
    poll: Poll,
) -> None:
    flood = ws(f"/ws/polls/{poll.slug}/")
    honest = ws(f"/ws/polls/{poll.slug}/", address="203.0.113.2")
    for socket in (flood, honest):
        assert (await socket.connect(timeout=10))[0]
        await receive(socket)
    for _ in range(50):
        await flood.send_to(text_data=json.dumps({"type": "sync"}))
    closed = None
    for _ in range(60):  # a few snapshots (the burst) come back before the close
        output = await flood.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            closed = output
            break
    assert closed is not None
    assert closed["code"] == 4429
    await cast(poll, "Dogs")
    await sync_to_async(publisher.publish_now)(poll.pk)
    update = await receive(honest)
    assert update["total"] == 1
    await honest.disconnect()


@run_async
async def test_a_socket_hears_of_its_cookies_and_its_sessions_user_as_channels_puts_them() -> None:
    """results.guard.identified: what Channels' AuthMiddlewareStack gives a consumer
    (`cookies`, `session`, `user`), in one copy of the scope; the server's is untouched."""
    from django.contrib.auth.models import User
    from django.test import Client

    from results.guard import identified

    user = await sync_to_async(User.objects.create_user)("viewer-with-a-session")
    client = Client()
    await sync_to_async(client.force_login)(user)
    session = client.cookies["sessionid"].value
    seen: list[dict[str, Any]] = []
    for cookie in (f"sessionid={session}; voter=v1", None):
        headers = [ORIGIN] + ([(b"cookie", cookie.encode())] if cookie else [])
        server_scope = {"type": "websocket", "path": "/ws/", "headers": headers}
        seen.append(await identified(server_scope))
        assert set(server_scope) == {"type", "path", "headers"}
    logged_in, anonymous = seen
    assert logged_in["cookies"] == {"sessionid": session, "voter": "v1"}
    assert logged_in["user"].pk == user.pk
    assert logged_in["session"].session_key == session
    assert anonymous["cookies"] == {}
    assert not anonymous["user"].is_authenticated
