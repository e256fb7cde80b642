"""The WebSocket of the results page: a snapshot on connect, then the poll's live events.

Events arrive through this process's hub (results.fanout) and are dispatched by `type`
to a handler method, as Channels does (polls.live.events lists them).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone
from prometheus_client import Gauge

from polls import selectors, snapshots
from polls.live import events
from polls.models import Poll
from polls.voters import voter_key_from_cookie

from . import fanout
from .protocol import LiveConsumer

logger = logging.getLogger(__name__)

# Close codes in the 4000-4999 range are the application's own.
CLOSE_UNKNOWN_POLL = 4404
CLOSE_RESULTS_HIDDEN = 4403  # the poll's results visibility rule says no to this viewer
# Served on this process's /metrics: the results role's autoscaling metric (deploy/k8s),
# since idle sockets barely use CPU.
OPEN_SOCKETS = Gauge("results_open_websockets", "WebSockets open on this results process")


@database_sync_to_async
def _poll(slug: str) -> Poll | None:
    return Poll.objects.exclude(status=Poll.Status.DRAFT).filter(slug=slug).first()


@database_sync_to_async
def _snapshot(poll: Poll, *, refresh: bool, behind: float | None = None) -> dict[str, Any]:
    if refresh:  # its status may have changed since the viewer connected
        poll.refresh_from_db()
    # Computed once per change, for every reader.
    return snapshots.results(poll=poll, behind=behind)


@database_sync_to_async
def _has_voted(poll_id: int, voter_key: str | None) -> bool:
    return selectors.has_voted(poll=Poll(pk=poll_id), voter_key=voter_key)


class PollResultsConsumer(LiveConsumer):
    watching = False
    counted = False  # in OPEN_SOCKETS
    refused = False  # closing: the rules no longer admit this viewer
    seq: int = -1
    synced_at = float("-inf")  # when this socket's last sync was answered (monotonic)

    async def connect(self) -> None:
        poll = await _poll(self.scope["url_route"]["kwargs"]["slug"])
        await self.accept()
        OPEN_SOCKETS.inc()
        self.counted = True
        if poll is None:
            await self.close(code=CLOSE_UNKNOWN_POLL)
            return
        self._identify()
        if not await self._may_see(poll):
            await self.close(code=CLOSE_RESULTS_HIDDEN)
            return
        self.poll = poll
        # Watch before reading the snapshot, so nothing published in between is missed.
        await fanout.watch(events.group_name(poll.pk), self.handle_live_event)
        self.watching = True
        await self._send_snapshot(refresh=False)  # the poll was read just now

    def _identify(self) -> None:
        """Who watches: the session's user (staff see hidden results), else the voter cookie."""
        user = self.scope.get("user")  # results.guard.identified
        user_id = user.pk if user is not None and user.is_authenticated else None
        cookie = self.scope.get("cookies", {}).get(settings.VOTER_COOKIE_NAME)
        self.voter_key = voter_key_from_cookie(signed_cookie=cookie, user_id=user_id)
        self.is_staff = bool(user_id is not None and getattr(user, "is_staff", False))
        self.has_voted: bool | None = None  # looked up once, when a rule needs it

    async def _may_see(self, poll: Poll) -> bool:
        """The poll's visibility rule (Poll.results_visible_at) for this viewer."""
        needs_vote = poll.results_visibility == Poll.ResultsVisibility.AFTER_VOTE
        if needs_vote and not self.is_staff and self.has_voted is None:
            self.has_voted = await _has_voted(poll.pk, self.voter_key)
        return poll.results_visible_at(
            timezone.now(), has_voted=bool(self.has_voted), is_staff=self.is_staff
        )

    async def _send_snapshot(self, *, refresh: bool = True, behind: float | None = None) -> None:
        try:
            snapshot = await _snapshot(self.poll, refresh=refresh, behind=behind)
        except Poll.DoesNotExist:  # deleted while watched
            await self.close(code=CLOSE_UNKNOWN_POLL)
            return
        self.seq = snapshot["seq"]
        await self.send(text_data=json.dumps(snapshot))

    async def disconnect(self, code: int) -> None:
        if self.counted:
            self.counted = False
            OPEN_SOCKETS.dec()
        if self.watching:
            self.watching = False
            await fanout.unwatch(events.group_name(self.poll.pk), self.handle_live_event)

    def may_sync(self) -> bool:
        return self.watching

    async def answer_sync(self) -> None:
        """The shared snapshot (polls.snapshots: no computation while it is current). Once
        per RESULTS_SYNC_SECONDS a socket's sync may also have it computed when it is
        behind the stored votes (a push lost); more often, it takes what is kept, so
        syncing sockets cannot make a big poll's results be computed over and over."""
        now = time.monotonic()
        if now - self.synced_at >= settings.RESULTS_SYNC_SECONDS:
            self.synced_at = now
            await self._send_snapshot(behind=0)
        else:
            await self._send_snapshot(behind=float("inf"))

    async def results_update(self, event: dict[str, Any]) -> None:
        """The tallies changed: send the ready-made snapshot unless the viewer has newer."""
        if self.refused or event["seq"] <= self.seq:
            return  # older than what this viewer already has
        self.seq = event["seq"]
        await self.send(text_data=event["text"])

    async def poll_changed(self, event: dict[str, Any]) -> None:
        """The poll changed: check the viewer against its rules again, then send its state."""
        if self.refused:
            return
        if not await self._may_see(events.rules_of(event, poll_id=self.poll.pk)):
            # It stops watching when the socket has closed (disconnect): not from here,
            # which runs in the hub's own task.
            self.refused = True
            await self.close(code=CLOSE_RESULTS_HIDDEN)
            return
        if event["seq"] < self.seq:
            return  # a later snapshot already went out
        self.seq = event["seq"]
        await self.send(text_data=event["text"])
