"""Group sending (polls.pipeline.sender): each caller returns its own item's result once it
was sent; concurrent callers share sends; a failed send fails exactly the callers in it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from polls.pipeline.sender import GroupSender


class SlowSink:
    """Records each send; each takes a moment, like a round trip to Redis."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.sends: list[list[int]] = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, items: Sequence[int]) -> list[int]:
        time.sleep(0.005)
        with self.lock:
            self.sends.append(list(items))
            if self.fail_on is not None and self.fail_on in items:
                raise ConnectionError("redis went away")
        return [item * 10 for item in items]


def run_callers(sender: GroupSender[int, int], count: int) -> dict[int, BaseException | None]:
    """Each caller's error, or None when send returned that caller's own result."""
    outcome: dict[int, BaseException | None] = {}
    start = threading.Barrier(count)

    def call(n: int) -> None:
        start.wait()
        try:
            result = sender.send(n)
            outcome[n] = None if result == n * 10 else AssertionError(f"{n} got {result}")
        except Exception as exc:
            outcome[n] = exc

    threads = [threading.Thread(target=call, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcome


def test_a_lone_item_is_sent_alone_at_once() -> None:
    sink = SlowSink()
    GroupSender(sink, max_batch=10).send(7)
    assert sink.sends == [[7]]


def test_concurrent_items_share_sends_and_every_item_is_sent_exactly_once() -> None:
    sink = SlowSink()
    outcome = run_callers(GroupSender(sink, max_batch=50), 40)
    assert outcome == dict.fromkeys(range(40))
    sent = sorted(item for batch in sink.sends for item in batch)
    assert sent == list(range(40))
    assert len(sink.sends) < 40  # some sends carried several items


def test_batches_never_exceed_the_maximum() -> None:
    sink = SlowSink()
    run_callers(GroupSender(sink, max_batch=3), 30)
    assert max(len(batch) for batch in sink.sends) <= 3
    assert sorted(item for batch in sink.sends for item in batch) == list(range(30))


def test_a_failed_send_fails_exactly_the_callers_in_it() -> None:
    sink = SlowSink(fail_on=5)
    outcome = run_callers(GroupSender(sink, max_batch=50), 20)
    assert sorted(outcome) == list(range(20))  # every caller returned
    failed_batch = next(batch for batch in sink.sends if 5 in batch)
    for n, error in outcome.items():
        if n in failed_batch:
            assert isinstance(error, ConnectionError)
        else:
            assert error is None


def test_the_sender_keeps_working_after_a_failure() -> None:
    sink = SlowSink(fail_on=1)
    sender = GroupSender(sink, max_batch=10)
    with pytest.raises(ConnectionError):
        sender.send(1)
    assert sender.send(2) == 20
    assert sink.sends[-1] == [2]


def test_a_send_that_answers_for_the_wrong_number_of_items_fails_them_all() -> None:
    sender: GroupSender[int, int] = GroupSender(lambda items: [], max_batch=10)
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        sender.send(1)


def test_callers_who_gave_up_are_never_sent_and_never_stall_those_after_them() -> None:
    """While a send hangs (Redis frozen), waiting callers give up at their timeout: their
    items are withdrawn (a 503 'nothing was recorded' stays true), and once the send
    returns the next callers are sent at once, not left waiting on a caller who left."""
    release = threading.Event()
    sent: list[list[int]] = []

    def sink(items: Sequence[int]) -> list[int]:
        sent.append(list(items))
        if 0 in items:
            release.wait(10)  # the first send hangs
        return [item * 10 for item in items]

    sender: GroupSender[int, int] = GroupSender(sink, max_batch=10)
    first = threading.Thread(target=sender.send, args=(0,))
    first.start()
    while not sent:
        time.sleep(0.001)
    gave_up: list[int] = []

    def impatient(n: int) -> None:
        try:
            sender.send(n, timeout=0.2)
        except TimeoutError:
            gave_up.append(n)

    waiters = [threading.Thread(target=impatient, args=(n,)) for n in (1, 2, 3)]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join(5)
    assert sorted(gave_up) == [1, 2, 3]
    release.set()
    first.join(5)

    began = time.monotonic()
    assert sender.send(4, timeout=5) == 40
    assert time.monotonic() - began < 1
    assert sent == [[0], [4]]  # the items of the callers who gave up never went


def test_a_caller_whose_item_a_send_took_waits_for_that_sends_answer() -> None:
    """Past its timeout a caller does not guess: the send that carries its item answers
    for it (a vote Redis took must not be told 'nothing was recorded')."""
    first_send, second_send = threading.Event(), threading.Event()
    sent: list[list[int]] = []

    def sink(items: Sequence[int]) -> list[int]:
        sent.append(list(items))
        (first_send if 0 in items else second_send).wait(10)  # Redis answers late
        return [item * 10 for item in items]

    sender: GroupSender[int, int] = GroupSender(sink, max_batch=10)
    results: dict[int, object] = {}

    def call(n: int, timeout: float) -> None:
        try:
            results[n] = sender.send(n, timeout=timeout)
        except TimeoutError as exc:
            results[n] = exc

    threads = [threading.Thread(target=call, args=(0, 5))]
    threads[0].start()
    while not sent:
        time.sleep(0.001)
    for n, timeout in ((1, 5), (2, 0.3)):  # wait in line behind 0's send
        threads.append(threading.Thread(target=call, args=(n, timeout)))
        threads[-1].start()
    time.sleep(0.1)
    first_send.set()  # 1 leads the next send, which takes 2 along...
    while len(sent) < 2:
        time.sleep(0.001)
    time.sleep(0.5)  # ...and hangs past 2's timeout
    second_send.set()
    for thread in threads:
        thread.join(5)
    assert sent == [[0], [1, 2]]
    assert results == {0: 0, 1: 10, 2: 20}
