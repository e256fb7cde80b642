"""The WebSocket of the results page: a snapshot on connect, then every newer snapshot."""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from polls import selectors
from polls.models import Poll
from polls.selectors import poll_results

from . import fanout

logger = logging.getLogger(__name__)

# Close codes in the 4000-4999 range are the application's own.
CLOSE_UNKNOWN_POLL = 4404
CLOSE_RESULTS_HIDDEN = 4403  # the poll's results visibility rule says no to this viewer
# Longest text a client may send ({"type": "sync"} and some room).
MAX_CLIENT_MESSAGE = 256


@database_sync_to_async
def _poll(slug: str) -> Poll | None:
    return Poll.objects.exclude(status=Poll.Status.DRAFT).filter(slug=slug).first()


@database_sync_to_async
def _snapshot(poll: Poll, *, refresh: bool) -> dict[str, Any]:
    if refresh:  # its status may have changed since the viewer connected
        poll.refresh_from_db()
    return poll_results(poll=poll)


@database_sync_to_async
def _may_see(poll: Poll, scope: dict[str, Any]) -> bool:
    """The poll's visibility rule for this viewer: user from the session, else voter cookie."""
    user = scope.get("user")  # AuthMiddlewareStack (votingsite.asgi); loads lazily, so here
    user_id = user.pk if user is not None and user.is_authenticated else None
    cookie = scope.get("cookies", {}).get(settings.VOTER_COOKIE_NAME)
    voter_key = selectors.voter_key_from_cookie(signed_cookie=cookie, user_id=user_id)
    is_staff = bool(user_id is not None and getattr(user, "is_staff", False))
    return selectors.results_visible(poll=poll, voter_key=voter_key, is_staff=is_staff)


class PollResultsConsumer(AsyncWebsocketConsumer):
    # No channel of its own on the layer: updates reach viewers through the process's hub
    # (results.fanout), so a viewer costs no Redis subscription and no receive task. An
    # alias that names no layer makes Channels skip it (get_channel_layer returns None).
    channel_layer_alias = "no-layer-per-viewer"
    watching = False
    seq: int = -1

    async def connect(self) -> None:
        poll = await _poll(self.scope["url_route"]["kwargs"]["slug"])
        await self.accept()
        if poll is None:
            await self.close(code=CLOSE_UNKNOWN_POLL)
            return
        if not await _may_see(poll, self.scope):
            await self.close(code=CLOSE_RESULTS_HIDDEN)
            return
        self.poll = poll
        # Watch before reading the snapshot, so nothing published in between is missed.
        await fanout.watch(poll.pk, self.results_update)
        self.watching = True
        await self._send_snapshot(refresh=False)  # the poll was read just now

    async def _send_snapshot(self, *, refresh: bool = True) -> None:
        try:
            snapshot = await _snapshot(self.poll, refresh=refresh)
        except Poll.DoesNotExist:  # deleted while watched
            await self.close(code=CLOSE_UNKNOWN_POLL)
            return
        self.seq = snapshot["seq"]
        await self.send(text_data=json.dumps(snapshot))

    async def disconnect(self, code: int) -> None:
        if self.watching:
            await fanout.unwatch(self.poll.pk, self.results_update)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Clients only ever ask for a fresh snapshot; anything else is ignored. A sync
        # request is tiny: a long text is not parsed at all, and deeply nested JSON
        # (RecursionError) must not take the consumer down.
        if text_data and self.watching and len(text_data) <= MAX_CLIENT_MESSAGE:
            try:
                message = json.loads(text_data)
            except (ValueError, RecursionError):
                return
            if isinstance(message, dict) and message.get("type") == "sync":
                await self._send_snapshot()

    async def results_update(self, event: dict[str, Any]) -> None:
        seq = event.get("seq", 0)
        if seq <= self.seq:
            return  # older than what this viewer already has
        self.seq = seq
        await self.send(text_data=event["text"])
