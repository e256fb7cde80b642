"""Q&A boards (issue 35) on real Postgres and Redis: refusals decided at admission (a
closed board, limits, the filter), the worker's store idempotent (redelivered and
out-of-order upvote actions, the latest by admission time kept), moderation modes,
presenter actions and permissions, exports, the API, and a session with a board alone."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from polls import live_sessions, qna, qna_reads, ratelimits
from polls.live import events
from polls.models import LiveSession, QnaBoard, QnaUpvote, Question
from polls.pipeline import qna_admission, qna_store
from polls.pipeline.qna_message import ASK, UPVOTE, QnaAction
from polls.voters import signed_voter_cookie
from results import fanout
from tests.support.live import run_async
from votingsite.asgi import application

# Each test in a transaction rolled back (the board's copy in Redis is written by the
# fixture, as the change's on_commit would); the socket's test commits for real.
pytestmark = pytest.mark.django_db


@pytest.fixture
def qna_queue(own_queue: str, redis_client: redis.Redis) -> Iterator[str]:
    """The votes' own test queue (nothing consumes it), and the Q&A ledger left clean."""
    before: set[Any] = set(redis_client.zrange(qna_admission.PENDING_KEY, 0, -1))
    yield own_queue
    added: set[Any] = set(redis_client.zrange(qna_admission.PENDING_KEY, 0, -1)) - before
    if added:
        redis_client.zrem(qna_admission.PENDING_KEY, *added)
    redis_client.delete(*redis_client.keys("rl:qna-*") or ["rl:none"])


@pytest.fixture
def owner() -> User:
    return User.objects.create_user("quinn")  # no password: each hash costs ~0.5 s of CPU


@pytest.fixture
def session(owner: User) -> LiveSession:
    """A live session of a Q&A board alone: no polls."""
    made = live_sessions.create_session(title="Ask me anything", owner=owner, polls=[], qna=True)
    return live_sessions.go_live(made)


@pytest.fixture
def board(session: LiveSession) -> QnaBoard:
    found = qna_reads.board_of(session)
    assert found is not None
    qna.write_copy(found)  # as the change's on_commit did
    return found


def queued(client: redis.Redis, queue: str) -> list[QnaAction]:
    """The actions queued for the worker, oldest first, as it parses them."""
    actions = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        envelope = json.loads(raw)
        assert envelope["headers"]["task"] == "polls.record_qna"
        args, _kwargs, _embed = json.loads(envelope["body"])
        actions += [QnaAction.from_message(m) for m in args[0]]
    return actions


def store_queued(client: redis.Redis, queue: str) -> list[QnaAction]:
    """What a worker does with the queue: store every action, strike them off the ledger."""
    actions = queued(client, queue)
    client.delete(queue)
    qna_store.record(actions)
    qna_admission.mark_handled(actions)
    return actions


def ask(
    board: QnaBoard, text: str = "Why is the sky blue?", voter: str = "anon:a", **kw: Any
) -> str:
    return str(qna.ask(board, voter_key=voter, text=text, **kw))


def question(question_id: str) -> Question:
    return Question.objects.get(uuid=question_id)


def up_action(board: QnaBoard, q: Question, voter: str, up: bool, at: int) -> QnaAction:
    return QnaAction(UPVOTE, uuid.uuid4(), board.pk, voter, timezone.now(), admitted_ms=at,
                     question=q.uuid, up=up)  # fmt: skip


@pytest.fixture
def stored(board: QnaBoard) -> Question:
    """One shown question, stored."""
    action = QnaAction(ASK, uuid.uuid4(), board.pk, "anon:author", timezone.now(),
                       admitted_ms=1, text="What next?")  # fmt: skip
    qna_store.record([action])
    return question(str(action.id))


# --- Asking: admitted, queued, stored once ------------------------------------------


