"""The worker stores Q&A actions in batches, as votes: the messages buffered by
polls.tasks.record_qna go into one transaction per board, whatever their order and
however often one was delivered, then come off the Q&A ledger."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery_batches import SimpleRequest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from polls import live_sessions, qna, qna_reads
from polls.live import publisher
from polls.models import QnaBoard, QnaUpvote, Question
from polls.pipeline import qna_admission, qna_store
from polls.pipeline.qna_message import ASK, UPVOTE, QnaAction, member
from polls.tasks import record_qna

pytestmark = pytest.mark.django_db(transaction=True)


def live_board(owner: User, title: str) -> QnaBoard:
    made = live_sessions.create_session(title=title, owner=owner, polls=[], qna=True)
    found = qna_reads.board_of(live_sessions.go_live(made))
    assert found is not None
    return found


@pytest.fixture
def owner() -> User:
    return User.objects.create_user("bea")


@pytest.fixture
def board(owner: User) -> QnaBoard:
    return live_board(owner, "Batches")


def asked(board: QnaBoard, at: int) -> QnaAction:
    return QnaAction(ASK, uuid.uuid4(), board.pk, "anon:author", timezone.now(),
                     admitted_ms=at, text=f"Question {at}?")  # fmt: skip


def up(board: QnaBoard, q: QnaAction, voter: str, is_up: bool, at: int) -> QnaAction:
    return QnaAction(UPVOTE, uuid.uuid4(), board.pk, voter, timezone.now(), admitted_ms=at,
                     question=q.id, up=is_up)  # fmt: skip


def request(action: QnaAction) -> SimpleRequest:
    """One queued message as the worker's buffer holds it: one argument, a list of one."""
    return SimpleRequest(str(uuid.uuid4()), "polls.record_qna", ([action.to_message()],), {},
                         {}, "test", False, None, None, {})  # fmt: skip


def test_a_batch_of_many_actions_on_one_board_is_stored_in_one_transaction_with_exact_counts(
    board, redis_client: redis.Redis
) -> None:
    old = asked(board, 1)
    qna_store.record([old, up(board, old, "anon:b", True, 5)])  # stored before the batch
    new = asked(board, 100)
    crowd = [up(board, old, f"anon:c{n}", True, 200 + n) for n in range(40)]
    crowd += [up(board, new, f"anon:c{n}", True, 300 + n) for n in range(25)]
    a_last = up(board, old, "anon:a", False, 30)
    batch: list[QnaAction] = [
        *crowd,
        a_last,  # anon:a ends down: its later actions arrive first
        up(board, old, "anon:a", True, 20),
        up(board, old, "anon:a", True, 10),
        up(board, old, "anon:b", False, 3),  # older than what is stored: ignored
        up(board, new, "anon:d", True, 150),  # before its question in the buffer
        new,
        crowd[0],  # redelivered by the broker
        up(board, new, "anon:d", False, 160),
        up(board, new, "anon:d", True, 170),
    ]
    redis_client.zadd(qna_admission.PENDING_KEY, {member(a.to_message()): 1 for a in batch})

    with CaptureQueriesContext(connection) as queries:
        record_qna([request(a) for a in batch])

    locks = [q["sql"] for q in queries.captured_queries if "pg_advisory_xact_lock" in q["sql"]]
    assert len(locks) == 1  # one transaction took the board's lock, once
    counts = dict(Question.objects.filter(board=board).values_list("uuid", "upvotes"))
    assert counts == {old.id: 40 + 1, new.id: 25 + 1}  # the crowd, anon:b kept; anon:d up
    assert QnaUpvote.objects.get(question__uuid=old.id, voter_key="anon:a").up is False
    assert qna.recount(board) == {}
    pending: list[Any] = redis_client.zrange(qna_admission.PENDING_KEY, 0, -1)
    assert not {member(a.to_message()) for a in batch} & {m.decode() for m in pending}

    record_qna([request(a) for a in batch])  # the whole batch delivered again
    again = dict(Question.objects.filter(board=board).values_list("uuid", "upvotes"))
    assert again == counts


def test_boards_are_stored_apart_and_a_malformed_message_drops_alone(board, owner) -> None:
    other = live_board(owner, "Other")
    q1, q2 = asked(board, 1), asked(other, 2)
    broken = SimpleRequest("bad", "polls.record_qna", ([{"a": "up"}],), {}, {}, "test", False,
                           None, None, {})  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        record_qna([request(q1), broken, request(q2), request(up(board, q1, "anon:x", True, 5))])
    locks = [q["sql"] for q in queries.captured_queries if "pg_advisory_xact_lock" in q["sql"]]
    assert len(locks) == 2  # a transaction per board
    assert Question.objects.get(uuid=q1.id).upvotes == 1
    assert Question.objects.filter(uuid=q2.id, board=other).exists()


