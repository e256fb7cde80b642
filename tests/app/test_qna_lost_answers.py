"""When Redis's answer to a Q&A admission (a question, an upvote) is lost, the asker is
told the truth, as a voter is (tests/app/test_lost_answers.py): "nothing was recorded"
only when Redis was never reached or does not hold the action; 202 when it holds it (the
script ran, the reply was lost: a primary killed just after replicating); and 503
`outcome_unknown` with the action's id when Redis cannot be asked. Real Redis; the lost
answer is a connection error raised after (or instead of) running the real script."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from jsonschema import Draft202012Validator
from redis.backoff import NoBackoff
from redis.retry import Retry

from polls import live_sessions, qna, qna_reads
from polls.models import LiveSession, QnaBoard
from polls.pipeline import qna_admission, qna_store
from polls.pipeline.qna_message import ASK, QnaAction
from polls.voters import signed_voter_cookie

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_queue")]


@pytest.fixture(autouse=True)
def _short_deadline(settings: Any) -> None:
    # The answer waits for the deadline (plus the margin) before Redis is asked; a script
    # run after the deadline refuses the action, so not shorter (a loaded machine).
    settings.VOTE_ADMISSION_DEADLINE_SECONDS = 1.0
    settings.VOTE_ADMISSION_CLOCK_MARGIN_SECONDS = 0.1


@pytest.fixture
def session() -> LiveSession:
    owner = User.objects.create_user("lost-answers")
    made = live_sessions.create_session(title="Lost answers", owner=owner, polls=[], qna=True)
    return live_sessions.go_live(made)


@pytest.fixture
def board(session: LiveSession, redis_client: redis.Redis) -> Iterator[QnaBoard]:
    found = qna_reads.board_of(session)
    assert found is not None
    qna.write_copy(found)  # as the change's on_commit does
    ledger: set[Any] = set(redis_client.zrange(qna_admission.PENDING_KEY, 0, -1))
    yield found
    # What these tests admitted is left to no worker: off the Q&A ledger, with the marks
    # and the limits' counters.
    added: set[Any] = set(redis_client.zrange(qna_admission.PENDING_KEY, 0, -1)) - ledger
    if added:
        redis_client.zrem(qna_admission.PENDING_KEY, *added)
    left = redis_client.keys("qna:admitted:*") + redis_client.keys("rl:qna-*")
    if left:
        redis_client.delete(*left)


@pytest.fixture
def shown(board: QnaBoard) -> str:
    """A question on the board, stored as the worker stores it: the id to upvote."""
    action = QnaAction(ASK, uuid.uuid4(), board.pk, "anon:author", timezone.now(),
                       admitted_ms=1, text="Where are the slides?")  # fmt: skip
    qna_store.record([action])
    return str(action.id)


def phone(name: str) -> Client:
    client = Client()
    client.cookies[settings.VOTER_COOKIE_NAME] = signed_voter_cookie(name)
    return client


def answer_lost(monkeypatch: pytest.MonkeyPatch, *, script_runs: bool) -> None:
    """The connection breaks after the script was sent; it ran in Redis, or it did not."""
    real = qna_admission._script

    def lost(*, keys: Any, args: Any) -> Any:
        if script_runs:
            real()(keys=keys, args=args)
        raise redis.ConnectionError("Connection closed by server.")

    monkeypatch.setattr(qna_admission, "_script", lambda: lost)


ACTIONS: dict[str, Callable[[Client, LiveSession, str], Any]] = {
    "ask": lambda client, session, _q: client.post(
        f"/api/sessions/{session.code}/questions/ask", {"text": "Is there coffee?"},
        content_type="application/json",
    ),
    "upvote": lambda client, session, q: client.post(
        f"/api/sessions/{session.code}/questions/{q}/upvote", {"up": True},
        content_type="application/json",
    ),
}  # fmt: skip


def queued_ids(client: redis.Redis, queue: str) -> list[str]:
    """The ids of the Q&A actions queued for the worker."""
    ids = []
    for raw in client.lrange(queue, 0, -1):
        args, _kwargs, _embed = json.loads(json.loads(raw)["body"])
        ids += [message["id"] for message in args[0]]
    return ids


def test_a_question_redis_took_before_the_answer_was_lost_is_accepted(
    session: LiveSession, shown: str, own_queue: str, redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    answer_lost(monkeypatch, script_runs=True)

    answer = ACTIONS["ask"](phone("alice"), session, shown)

    assert answer.status_code == 202, answer.content
    assert queued_ids(redis_client, own_queue) == [answer.json()["id"]]
    # The mark that told it goes by itself (Redis is the queue: every key is bounded).
    assert 0 < redis_client.pttl(qna_admission.mark_key(answer.json()["id"])) <= 31_000


def test_an_upvote_redis_never_ran_is_not_recorded_and_says_so(
    session: LiveSession, shown: str, own_queue: str, redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    answer_lost(monkeypatch, script_runs=False)

    answer = ACTIONS["upvote"](phone("alice"), session, shown)

    assert answer.status_code == 503
    assert answer.json()["code"] == "unavailable"
    assert "nothing was recorded" in answer.json()["error"]
    assert queued_ids(redis_client, own_queue) == []


@pytest.mark.parametrize(("action", "says"), [("ask", "Look for it"), ("upvote", "Send it again")])
def test_when_redis_cannot_be_asked_the_answer_says_it_cannot_tell_with_the_actions_id(
    action: str, says: str, session: LiveSession, shown: str, own_queue: str,
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    answer_lost(monkeypatch, script_runs=True)

    def unreachable(_action_id: Any) -> Any:
        raise redis.ConnectionError("Error 111 connecting")

    monkeypatch.setattr(qna_admission, "held", unreachable)

    answer = ACTIONS[action](phone("alice"), session, shown)

    assert answer.status_code == 503
    assert int(answer["Retry-After"]) > 0
    body = answer.json()
    assert body["code"] == "outcome_unknown"
    assert says in body["error"]
    assert "nothing was recorded" not in body["error"]
    assert queued_ids(redis_client, own_queue) == [body["id"]]  # Redis did take it
    document = json.loads(Client().get("/api/openapi.json").content)
    wrapped = {"$ref": "#/components/schemas/Error", "components": document["components"]}
    Draft202012Validator(wrapped).validate(body)


def test_a_redis_that_cannot_be_reached_records_nothing_and_says_so_at_once(
    session: LiveSession, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[bool] = []
    looked: list[Any] = []
    monkeypatch.setattr(qna_admission, "_script", lambda: lambda **_: ran.append(True))
    nowhere = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))  # as ours
    monkeypatch.setattr(qna_admission, "_client", lambda: nowhere)
    monkeypatch.setattr(qna_admission, "held", looked.append)

    answer = ACTIONS["upvote"](phone("alice"), session, shown)

    assert answer.status_code == 503
    assert answer.json()["code"] == "unavailable"
    assert ran == [], "the script is never sent to a Redis that was not reached"
    assert looked == [], "known not sent: nothing to look for"