def test_a_question_is_admitted_queued_in_the_ledger_and_stored_once_however_often_delivered(
    board, qna_queue, redis_client
) -> None:
    question_id = ask(board, "  Why   is the sky\u200b blue?  ")
    assert redis_client.zcard(qna_admission.PENDING_KEY) >= 1
    actions = queued(redis_client, qna_queue)
    assert [a.text for a in actions] == ["Why is the sky blue?"]  # normalised before admission
    qna_store.record(actions)
    qna_store.record(actions)  # redelivered
    assert Question.objects.filter(uuid=question_id).count() == 1
    qna_admission.mark_handled(actions)
    assert not any(
        question_id in m.decode() for m in redis_client.zrange(qna_admission.PENDING_KEY, 0, -1)
    )


def test_a_question_text_holding_the_scripts_placeholder_is_stored_as_typed(
    board, qna_queue, redis_client
) -> None:
    question_id = ask(board, 'Is "@t@" a placeholder? | @v1@')
    store_queued(redis_client, qna_queue)
    assert question(question_id).text == 'Is "@t@" a placeholder? | @v1@'


BAD_QUESTIONS = [("", "question_empty"), ("\u200b  ", "question_empty"),
                 ("x" * 281, "question_too_long"), ("👍🏽" * 281, "question_too_long")]  # fmt: skip


def test_a_bad_question_is_refused_at_admission_with_its_code(
    board, qna_queue, redis_client
) -> None:
    """Each case in turn on one board (one board's setup, not one per case)."""
    for text, code in BAD_QUESTIONS:
        with pytest.raises(qna.QnaError) as refused:
            ask(board, text)
        assert (refused.value.status, refused.value.code) == (400, code), text[:10]
        assert redis_client.llen(qna_queue) == 0


def test_280_graphemes_are_taken_whatever_their_code_points(board, qna_queue, redis_client) -> None:
    question_id = ask(board, "👍🏽" * 280)
    store_queued(redis_client, qna_queue)
    assert question(question_id).text == "👍🏽" * 280


@pytest.mark.parametrize(
    ("change", "action", "code"),
    [({"asking": False}, "ask", "asking_closed"),
     ({"upvoting": False}, "upvote", "upvoting_closed"),
     ({"asking": False}, "upvote", None), ({"upvoting": False}, "ask", None)],
)  # fmt: skip
def test_asking_and_upvoting_close_independently_refused_at_admission(
    board, stored, qna_queue, redis_client, change, action, code
) -> None:
    qna.set_open(board, **change)
    board.refresh_from_db()

    def act() -> Any:
        if action == "ask":
            return ask(board)
        return qna.upvote(board, voter_key="anon:b", question=str(stored.uuid), up=True)

    if code is None:
        act()
        assert redis_client.llen(qna_queue) == 1
    else:
        with pytest.raises(qna.QnaError) as refused:
            act()
        assert (refused.value.status, refused.value.code) == (409, code)
        assert redis_client.llen(qna_queue) == 0


def test_redis_alone_refuses_when_its_copy_says_closed(board, qna_queue, redis_client) -> None:
    """The admission script decides: a web process whose board row says open is refused
    by the copy a presenter's close wrote."""
    qna_admission.write_copy(
        board.pk, qna_admission.BoardCopy(board.version + 1, True, False, True)
    )
    with pytest.raises(qna.QnaError) as refused:
        ask(board)
    assert refused.value.code == "asking_closed"
    assert redis_client.llen(qna_queue) == 0


def test_a_lost_copy_is_written_again_from_postgres(board, qna_queue, redis_client) -> None:
    qna_admission.forget_copy(board.pk)
    ask(board)
    assert redis_client.get(qna_admission.key(board.pk)) is not None
    assert redis_client.llen(qna_queue) == 1


def test_an_older_copy_never_replaces_a_newer_one(board, redis_client) -> None:
    newer = qna_admission.BoardCopy(board.version + 5, True, False, False)
    qna_admission.write_copy(board.pk, newer)
    assert not qna_admission.write_copy(
        board.pk, qna_admission.BoardCopy(board.version, True, True, True)
    )
    assert redis_client.get(qna_admission.key(board.pk)).decode() == newer.text()


def test_an_ended_session_takes_no_questions(board, session, qna_queue) -> None:
    live_sessions.end(session)
    board.refresh_from_db()
    with pytest.raises(qna.QnaError) as refused:
        ask(board)
    assert refused.value.code == "board_closed"


