"""Pushes fresh results to viewers after the worker commits votes, coalesced per poll.

Each worker process runs one publisher thread. A poll is pushed at most once per
RESULTS_PUSH_INTERVAL across all worker processes (a Redis key is the shared gate);
a poll changed while the gate is shut is pushed when it opens, so the last state
always arrives. Every push is a snapshot read after the commit, with its seq.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connection
from redis.connection import parse_url

from polls.models import Poll
from polls.selectors import poll_results
from votingsite.redis_client import redis_client

logger = logging.getLogger(__name__)

_IDLE_CLOSE_SECONDS = 5.0


@functools.cache
def _redis_db() -> int:
    return int(parse_url(settings.REDIS_URL).get("db", 0))


def group_name(poll_id: int) -> str:
    # Redis pub/sub channels are server-wide, whatever the database number: naming the
    # group after the database keeps two sites (or test runs) on one server apart.
    return f"poll-results.{_redis_db()}.{poll_id}"


def update_event(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The group event for a snapshot, serialised once here: every consumer sends it as is."""
    return {"type": "results.update", "seq": snapshot["seq"], "text": json.dumps(snapshot)}


def publish_now(poll_id: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Read the poll's snapshot and send it to its viewers."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None:
        return
    event = update_event(poll_results(poll=poll))
    layer = get_channel_layer()
    coroutine = layer.group_send(group_name(poll_id), event)
    if loop is None:
        asyncio.run(coroutine)
    else:
        loop.run_until_complete(coroutine)


class _Publisher:
    def __init__(self) -> None:
        self._dirty: set[int] = set()
        self._cond = threading.Condition()
        self._owner_pid: int | None = None
        self._pushing = 0

    def mark(self, poll_ids: Iterable[int]) -> None:
        with self._cond:
            self._dirty.update(poll_ids)
            if self._owner_pid != os.getpid():  # first use, or a forked child
                self._owner_pid = os.getpid()
                threading.Thread(target=self._run, name="results-publisher", daemon=True).start()
                # A short-lived process (a manage.py command) pushes before it exits.
                atexit.register(self.drain, timeout=5)
            self._cond.notify()

    def drain(self, timeout: float) -> None:
        """Wait (bounded) until every changed poll has been pushed."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._dirty or self._pushing) and time.monotonic() < deadline:
                self._cond.wait(0.05)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        gate = redis_client()
        while True:
            # Read on every round (not once per thread) so a changed setting applies.
            interval_ms = max(1, int(settings.RESULTS_PUSH_INTERVAL * 1000))
            with self._cond:
                if not self._dirty:
                    # Idle for a while: give the database connection back rather than hold
                    # it open; not between batches, where reconnecting would cost more.
                    self._cond.wait(_IDLE_CLOSE_SECONDS)
                    if not self._dirty:
                        connection.close()
                while not self._dirty:
                    self._cond.wait()
                pending = sorted(self._dirty)
            waits: list[int] = []
            for poll_id in pending:
                key = f"results:gate:{poll_id}"
                try:
                    if not gate.set(key, 1, nx=True, px=interval_ms):
                        waits.append(max(1, gate.pttl(key)))
                        continue
                    with self._cond:
                        self._dirty.discard(poll_id)
                        self._pushing += 1
                    try:
                        close_old_connections()
                        publish_now(poll_id, loop)
                    finally:
                        with self._cond:
                            self._pushing -= 1
                except Exception:
                    # Keep the poll dirty and try again; viewers also re-sync on reconnect.
                    logger.exception("could not push results of poll %s", poll_id)
                    with self._cond:
                        self._dirty.add(poll_id)
                    waits.append(interval_ms)
            if waits:
                time.sleep(min(waits) / 1000)


_publisher = _Publisher()


def polls_changed(poll_ids: Iterable[int]) -> None:
    """Called after a vote transaction commits; returns at once."""
    _publisher.mark(poll_ids)
