"""How the worker turns queued messages into batches (polls.tasks.VoteBatches).

celery-batches flushes its buffer every flush_interval; ours holds it while every pool
process is storing a batch, so a worker that fell behind stores bigger batches instead of
queueing small ones. These tests drive the task's buffer and flush with a stand-in pool
(the real worker's batching is covered end to end by tests/roles/test_faults.py and the bench).
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from polls.tasks import record_votes


@dataclass
class Result:
    """billiard's result of a job, as far as the task reads it."""

    done: bool = False

    def ready(self) -> bool:
        return self.done


@dataclass
class Pool:
    """Records each batch handed to it; a job's `callback` is the pool having stored it,
    its `lost` the pool losing it with its process."""

    num_processes: int = 2
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def apply_async(self, target: Any, args: Any, *, callback: Any, **others: Any) -> Result:
        result = Result()

        def stored(value: Any) -> None:
            result.done = True
            callback(value)

        def lost() -> None:
            result.done = True

        self.jobs.append({"requests": args[1][0], "callback": stored, "lost": lost})
        return result


@dataclass
class Request:
    """What the buffer holds: a message's request, as far as flushing reads it."""

    id: str
    acks_late: bool = True
    eta: None = None
    acked: bool = False

    @property
    def task(self) -> Any:
        return self

    @property
    def _payload(self) -> tuple[Any, ...]:
        return ((["a vote"],), {}, {})

    name = "polls.record_votes"
    delivery_info: dict[str, Any] = field(default_factory=dict)
    hostname = "test"
    reply_to = None
    correlation_id = None
    request_dict: dict[str, Any] = field(default_factory=dict)

    def acknowledge(self) -> None:
        self.acked = True


@pytest.fixture
def task(settings: Any) -> Iterator[Any]:
    """record_votes with a stand-in pool and an empty buffer, put back afterwards."""
    settings.VOTE_BATCH_MAX_HOLD_SECONDS = 60
    saved = {k: getattr(record_votes, k, None) for k in ("_pool", "_buffer", "_pending")}
    record_votes._pool = Pool()
    record_votes._buffer = queue.Queue()
    record_votes._pending = queue.Queue()
    record_votes._storing = ()
    record_votes._held_since = None
    yield record_votes
    for name, value in saved.items():
        setattr(record_votes, name, value)
    record_votes._storing = ()
    record_votes._held_since = None


def buffer(task: Any, n: int) -> list[Request]:
    requests = [Request(id=f"r{i}") for i in range(n)]
    for request in requests:
        task._buffer.put(request)
    return requests


def test_with_a_pool_process_free_the_timer_flushes_what_is_buffered(task) -> None:
    buffer(task, 3)
    task._do_flush()
    assert [len(job["requests"]) for job in task._pool.jobs] == [3]
    assert task._in_flight == 1


def test_while_every_pool_process_is_storing_the_buffer_grows_instead(task) -> None:
    buffer(task, 3)
    task._do_flush()
    buffer(task, 3)
    task._do_flush()
    assert task._in_flight == 2  # both processes busy
    buffer(task, 5)
    task._do_flush()  # held: a third small batch would only wait behind them
    buffer(task, 4)
    task._do_flush()
    assert [len(job["requests"]) for job in task._pool.jobs] == [3, 3]
    # One batch done: the next flush takes everything that waited, as one batch.
    task._pool.jobs[0]["callback"](None)
    task._do_flush()
    assert [len(job["requests"]) for job in task._pool.jobs] == [3, 3, 9]


def test_a_batch_lost_with_its_pool_process_frees_its_place(task) -> None:
    buffer(task, 1)
    task._do_flush()
    buffer(task, 1)
    task._do_flush()
    task._pool.jobs[1]["lost"]()
    buffer(task, 2)
    task._do_flush()
    assert [len(job["requests"]) for job in task._pool.jobs] == [1, 1, 2]


def test_the_buffer_is_never_held_longer_than_the_hold_limit(task, settings) -> None:
    settings.VOTE_BATCH_MAX_HOLD_SECONDS = 0
    task._pool.num_processes = 1
    buffer(task, 1)
    task._do_flush()
    buffer(task, 2)
    task._do_flush()  # busy, but held for no time at all
    assert [len(job["requests"]) for job in task._pool.jobs] == [1, 2]


def test_a_late_acknowledged_message_is_acknowledged_once_its_batch_is_stored(task) -> None:
    requests = buffer(task, 2)
    task._do_flush()
    assert not any(r.acked for r in requests)
    task._pool.jobs[0]["callback"](None)
    assert all(r.acked for r in requests)
    assert task._in_flight == 0