# --- Names and moderation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "given", "stored_name", "code"),
    [("anonymous", "Ann", "", None), ("allowed", "", "", None), ("allowed", " Ann ", "Ann", None),
     ("required", "", None, "name_required"), ("required", "Ann", "Ann", None),
     ("allowed", "A" * 41, None, "name_too_long")],
)  # fmt: skip
def test_names_follow_the_organisers_setting(
    board, session, qna_queue, redis_client, names, given, stored_name, code
) -> None:
    board = qna.enable(session, names=names)
    if code:
        with pytest.raises(qna.QnaError) as refused:
            ask(board, name=given)
        assert refused.value.code == code
        return
    question_id = ask(board, name=given)
    store_queued(redis_client, qna_queue)
    assert question(question_id).name == stored_name


@pytest.mark.parametrize(
    ("mode", "refuses", "text", "state", "code"),
    [("after", False, "Is it on time?", "shown", None),
     ("after", False, "Why is this so shit?", "pending", None),
     ("after", True, "Why is this so shit?", None, "question_refused"),
     ("before", False, "Is it on time?", "pending", None),
     ("off", False, "Why is this so shit?", "shown", None)],
)  # fmt: skip
def test_moderation_modes_and_the_filter(
    board, session, qna_queue, redis_client, mode, refuses, text, state, code
) -> None:
    board = qna.enable(session, moderation=mode, filter_refuses=refuses)
    if code:
        with pytest.raises(qna.QnaError) as refused:
            ask(board, text)
        assert (refused.value.status, refused.value.code) == (400, code)
        assert redis_client.llen(qna_queue) == 0
        return
    question_id = ask(board, text)
    store_queued(redis_client, qna_queue)
    assert question(question_id).state == state
    shown = [q["id"] for q in qna_reads.snapshot(board)["newest"]]
    assert (question_id in shown) == (state == "shown")


def test_moderators_approve_hide_restore_and_correct_keeping_the_original(board, stored) -> None:
    qna.hide_question(stored)
    assert qna_reads.snapshot(board)["newest"] == []
    qna.restore_question(stored)
    qna.correct_question(stored, "What comes next?")
    qna.correct_question(stored, "What comes next ?")
    stored.refresh_from_db()
    assert (stored.text, stored.original) == ("What comes next ?", "What next?")
    pending = Question.objects.filter(pk=stored.pk)
    pending.update(state="pending")
    qna.approve_question(pending.get())
    assert [q["text"] for q in qna_reads.snapshot(board)["newest"]] == ["What comes next ?"]


# --- Upvotes: the wanted state, the latest action kept ---------------------------------


LATEST_WINS = [
    ([("a", True, 10)], 1, True),
    ([("a", True, 10), ("a", True, 11)], 1, True),  # up twice: still one
    ([("a", True, 10), ("a", False, 11)], 0, False),  # taken back
    ([("a", False, 11), ("a", True, 10)], 0, False),  # older action arriving late: ignored
    ([("a", True, 10), ("a", False, 12), ("a", True, 11)], 0, False),
    ([("a", False, 10)], 0, False),  # taking back what was never given
    ([("a", True, 10), ("b", True, 10), ("c", True, 12), ("b", False, 13)], 2, None),
]


@pytest.mark.parametrize("batches", ["one batch", "one each"])
def test_the_latest_action_per_voter_and_question_wins_whatever_the_order(board, batches) -> None:
    """Each case on a question of its own, on one board (one setup for all the cases)."""
    for number, (actions, upvotes, row) in enumerate(LATEST_WINS):
        asked = QnaAction(ASK, uuid.uuid4(), board.pk, f"anon:author{number}", timezone.now(),
                          admitted_ms=1, text=f"Case {number}?")  # fmt: skip
        qna_store.record([asked])
        target = question(str(asked.id))
        made = [up_action(board, target, f"anon:{v}", up, at) for v, up, at in actions]
        if batches == "one batch":
            qna_store.record(made)
        else:
            for action in made:
                qna_store.record([action])
        target.refresh_from_db()
        assert target.upvotes == upvotes, f"case {number}: {actions}"
        if row is not None:
            kept = QnaUpvote.objects.get(question=target, voter_key="anon:a").up
            assert kept is row, f"case {number}: {actions}"
    assert qna.recount(board) == {}


