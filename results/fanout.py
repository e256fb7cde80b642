"""Per results process: one channel-layer subscription per watched poll, fanned out in memory.

With a group member per viewer, every event goes through a channel queue and a consumer
task wake-up per viewer before it is sent. Here one hub per poll and process joins the
poll's group, receives each event once and hands it to every local viewer in a loop.
The hub does not read events beyond polls.live.events' two rules: of the events that
carry a `seq`, only the newest of each type waiting goes out (they are whole states, so
with many viewers a slow round delays the next one but never builds a backlog; the
per-voter parts of the ones it supersedes go with it); events without one all go out,
in order. A round handing out results or a Q&A board switches to a newer one that
arrives meanwhile, for the viewers it has not reached yet (SWITCH_MID_ROUND).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from autobahn.exception import Disconnected
from channels.layers import get_channel_layer
from prometheus_client import Counter

from polls.live import events

logger = logging.getLogger(__name__)

# A phone that leaves while an update is on its way to it: daphne has not yet seen the
# close, autobahn has (Disconnected), or the connection reset under the write. Churn is
# normal in a room; it is counted, not logged as an error.
GONE = (Disconnected, ConnectionError)
VIEWERS_GONE = Counter(
    "results_viewers_gone_during_send",
    "Sends to a viewer whose socket had just closed (normal churn, not an error)",
)


def count_gone(what: str, error: BaseException) -> None:
    VIEWERS_GONE.inc()
    logger.debug("a viewer left while %s was sent to it (%s)", what, type(error).__name__)


def _carry_mine(superseded: dict[str, Any], kept: dict[str, Any]) -> None:
    """Per-voter parts (a Q&A event's `mine`, by voter tag) of a superseded event go with
    the one kept: its own entries are newer and win. Without this a voter's marks would
    be lost whenever two pushes met in one round."""
    if superseded.get("mine"):
        kept["mine"] = {**superseded["mine"], **(kept.get("mine") or {})}


# Sends between two turns of the loop in a hand-out to many sockets. Twisted writes a
# socket's message out only when the loop next polls it: a room handed an event in one go
# held every phone's copy at once (5,000 x ~1.5 kB, then not given back to the system)
# and reached no phone before the last was queued.
SENDS_PER_TURN = 100

# Whole states whose every handler drops one not newer than what its socket has (by
# seq): a round may switch to a newer one of these half-way (_Hub._newer). A room's
# round takes ~0.6 s at 5,000 sockets, so while votes stream in, a phone late in a round
# would otherwise show results a round older than those published (issue 42).
SWITCH_MID_ROUND = frozenset({events.RESULTS_UPDATE, events.QNA_UPDATE})

# A viewer's way in: the consumer's typed dispatch (PollResultsConsumer.handle_live_event).
Viewer = Callable[[dict[str, Any]], Awaitable[None]]


class _Hub:
    def __init__(self, group: str) -> None:
        self.group = group
        self.viewers: set[Viewer] = set()
        self.ready = asyncio.Event()
        self.channel = ""
        self.tasks: list[asyncio.Task[None]] = []
        self.waiting: list[dict[str, Any]] = []  # received, not yet handed out
        self.arrived = asyncio.Event()

    async def start(self) -> None:
        layer = get_channel_layer()
        self.channel = await layer.new_channel()
        await layer.group_add(self.group, self.channel)
        self.tasks = [
            asyncio.create_task(self._receive(layer)),
            asyncio.create_task(self._hand_out()),
        ]
        self.ready.set()

    async def _receive(self, layer: Any) -> None:
        while True:
            self.offer(await layer.receive(self.channel))

    def offer(self, event: dict[str, Any]) -> None:
        """Queue an event to hand out; one with a seq supersedes older ones of its type."""
        if "seq" in event:
            newer = self._waiting_newer(event)
            if newer is not None:
                _carry_mine(event, newer)
                return  # a newer state of this kind is already waiting
            same = [e for e in self.waiting if e.get("type") == event.get("type") and "seq" in e]
            for older in same:
                _carry_mine(older, event)
            self.waiting = [e for e in self.waiting if e not in same]
        self.waiting.append(event)
        self.arrived.set()

    async def _hand_out(self) -> None:
        while True:
            await self.arrived.wait()
            self.arrived.clear()
            batch, self.waiting = self.waiting, []
            for event in batch:
                await self._deliver(event)

    def _waiting_newer(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The waiting event of `event`'s type with a higher seq (offer keeps at most one)."""
        return next(
            (
                e
                for e in self.waiting
                if e.get("type") == event.get("type") and "seq" in e and e["seq"] > event["seq"]
            ),
            None,
        )

    def _newer(self, event: dict[str, Any]) -> dict[str, Any]:
        """The waiting event that supersedes `event` mid-round, else `event`."""
        newer = self._waiting_newer(event) if event.get("type") in SWITCH_MID_ROUND else None
        if newer is None:
            return event
        _carry_mine(event, newer)  # the rest of the round gets the older one's marks too
        return newer

    async def _deliver(self, event: dict[str, Any]) -> None:
        for n, viewer in enumerate(list(self.viewers), 1):
            if n % SENDS_PER_TURN == 0:
                await asyncio.sleep(0)  # the loop writes what was sent so far
                # A newer state arrived during the round: the viewers not yet served
                # get it now, not a round later; it stays queued for the next round,
                # where those already served drop it by its seq.
                event = self._newer(event)
            if viewer not in self.viewers:
                continue  # left during that turn
            try:
                await viewer(event)
            except GONE as error:
                count_gone(f"a {event.get('type')} event", error)
            except Exception:  # one broken socket must not stop the others' updates
                logger.exception("could not send a %s event to a viewer", event.get("type"))

    async def stop(self) -> None:
        if asyncio.current_task() in self.tasks:  # a viewer left from inside a hand-out
            asyncio.get_running_loop().create_task(self.stop())
            return
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await get_channel_layer().group_discard(self.group, self.channel)


_hubs: dict[str, _Hub] = {}


async def watch(group: str, viewer: Viewer) -> None:
    """Returns once the group's events reach `viewer` (read the snapshot after this).

    `group`: a poll's (polls.live.events.group_name) or a live session's (session_group).
    """
    await watch_all(group, (viewer,))


async def watch_all(group: str, viewers: Iterable[Viewer]) -> None:
    """`watch` for many viewers in one step: a room that starts following a poll at once
    joins its hub together (results.sessions), not one viewer and one wait each."""
    hub = _hubs.get(group)
    if hub is None:
        hub = _hubs[group] = _Hub(group)
        hub.viewers.update(viewers)
        try:
            await hub.start()
        except BaseException:
            del _hubs[group]  # the next viewer tries again
            hub.ready.set()  # and viewers waiting on this one stop waiting
            raise
    else:
        hub.viewers.update(viewers)
        await hub.ready.wait()


def subscription(group: str) -> object | None:
    """This process's live subscription to the group, if any: the same object for as long
    as it has stayed subscribed (what was kept from its events is current while it is)."""
    hub = _hubs.get(group)
    return hub if hub is not None and hub.ready.is_set() and hub.tasks else None


async def unwatch(group: str, viewer: Viewer) -> None:
    await unwatch_all(group, (viewer,))


async def unwatch_all(group: str, viewers: Iterable[Viewer]) -> None:
    hub = _hubs.get(group)
    if hub is None:
        return
    hub.viewers.difference_update(viewers)
    if not hub.viewers:
        del _hubs[group]
        await hub.stop()
