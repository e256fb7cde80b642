"""A hand-out to a room takes turns with the loop (results.fanout.SENDS_PER_TURN): Twisted
writes a socket's message only when the loop polls that socket, so a hand-out in one go
held every phone's copy at once and reached no phone before the last was queued. Every
viewer is still handed every event; one that leaves during a turn is not."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from results import fanout
from tests.support.live import run_async

Viewer = Callable[[dict[str, Any]], Awaitable[None]]


def room(
    size: int, got: list[Any], note: Callable[[int, dict[str, Any]], Any] = lambda n, _e: n
) -> list[Viewer]:
    """`size` viewers, each noting in `got` what it was handed (by default, its number)."""

    def viewer(n: int) -> Viewer:
        async def handed(event: dict[str, Any]) -> None:
            got.append(note(n, event))

        return handed

    return [viewer(n) for n in range(size)]


@run_async
async def test_a_hand_out_to_a_room_lets_the_loop_write_between_turns() -> None:
    got: list[int] = []
    hub = fanout._Hub("poll-results.test.turns")
    hub.viewers.update(room(fanout.SENDS_PER_TURN * 2 + 50, got))
    seen: list[int] = []  # how many had been handed the event each time the loop came by

    async def loop_turns() -> None:
        while True:
            seen.append(len(got))
            await asyncio.sleep(0)

    other = asyncio.create_task(loop_turns())
    await asyncio.sleep(0)
    await hub._deliver({"type": "results.update", "seq": 1})
    other.cancel()
    assert sorted(got) == list(range(fanout.SENDS_PER_TURN * 2 + 50)), "everyone, once"
    assert [n for n in seen if 0 < n < len(got)], "the loop ran during the hand-out"
    assert max(b - a for a, b in itertools.pairwise(seen)) <= fanout.SENDS_PER_TURN


@run_async
async def test_a_viewer_that_leaves_during_a_turn_is_not_handed_the_event() -> None:
    got: list[int] = []
    viewers = room(fanout.SENDS_PER_TURN * 2, got)
    hub = fanout._Hub("poll-results.test.turns")
    hub.viewers.update(viewers)
    left: list[int] = []

    async def one_leaves() -> None:
        while not got:
            await asyncio.sleep(0)
        waiting = [n for n in range(len(viewers)) if n not in got]
        left.append(waiting[-1])
        hub.viewers.discard(viewers[waiting[-1]])  # as fanout.unwatch does

    leaving = asyncio.create_task(one_leaves())
    await hub._deliver({"type": "results.update", "seq": 1})
    await leaving
    assert left
    assert left[0] not in got
    assert len(got) == len(viewers) - 1


def seq_room(size: int, got: list[tuple[int, int]]) -> list[Viewer]:
    return room(size, got, lambda n, event: (n, event["seq"]))


async def a_round_meeting(
    hub: fanout._Hub, got: list[Any], handing: dict[str, Any], offered: dict[str, Any]
) -> None:
    """Hand out `handing` while `offered` arrives, once the first viewer has been handed."""

    async def offer_once_handed() -> None:
        while not got:
            await asyncio.sleep(0)
        hub.offer(offered)

    offering = asyncio.create_task(offer_once_handed())
    await hub._deliver(handing)
    await offering


@run_async
async def test_results_published_during_a_round_reach_the_rest_of_that_round() -> None:
    got: list[tuple[int, int]] = []
    size = fanout.SENDS_PER_TURN * 3
    hub = fanout._Hub("poll-results.test.switch")
    hub.viewers.update(seq_room(size, got))
    newer = {"type": "results.update", "seq": 2, "text": "{}"}

    await a_round_meeting(hub, got, {"type": "results.update", "seq": 1, "text": "{}"}, newer)

    assert len(got) == size, "each viewer handed once in the round"
    seqs = [seq for _n, seq in got]
    assert seqs[0] == 1
    assert seqs[-1] == 2, "the viewers not yet served got the newer results"
    assert seqs == sorted(seqs), "never older after newer"
    assert hub.waiting == [newer], "and it still goes to those served before it came"


@run_async
async def test_a_round_switches_only_to_a_newer_state_of_the_same_kind() -> None:
    got: list[tuple[int, int]] = []
    size = fanout.SENDS_PER_TURN * 3
    hub = fanout._Hub("live-session.test.switch")
    hub.viewers.update(seq_room(size, got))
    # A session's state is not switched mid-round (its handlers take one of equal seq
    # again), nor results to a Q&A board's update.
    await a_round_meeting(
        hub,
        got,
        {"type": "session.state", "seq": 1, "text": "{}"},
        {"type": "session.state", "seq": 9, "text": "{}"},
    )
    assert {seq for _n, seq in got} == {1}

    got.clear()
    await a_round_meeting(
        hub,
        got,
        {"type": "results.update", "seq": 1, "text": "{}"},
        {"type": "qna.update", "seq": 9, "text": "{}"},
    )
    assert {seq for _n, seq in got} == {1}


@run_async
async def test_own_marks_of_a_q_and_a_update_superseded_mid_round_go_with_the_newer() -> None:
    got: list[tuple[int, int]] = []
    hub = fanout._Hub("live-session.test.mine")
    hub.viewers.update(seq_room(fanout.SENDS_PER_TURN * 2, got))
    older = {"type": "qna.update", "seq": 1, "text": "{}", "mine": {"tag-a": {"up": [5]}}}
    newer = {"type": "qna.update", "seq": 2, "text": "{}", "mine": {"tag-b": {"up": [6]}}}
    await a_round_meeting(hub, got, older, newer)
    # tag-a's phones may come after the switch in this round: the newer carries its marks.
    assert newer["mine"] == {"tag-a": {"up": [5]}, "tag-b": {"up": [6]}}