def test_a_redelivered_action_changes_nothing_even_after_a_later_one(board, stored) -> None:
    first = up_action(board, stored, "anon:a", True, 10)
    later = up_action(board, stored, "anon:a", False, 20)
    qna_store.record([first])
    qna_store.record([later])
    qna_store.record([first])  # the broker delivered it again
    stored.refresh_from_db()
    assert stored.upvotes == 0


def test_an_upvote_goes_through_admission_and_is_counted(
    board, stored, qna_queue, redis_client
) -> None:
    for voter in ("anon:x", "anon:y"):
        qna.upvote(board, voter_key=voter, question=str(stored.uuid), up=True)
    qna.upvote(board, voter_key="anon:x", question=str(stored.uuid), up=False)
    store_queued(redis_client, qna_queue)
    stored.refresh_from_db()
    assert stored.upvotes == 1
    assert qna_reads.mine(board, "anon:y")["upvoted"] == [str(stored.uuid)]


@pytest.mark.parametrize(
    ("question_id", "status", "code"),
    [("nope", 404, "unknown_question"), (str(uuid.uuid4()), 404, "unknown_question")],
)
def test_upvoting_an_unknown_question_is_refused(
    board, qna_queue, question_id, status, code
) -> None:
    with pytest.raises(qna.QnaError) as refused:
        qna.upvote(board, voter_key="anon:a", question=question_id, up=True)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_upvoting_a_hidden_or_withdrawn_question_is_refused(board, stored, qna_queue) -> None:
    qna.hide_question(stored)
    with pytest.raises(qna.QnaError) as refused:
        qna.upvote(board, voter_key="anon:a", question=str(stored.uuid), up=True)
    assert refused.value.code == "question_not_shown"


def test_the_recount_finds_and_mends_a_wrong_count(board, stored) -> None:
    qna_store.record([up_action(board, stored, "anon:a", True, 10)])
    Question.objects.filter(pk=stored.pk).update(upvotes=7)
    assert qna.recount(board) == {str(stored.uuid): (7, 1)}
    qna.recount(board, fix=True)
    assert qna.recount(board) == {}


# --- Admission in groups: what one web process takes at once goes as one message --------


def entry(action: QnaAction, rate: str = "") -> qna_admission.QnaEntry:
    limits = [ratelimits.Limit("voter", action.voter_key, rate)] if rate else []
    return qna_admission.QnaEntry(action, limits, deadline=time.time() + 5)


def new_ask(board: QnaBoard, voter: str) -> QnaAction:
    return QnaAction(ASK, uuid.uuid4(), board.pk, voter, timezone.now(), text=f"From {voter}?")


def new_upvote(board: QnaBoard, q: Question, voter: str) -> QnaAction:
    return QnaAction(UPVOTE, uuid.uuid4(), board.pk, voter, timezone.now(), question=q.uuid,
                     up=True)  # fmt: skip


def test_actions_admitted_together_go_as_one_message_each_in_the_ledger_and_marked(
    board, stored, qna_queue, redis_client
) -> None:
    group = [
        new_ask(board, "anon:a"),
        new_upvote(board, stored, "anon:b"),
        new_ask(board, "anon:c"),
    ]

    assert qna_admission.admit_and_queue([entry(a) for a in group]) == [0, 0, 0]

    assert redis_client.llen(qna_queue) == 1
    actions = queued(redis_client, qna_queue)
    assert [a.id for a in actions] == [a.id for a in group]
    assert len({a.admitted_ms for a in actions}) == 1  # one script, one clock reading
    for action in group:
        assert 0 < redis_client.pttl(qna_admission.mark_key(action.id)) <= 40_000
    pending = {json.loads(m)["id"] for m in redis_client.zrange(qna_admission.PENDING_KEY, 0, -1)}
    assert {str(a.id) for a in group} <= pending