def test_a_batch_changes_only_the_rows_of_its_own_voter_and_question_pairs(board) -> None:
    """Each voter's stored row of another question stays as it was: an action is matched
    to its own (voter, question) row, not to the voter's rows of the batch's questions."""
    q1, q2 = asked(board, 1), asked(board, 2)
    qna_store.record([q1, q2, up(board, q1, "anon:x", True, 10), up(board, q2, "anon:y", True, 11)])

    qna_store.record([up(board, q2, "anon:x", True, 20), up(board, q1, "anon:y", False, 21)])

    counts = dict(Question.objects.filter(board=board).values_list("uuid", "upvotes"))
    assert counts == {q1.id: 1, q2.id: 2}  # anon:y's down had nothing to take back
    rows = {(r.question.uuid, r.voter_key): r.up for r in QnaUpvote.objects.all()}
    assert rows == {(q1.id, "anon:x"): True, (q2.id, "anon:y"): True,
                    (q2.id, "anon:x"): True, (q1.id, "anon:y"): False}  # fmt: skip
    assert qna.recount(board) == {}


def test_a_busy_board_is_pushed_at_most_once_per_floor_and_its_last_change_arrives(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However short RESULTS_PUSH_INTERVAL, a board changed every 5 ms is pushed at most
    once per QNA_PUSH_FLOOR_MS (each push is a snapshot's queries in the storing worker),
    and a change after the last push is pushed when the gate opens."""
    settings.RESULTS_PUSH_INTERVAL = 0.01
    pushes: list[float] = []
    monkeypatch.setattr(publisher, "publish_qna_now", lambda board_id, loop=None, voters=():
                        pushes.append(time.monotonic()))  # fmt: skip
    board_id = 2_000_000_035  # no such board: the push is the stand-in above
    began = time.monotonic()
    last_change = began
    while last_change - began < 1.5:
        last_change = time.monotonic()
        publisher.qna_changed([board_id])
        time.sleep(0.005)
    publisher._qna.drain(timeout=5)

    floor = publisher.QNA_PUSH_FLOOR_MS / 1000
    assert len(pushes) <= (last_change - began) / floor + 2
    assert len(pushes) >= 3  # pushed while busy, not only once it went quiet
    assert pushes[-1] >= last_change  # the last change was pushed after it


@pytest.fixture
def queue(redis_client: redis.Redis, settings: Any) -> Iterator[str]:
    """The queue the Q&A ledger looks at, these tests' own; the handled mark and the
    entries put back as they were afterwards (the mark only moves forward)."""
    settings.CELERY_TASK_DEFAULT_QUEUE = "qna-ledger-tests"
    redis_client.delete("qna-ledger-tests")
    mark = redis_client.zscore(qna_admission.HANDLED_UPTO_KEY, "upto")
    redis_client.delete(qna_admission.HANDLED_UPTO_KEY)
    yield "qna-ledger-tests"
    redis_client.delete("qna-ledger-tests", qna_admission.HANDLED_UPTO_KEY)
    if mark is not None:
        redis_client.zadd(qna_admission.HANDLED_UPTO_KEY, {"upto": mark})


def test_a_worker_behind_its_queue_is_not_handed_its_backlog_again(
    board, redis_client: redis.Redis, queue: str
) -> None:
    """Only actions the queue passed by more than the grace are queued again, however long
    ago by the clock the others were admitted (a worker that is behind would otherwise
    store its backlog twice); once the queue is idle, every action older than the grace."""
    grace = settings.VOTE_LEDGER_GRACE_SECONDS
    t = time.time() + 100 * grace  # later than any real action: a worker's sweeper leaves them
    q = asked(board, 1)
    lost = up(board, q, "anon:lost", True, int((t - grace - 1) * 1000))
    behind = up(board, q, "anon:behind", True, int((t - grace + 1) * 1000))
    handled = up(board, q, "anon:done", True, int(t * 1000))
    entries = {member(a.to_message()): (a.admitted_ms or 0) / 1000 for a in (lost, behind)}
    redis_client.zadd(qna_admission.PENDING_KEY, entries)
    try:
        qna_admission.mark_handled([handled])
        redis_client.rpush(queue, "a message still waiting")  # busy

        long_after = t + 50 * grace

        def ours(found: list[str]) -> set[str]:  # the ledger is shared: other tests' too
            return set(found) & set(entries)

        assert ours(qna_admission.passed_over(now=long_after)) == {member(lost.to_message())}

        redis_client.delete(queue)  # idle: nothing queued, nothing handled for a grace
        assert ours(qna_admission.passed_over(now=long_after)) == set(entries)
    finally:
        redis_client.zrem(qna_admission.PENDING_KEY, *entries)
