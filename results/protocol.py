"""What every live socket shares: events from the hub dispatched by `type`, and the one
thing a client may send, `{"type": "sync"}` (results.consumers, results.sessions)."""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

logger = logging.getLogger(__name__)

# Longest text a client may send ({"type": "sync"} and some room).
MAX_CLIENT_MESSAGE = 256


class LiveConsumer(AsyncWebsocketConsumer):
    """A socket fed by this process's hub (results.fanout). Subclasses say when a sync
    may be answered (`may_sync`) and answer it (`answer_sync`); events are handled by a
    method named after their type (polls.live.events)."""

    # No channel of its own on the layer: events reach sockets through the process's hub,
    # so a socket costs no Redis subscription and no receive task. An alias that names no
    # layer makes Channels skip it (get_channel_layer returns None).
    channel_layer_alias = "no-layer-per-viewer"
    groups = ()  # none (Channels' default is a new list per socket)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """AsyncConsumer's, for a consumer with no channel layer: each message awaited
        from `receive` in this task. Channels' await_many_dispatch runs every source in a
        task of its own and waits on them all (a task, a future and their callbacks per
        socket, ~2.5 kB), which only pays off with a second source, the layer's."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: Any) -> None:
        """AsyncConsumer's, minus the aclose_old_connections it awaits first for every
        message: a turn on the one database thread per socket's connect and disconnect,
        which a room joining at once queues on (issue 42). Every read here goes through
        database_sync_to_async, which cleans up old connections on that thread itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """AsyncWebsocketConsumer's, minus the aclose_old_connections it awaits after
        `disconnect` (and its loop over the groups: none here). That is a turn on the one
        database thread per socket that closes: a room leaving at once queued thousands,
        each socket's consumer, scope and connection held until its turn (+18-29 MB at 5,000
        phones; issue 42). Our reads clean up on that thread themselves (see dispatch)."""
        await self.disconnect(message["code"])
        raise StopConsumer

    def may_sync(self) -> bool:
        return False

    async def answer_sync(self) -> None:
        raise NotImplementedError

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Clients only ever ask for the state again; anything else is ignored and the
        # socket stays open. A long text is not parsed at all, and deeply nested JSON
        # (RecursionError) must not take the consumer down.
        if not text_data or len(text_data) > MAX_CLIENT_MESSAGE or not self.may_sync():
            return
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            return
        if isinstance(message, dict) and message.get("type") == "sync":
            await self.answer_sync()

    async def handle_live_event(self, event: dict[str, Any]) -> None:
        """Channels' dispatch by `type`, minus the database clean-up its `dispatch` does for
        every message (a thread hop per socket and event, which the hub cannot afford)."""
        handler = getattr(self, get_handler_name(event), None)
        if handler is None:
            logger.warning(
                "no handler for live event %r on %s", event.get("type"), type(self).__name__
            )
            return
        await handler(event)