def test_an_action_refused_in_a_group_stays_out_and_the_rest_go_in_a_message_of_their_own(
    board, stored, qna_queue, redis_client
) -> None:
    first = new_ask(board, "anon:fast")
    assert qna_admission.admit_and_queue([entry(first, "1/h")]) == [0]
    again, other, up = new_ask(board, "anon:fast"), new_ask(board, "anon:b"), new_upvote(
        board, stored, "anon:c")  # fmt: skip

    codes = qna_admission.admit_and_queue([entry(other), entry(again, "1/h"), entry(up)])

    assert codes[0] == codes[2] == 0
    assert 0 < codes[1] <= 3600
    messages = [len(json.loads(json.loads(raw)["body"])[0][0]) for raw in
                reversed(redis_client.lrange(qna_queue, 0, -1))]  # fmt: skip
    assert messages == [1, 2]
    # Stamped as the script stamps: the worker parses them and orders by admission.
    assert [a.id for a in queued(redis_client, qna_queue)] == [first.id, other.id, up.id]
    assert not redis_client.exists(qna_admission.mark_key(again.id))
    store_queued(redis_client, qna_queue)
    assert question(str(other.id)).upvotes == 0
    assert Question.objects.get(uuid=stored.uuid).upvotes == 1
    assert not Question.objects.filter(uuid=again.id).exists()


def test_a_group_on_a_closed_board_and_an_open_one_refuses_only_the_closed_ones(
    board, owner, qna_queue, redis_client
) -> None:
    made = live_sessions.create_session(title="Closed", owner=owner, polls=[], qna=True)
    closed = qna_reads.board_of(live_sessions.go_live(made))
    assert closed is not None
    qna.write_copy(qna.set_open(closed, asking=False))  # as the change's on_commit does

    codes = qna_admission.admit_and_queue([entry(new_ask(closed, "anon:a")),
                                           entry(new_ask(board, "anon:a"))])  # fmt: skip

    assert codes == [qna_admission.REFUSED_ASKING_CLOSED, 0]
    assert [a.board_id for a in queued(redis_client, qna_queue)] == [board.pk]


# --- Limits ----------------------------------------------------------------------------


@override_settings(QNA_QUESTION_RATE_PER_VOTER="2/m")
def test_questions_per_voter_are_limited_with_retry_after(board, qna_queue) -> None:
    ask(board, voter="anon:fast")
    ask(board, voter="anon:fast")
    with pytest.raises(qna.QnaError) as refused:
        ask(board, voter="anon:fast")
    assert refused.value.status == 429
    assert 0 < (refused.value.retry_after or 0) <= 61
    ask(board, voter="anon:other")  # another voter is not held back


# An hour's window: the five actions fall in one window however slowly they go (a
# per-second window can split them on a loaded machine); the counting is the same.
@override_settings(QNA_UPVOTE_RATE_PER_VOTER="3/h")
def test_upvote_actions_per_voter_are_limited(board, stored, qna_queue) -> None:
    codes = []
    for n in range(5):
        try:
            qna.upvote(board, voter_key="anon:script", question=str(stored.uuid), up=n % 2 == 0)
            codes.append(202)
        except qna.QnaError as refused:
            codes.append(refused.status)
    assert codes == [202, 202, 202, 429, 429]


# --- Presenter, withdraw, snapshot ---------------------------------------------------------


def test_the_author_alone_withdraws(board, stored) -> None:
    with pytest.raises(qna.QnaError) as refused:
        qna.withdraw(board, voter_key="anon:someone-else", question=str(stored.uuid))
    assert refused.value.status == 403
    qna.withdraw(board, voter_key="anon:author", question=str(stored.uuid))
    assert qna_reads.snapshot(board)["top"] == []


