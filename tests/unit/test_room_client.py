"""The room benchmark's phone (bench/roomclient.py) against a door that drops a socket
mid-handshake: it must try again, as a browser's onclose makes socket.js do, not count
the socket as open."""

from __future__ import annotations

import asyncio

import pytest

from bench import roomclient


async def _drops_every_handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await reader.readuntil(b"\r\n\r\n")  # the upgrade request, never answered
    writer.close()


def test_a_socket_closed_before_the_upgrade_answer_is_not_open() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(_drops_every_handshake, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            phone = roomclient.Phone(0, f"http://127.0.0.1:{port}", "123456", cache=True)
            with pytest.raises(ConnectionError):
                await phone._open()
            assert phone.transport is None

    asyncio.run(scenario())