def test_top_order_pinned_then_unanswered_by_upvotes_and_the_snapshot_is_bounded(board) -> None:
    asks = [QnaAction(ASK, uuid.uuid4(), board.pk, f"anon:{n}", timezone.now(), admitted_ms=n,
                      text=f"Question {n}") for n in range(60)]  # fmt: skip
    qna_store.record(asks)
    qs = {q.text: q for q in Question.objects.all()}
    qna_store.record(
        [up_action(board, qs["Question 3"], f"anon:v{n}", True, 100) for n in range(3)]
    )
    qna_store.record([up_action(board, qs["Question 4"], "anon:v", True, 100)])
    qna.mark_answered(qs["Question 3"])
    qna.pin(qs["Question 0"])
    board.refresh_from_db()
    snap = qna_reads.snapshot(board)
    assert [q["text"] for q in snap["top"][:3]] == ["Question 0", "Question 4", "Question 59"]
    assert snap["top"][-1]["text"] == "Question 3" or len(snap["top"]) == 50
    assert len(snap["top"]) == len(snap["newest"]) == 50
    assert snap["newest"][0]["text"] == "Question 59"
    assert snap["counts"] == {"questions": 60, "pending": 0, "answered": 1, "upvotes": 4}
    assert len(json.dumps(snap)) < 20_000


def test_next_puts_the_top_unanswered_question_on_screen_and_answered_takes_it_off(board) -> None:
    asks = [QnaAction(ASK, uuid.uuid4(), board.pk, "anon:a", timezone.now(), admitted_ms=n,
                      text=t) for n, t in enumerate(["First?", "Second?"])]  # fmt: skip
    qna_store.record(asks)
    board = qna.next_question(board)
    assert board.highlighted.text == "Second?"
    board = qna.next_question(board)
    assert board.highlighted.text == "First?"
    qna.mark_answered(board.highlighted)
    board.refresh_from_db()
    assert board.highlighted is None


# --- Over HTTP -----------------------------------------------------------------------------


def test_the_form_posts_and_comes_back_to_the_page(session, board, qna_queue, redis_client) -> None:
    client = Client()
    answer = client.post(f"/s/{session.code}/qna/ask", {"text": "From a phone without JS?"})
    assert answer.status_code == 302
    assert answer["Location"].endswith("#qna")
    store_queued(redis_client, qna_queue)
    page = client.get(f"/s/{session.code}/")
    assert "From a phone without JS?" in page.content.decode()
    q = Question.objects.get()
    client.post(f"/s/{session.code}/qna/upvote", {"question": str(q.uuid), "up": "1"})
    store_queued(redis_client, qna_queue)
    q.refresh_from_db()
    assert q.upvotes == 1


def test_the_api_asks_upvotes_and_lists(session, board, qna_queue, redis_client) -> None:
    client = Client()
    base = f"/api/sessions/{session.code}/questions"
    asked = client.post(f"{base}/ask", {"text": "Via the API?"}, content_type="application/json")
    assert asked.status_code == 202
    assert asked.json()["status"] == "queued"
    store_queued(redis_client, qna_queue)
    question_id = asked.json()["id"]
    voted = client.post(
        f"{base}/{question_id}/upvote", {"up": True}, content_type="application/json"
    )
    assert voted.status_code == 202
    store_queued(redis_client, qna_queue)
    listed = client.get(f"{base}?sort=newest").json()
    assert listed["questions"][0]["upvotes"] == 1
    assert listed["mine"] == {"asked": [question_id], "upvoted": [question_id]}
    qna.hide_question(question(question_id))  # the total counts shown questions alone
    assert (listed["total"], client.get(base).json()["total"]) == (1, 0)


BAD_API_INPUT = [("ask", {"text": ""}, 400, "question_empty"),
                 ("ask", {"text": 5}, 400, "invalid_body"), ("ask", [1], 400, "invalid_body"),
                 ("nope/upvote", {"up": True}, 404, "unknown_question"),
                 ("{q}/upvote", {"up": "yes"}, 400, "invalid_body")]  # fmt: skip


def test_the_api_refuses_bad_input_with_a_code(session, board, stored, qna_queue) -> None:
    for path, body, status, code in BAD_API_INPUT:
        url = f"/api/sessions/{session.code}/questions/" + path.format(q=stored.uuid)
        answer = Client().post(url, body, content_type="application/json")
        assert (answer.status_code, answer.json()["code"]) == (status, code), (path, body)


@override_settings(QNA_QUESTION_RATE_PER_VOTER="1/m", LANGUAGE_CODE="en")
def test_the_api_429_carries_retry_after_and_a_message_in_the_language(
    session, board, qna_queue
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    url = f"/api/sessions/{session.code}/questions/ask"
    client.post(url, {"text": "One?"}, content_type="application/json")
    answer = client.post(url, {"text": "Two?"}, content_type="application/json")
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0
    assert answer.json()["code"] == "too_many_requests"
    assert "Sekunden" in answer.json()["error"]


def test_only_presenters_act_on_the_board_and_export(session, board, stored, owner) -> None:
    stranger = Client()
    stranger.force_login(User.objects.create_user("sam"))
    url = f"/present/{session.code}/qna"
    answer = stranger.post(url, {"action": "answered", "question": str(stored.uuid)},
                           HTTP_ACCEPT="application/json")  # fmt: skip
    assert answer.status_code == 403
    assert stranger.get(f"/present/{session.code}/qna.csv").status_code == 403
    presenter = Client()
    presenter.force_login(owner)
    answer = presenter.post(url, {"action": "answered", "question": str(stored.uuid)},
                            HTTP_ACCEPT="application/json")  # fmt: skip
    assert answer.status_code == 200
    assert answer.json()["counts"]["answered"] == 1


def test_exports_neutralise_formulas_and_hold_every_question(session, board, owner) -> None:
    action = QnaAction(ASK, uuid.uuid4(), board.pk, "anon:a", timezone.now(), admitted_ms=1,
                       text="=HYPERLINK(\"http://x\")")  # fmt: skip
    qna_store.record([action])
    presenter = Client()
    presenter.force_login(owner)
    rows = list(
        csv.DictReader(
            io.StringIO(presenter.get(f"/present/{session.code}/qna.csv").content.decode())
        )
    )
    assert rows[0]["text"].startswith("'=")
    data = json.loads(presenter.get(f"/present/{session.code}/qna.json").content)
    assert data["questions"][0]["text"].startswith("=")


def test_a_session_of_a_board_alone_goes_live_and_refuses_moving(session) -> None:
    assert session.state == LiveSession.State.LIVE
    assert session.current_poll is None
    with pytest.raises(live_sessions.SessionError):
        live_sessions.move(session, step=1)
    with pytest.raises(live_sessions.SessionError):
        live_sessions.create_session(title="Nothing", owner=session.owner, polls=[])


# --- Admin, commands, recount ------------------------------------------------------------


def test_the_admin_lists_boards_and_questions_and_moderates(board, stored) -> None:
    staff = User.objects.create_superuser("ada")
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/polls/qnaboard/").status_code == 200
    assert client.get(f"/admin/polls/question/{stored.pk}/change/").status_code == 200
    client.post("/admin/polls/question/", {"action": "hide", "_selected_action": [stored.pk]})
    stored.refresh_from_db()
    assert stored.state == "hidden"


def test_the_commands_close_export_and_recount(board, stored, session) -> None:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("qna_export", str(session.pk), "--format", "csv", stdout=out)
    assert "What next?" in out.getvalue()
    call_command("qna_close", str(session.pk), stdout=io.StringIO())
    board.refresh_from_db()
    assert not board.asking_open
    assert not board.upvoting_open
    Question.objects.filter(pk=stored.pk).update(upvotes=3)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("recount", "--check", stdout=io.StringIO())
    call_command("recount", stdout=io.StringIO())
    stored.refresh_from_db()
    assert stored.upvotes == 0


# --- Live: the snapshot reaches the session's sockets --------------------------------------


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_stored_question_reaches_the_audiences_and_the_presenters_sockets(
    session: LiveSession, board: QnaBoard
) -> None:
    """The worker's commit pushes the board's bounded snapshot to every socket of the
    session (the same text for all); a snapshot older than one sent is dropped."""
    headers = [(b"origin", b"http://127.0.0.1:8000")]
    phone = WebsocketCommunicator(application, f"/ws/s/{session.code}/", headers=headers)
    assert (await phone.connect(timeout=15))[0]
    assert json.loads(await phone.receive_from(timeout=15))["type"] == "session"
    action = QnaAction(ASK, uuid.uuid4(), board.pk, "anon:a", timezone.now(), admitted_ms=1,
                       text="Live?")  # fmt: skip
    await sync_to_async(qna_store.record)([action])
    pushed = json.loads(await phone.receive_from(timeout=15))
    assert pushed["type"] == "qna"
    assert [q["text"] for q in pushed["newest"]] == ["Live?"]
    stale = {"type": "qna.update", "seq": pushed["seq"] - 1, "text": json.dumps({"type": "qna"})}
    await get_channel_layer().group_send(events.session_group(session.pk), stale)
    assert await phone.receive_nothing(timeout=1)
    await phone.disconnect()


def test_a_deleted_boards_copy_in_redis_goes_with_it(
    session: LiveSession, board: QnaBoard, redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    key = qna_admission.key(board.pk)
    assert redis_client.exists(key)
    with django_capture_on_commit_callbacks(execute=True):
        session.delete()  # its board with it
    assert not redis_client.exists(key)


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_voters_own_marks_reach_every_phone_of_theirs_and_no_one_elses(
    session: LiveSession, board: QnaBoard
) -> None:
    """Once a voter's action is stored, the push carries their marks to each of their
    sockets (a second phone learns what the first asked or upvoted), never to another's."""

    async def phone(voter: str) -> WebsocketCommunicator:
        cookie = f"{settings.VOTER_COOKIE_NAME}={signed_voter_cookie(voter)}"
        headers = [(b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie.encode())]
        socket = WebsocketCommunicator(application, f"/ws/s/{session.code}/", headers=headers)
        assert (await socket.connect(timeout=15))[0]
        assert json.loads(await socket.receive_from(timeout=15))["type"] == "session"
        return socket

    first, second, other = await phone("alice"), await phone("alice"), await phone("bob")
    asked = QnaAction(ASK, uuid.uuid4(), board.pk, "anon:alice", timezone.now(), admitted_ms=1,
                      text="Mine?")  # fmt: skip
    await sync_to_async(qna_store.record)([asked])

    for socket in (first, second):
        pushed = json.loads(await socket.receive_from(timeout=15))
        assert pushed["mine"] == {"asked": [str(asked.id)], "upvoted": []}
    pushed = json.loads(await other.receive_from(timeout=15))
    assert [q["text"] for q in pushed["newest"]] == ["Mine?"]
    assert "mine" not in pushed
    for socket in (first, second, other):
        await socket.disconnect()


def test_a_push_carries_marks_only_among_the_questions_it_shows(board) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    qna_store.record([QnaAction(ASK, uuid.UUID(i), board.pk, "anon:x", timezone.now(),
                                admitted_ms=1, text="?") for i in ids])  # fmt: skip
    stored = [question(i) for i in ids]
    qna_store.record([up_action(board, q, "anon:y", True, 10) for q in stored])

    marks = qna_reads.marks_of(board, ["anon:x", "anon:y", "anon:z"], ids[:2])

    assert sorted(marks["anon:x"]["asked"]) == sorted(ids[:2])
    assert sorted(marks["anon:y"]["upvoted"]) == sorted(ids[:2])
    assert marks["anon:y"]["asked"] == []
    assert marks["anon:z"] == {"asked": [], "upvoted": []}


def test_a_hub_keeps_the_voters_marks_of_a_snapshot_it_supersedes() -> None:
    """Two pushes meeting in one round: the newer snapshot goes out, with the marks of
    the voters only the older one carried (its own are newer and win)."""
    hub = fanout._Hub("session.test.1")
    hub.offer({"type": "qna.update", "seq": 1, "mine": {"a": "a1", "b": "b1"}})
    hub.offer({"type": "qna.update", "seq": 2, "mine": {"a": "a2"}})
    hub.offer({"type": "qna.update", "seq": 1, "mine": {"c": "c1"}})  # late: dropped

    assert [(e["seq"], e["mine"]) for e in hub.waiting] == [(2, {"a": "a2", "b": "b1", "c": "c1"})]
