"""Behaviour the mutation run (docs/testing.md) found no fast test for: each test here is a
specification of the vote path or the live path that a surviving mutant broke.

The ledger's tests run on the test Redis with a queue name of their own and times far in
the future, so a session's worker (its sweeper keeps running) never takes their entries.
"""

from __future__ import annotations

import datetime
import functools
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ParamSpec

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from polls import gates, ratelimits
from polls.live import events, publisher
from polls.models import Choice, Poll, Tally
from polls.pipeline import admission, ledger
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from polls.selectors import poll_results
from polls.voters import signed_voter_cookie
from results.consumers import MAX_CLIENT_MESSAGE
from tests.app.test_live_results import HubProbe
from votingsite.asgi import application

P = ParamSpec("P")

GRACE = settings.VOTE_LEDGER_GRACE_SECONDS
# Later than any real vote of this run: the session's sweeper leaves these alone.
FUTURE = time.time() + 100 * GRACE


def a_vote(voter: str, at: float) -> QueuedVote:
    cast_at = datetime.datetime.fromtimestamp(at, tz=datetime.UTC)
    return QueuedVote(uuid.uuid4(), 1, 2, f"anon:{voter}", cast_at)


@pytest.fixture
def queue(redis_client: Any, settings: Any) -> Iterator[str]:
    """The vote queue the ledger looks at, one of these tests' own (empty at the start)."""
    settings.CELERY_TASK_DEFAULT_QUEUE = "votes-ledger-tests"
    redis_client.delete("votes-ledger-tests")
    yield "votes-ledger-tests"
    redis_client.delete("votes-ledger-tests")


@pytest.fixture
def pending(redis_client: Any, queue: str) -> Iterator[Any]:
    """Enter votes in the ledger at given times. The handled mark starts unset (it only
    moves forward, and an earlier test may have left it anywhere); it and the ledger are
    put back as they were afterwards."""
    mark = redis_client.zscore(ledger.HANDLED_UPTO_KEY, "upto")
    redis_client.delete(ledger.HANDLED_UPTO_KEY)
    entered: list[str] = []

    def enter(*votes_at: tuple[QueuedVote, float]) -> None:
        for vote, at in votes_at:
            entered.append(ledger.member(vote))
            redis_client.zadd(ledger.PENDING_KEY, {ledger.member(vote): at})

    yield enter
    if entered:
        redis_client.zrem(ledger.PENDING_KEY, *entered)
    redis_client.delete(ledger.HANDLED_UPTO_KEY)
    if mark is not None:
        redis_client.zadd(ledger.HANDLED_UPTO_KEY, {"upto": mark})


def in_ledger(redis_client: Any, vote: QueuedVote) -> bool:
    return redis_client.zscore(ledger.PENDING_KEY, ledger.member(vote)) is not None


def test_a_vote_the_worker_handled_leaves_the_ledger_and_the_others_stay(
    redis_client, pending
) -> None:
    handled, waiting = a_vote("a", FUTURE), a_vote("b", FUTURE)
    pending((handled, FUTURE), (waiting, FUTURE))
    ledger.mark_handled([handled])
    assert not in_ledger(redis_client, handled)
    assert in_ledger(redis_client, waiting)


def test_a_ledger_entry_is_the_same_text_whatever_order_the_message_has(pending) -> None:
    # The web side writes the entry, the worker strikes it off from the message it got:
    # the two must be equal strings.
    vote = a_vote("a", FUTURE)
    message = vote.to_message()
    reordered = dict(reversed(list(message.items())))
    assert ledger.message_member(reordered) == ledger.member(vote)
    assert " " not in ledger.member(vote)  # compact: the ledger holds thousands


def test_when_votes_are_queued_only_those_the_queue_passed_by_more_than_the_grace_count(
    redis_client, queue, pending
) -> None:
    # The worker has handled a vote cast at T; the queue still holds messages (busy).
    t = FUTURE
    ledger.mark_handled([a_vote("handled", t)])
    redis_client.rpush(queue, "a message still waiting")
    long_passed, recent = a_vote("old", t - GRACE - 1), a_vote("recent", t - GRACE + 1)
    pending((long_passed, t - GRACE - 1), (recent, t - GRACE + 1))
    # Long after T by the clock: a busy queue goes by how far it got, not by the time.
    assert ledger.passed_over(now=t + 50 * GRACE) == [ledger.member(long_passed)]


def test_with_the_queue_idle_every_vote_older_than_the_grace_is_passed_over(
    redis_client, queue, pending
) -> None:
    t = FUTURE
    old, recent = a_vote("old", t - GRACE - 1), a_vote("recent", t - GRACE + 1)
    pending((old, t - GRACE - 1), (recent, t - GRACE + 1))
    # No handled mark at all: an idle queue needs none.
    redis_client.delete(ledger.HANDLED_UPTO_KEY)
    assert ledger.passed_over(now=t) == [ledger.member(old)]


def test_a_worker_that_handled_votes_moments_ago_keeps_an_empty_queue_busy(
    redis_client, queue, pending
) -> None:
    """Nothing waits in Redis, but a worker handled a batch just now: it may hold many
    more messages it has taken. Only votes the handled mark passed by the grace count,
    not every vote older than the grace by the clock."""
    t = time.time()
    ledger.mark_handled([a_vote("handled", t - 3 * GRACE)])
    in_the_workers_hands = a_vote("held", t - 2 * GRACE - 1)
    long_passed = a_vote("lost", t - 4 * GRACE - 1)
    pending((in_the_workers_hands, t - 2 * GRACE - 1), (long_passed, t - 4 * GRACE - 1))
    assert ledger.queued_messages(redis_client) == 0
    assert ledger.passed_over(now=t) == [ledger.member(long_passed)]
    # Once no worker has handled anything for a grace period, the queue is idle.
    assert set(ledger.passed_over(now=t + 2 * GRACE)) == {
        ledger.member(long_passed),
        ledger.member(in_the_workers_hands),
    }


def test_the_handled_mark_only_moves_forward_whatever_order_batches_finish_in(
    redis_client, queue, pending
) -> None:
    t = FUTURE
    # One batch with votes cast at t-20 and t, then a slower one from before.
    ledger.mark_handled([a_vote("a", t - 20), a_vote("b", t)])
    ledger.mark_handled([a_vote("c", t - 30)])
    redis_client.rpush(queue, "a message still waiting")
    just_passed = a_vote("d", t - GRACE - 1)
    pending((just_passed, t - GRACE - 1))
    # Passed over as seen from t (the newest handled), not from t-20 or t-30.
    assert ledger.passed_over(now=t + 50 * GRACE) == [ledger.member(just_passed)]


def test_a_message_a_worker_holds_unacknowledged_keeps_the_queue_busy(redis_client, queue) -> None:
    redis_client.rpush(queue, "waiting")
    redis_client.hset("unacked", "a-test-delivery-tag", "held")  # not in unacked_index:
    try:  # kombu's restore never looks at it
        assert ledger.queued_messages(redis_client) == 2
    finally:
        redis_client.hdel("unacked", "a-test-delivery-tag")


def test_a_sweep_queues_the_passed_over_votes_again_and_gives_them_a_fresh_place_in_line(
    redis_client, queue, pending
) -> None:
    t = FUTURE
    lost, recent = a_vote("lost", t - GRACE - 1), a_vote("recent", t)
    pending((lost, t - GRACE - 1), (recent, t))
    requeued: list[list[dict[str, Any]]] = []
    assert ledger.sweep(requeued.append, now=t) == 1
    assert requeued == [[lost.to_message()]]
    # Still in the ledger (not stored yet), but as of now: the next sweep leaves it be.
    assert redis_client.zscore(ledger.PENDING_KEY, ledger.member(lost)) == t
    assert ledger.sweep(requeued.append, now=t) == 0
    assert len(requeued) == 1


def test_a_vote_stored_while_the_sweep_requeued_it_is_not_entered_again(
    redis_client, queue, pending
) -> None:
    t = FUTURE
    lost = a_vote("lost", t - GRACE - 1)
    pending((lost, t - GRACE - 1))

    def requeue_and_the_worker_stores_it(messages: list[dict[str, Any]]) -> None:
        ledger.mark_handled([QueuedVote.from_message(m) for m in messages])

    assert ledger.sweep(requeue_and_the_worker_stores_it, now=t) == 1
    assert not in_ledger(redis_client, lost)


def test_without_a_clock_given_the_ledger_goes_by_the_time_now(
    redis_client, queue, pending, monkeypatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: FUTURE)  # "now", for this test
    old, recent = a_vote("old", FUTURE - GRACE - 1), a_vote("recent", FUTURE - GRACE + 1)
    pending((old, FUTURE - GRACE - 1), (recent, FUTURE - GRACE + 1))
    redis_client.delete(ledger.HANDLED_UPTO_KEY)
    assert ledger.passed_over() == [ledger.member(old)]
    assert ledger.sweep(lambda messages: None) == 1
    assert redis_client.zscore(ledger.PENDING_KEY, ledger.member(old)) == FUTURE


# --- The consumer: what a viewer is sent, and in which order -----------------------------

CONSUMER_TIMEOUT = 15  # generous: only a broken consumer waits this long
NOTHING_MORE = 1.0  # how long "nothing more arrives" is watched for


def run_async(test: Callable[P, Awaitable[None]]) -> Callable[P, None]:
    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        async_to_sync(test)(*args, **kwargs)

    return run


def viewer(slug: str, *, voter: str | None = None) -> WebsocketCommunicator:
    """A results page's socket to the results role's application, with a voter's cookie."""
    headers = [(b"origin", b"http://127.0.0.1:8000")]
    if voter is not None:
        cookie = f"{settings.VOTER_COOKIE_NAME}={signed_voter_cookie(voter)}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, f"/ws/polls/{slug}/", headers=headers)


async def received(ws: WebsocketCommunicator) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.receive_from(timeout=CONSUMER_TIMEOUT))
    return message


@sync_to_async
def vote(poll: Poll, label: str, voter: str | None = None) -> dict[str, Any]:
    """A vote stored as the worker stores it; returns the poll's snapshot after it."""
    choice = Choice.objects.get(poll=poll, label=label)
    voter_key = f"anon:{voter or uuid.uuid4().hex}"
    record_votes([QueuedVote(uuid.uuid4(), poll.pk, choice.pk, voter_key, timezone.now())])
    return poll_results(poll=poll)


async def send_event(poll: Poll, event: dict[str, Any]) -> None:
    await get_channel_layer().group_send(events.group_name(poll.pk), event)


def changed(poll: Poll, snapshot: dict[str, Any], **rules: Any) -> dict[str, Any]:
    """The poll.changed event of `poll` edited to `rules` (not saved)."""
    edited = Poll.objects.get(pk=poll.pk)
    for name, value in rules.items():
        setattr(edited, name, value)
    return events.poll_changed(edited, snapshot)


@pytest.fixture
def live_poll(make_poll: Callable[..., Poll], monkeypatch: pytest.MonkeyPatch) -> Poll:
    """A poll of its own slug; commits push nothing by themselves (the test sends events)."""
    monkeypatch.setattr(publisher, "polls_changed", lambda poll_ids: None)
    return make_poll(slug=f"live-{uuid.uuid4().hex[:8]}", labels=("Cats", "Dogs"))


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_sync_request_exactly_as_long_as_the_limit_is_answered(live_poll) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    await received(ws)
    request = json.dumps({"type": "sync", "pad": ""})
    request = json.dumps({"type": "sync", "pad": "x" * (MAX_CLIENT_MESSAGE - len(request))})
    assert len(request) == MAX_CLIENT_MESSAGE
    await ws.send_to(text_data=request)
    assert (await received(ws))["poll"] == live_poll.slug
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_viewer_the_poll_no_longer_admits_is_closed_with_4403_and_sent_nothing_more(
    live_poll,
) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    first = await received(ws)
    hidden = await sync_to_async(changed)(
        live_poll, first, results_visibility=Poll.ResultsVisibility.HIDDEN
    )
    await send_event(live_poll, hidden)
    closed = await ws.receive_output(timeout=CONSUMER_TIMEOUT)
    assert closed == {"type": "websocket.close", "code": 4403}
    # Whatever follows before the socket is gone: newer tallies, the poll shown again.
    newer = await vote(live_poll, "Cats")
    await send_event(live_poll, events.results_update(newer))
    await send_event(live_poll, await sync_to_async(changed)(live_poll, newer))
    assert await ws.receive_nothing(timeout=NOTHING_MORE)
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_after_a_poll_change_a_viewer_gets_only_newer_tallies(live_poll) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    await received(ws)
    older = await vote(live_poll, "Cats")
    edited = await vote(live_poll, "Dogs")
    await send_event(live_poll, await sync_to_async(changed)(live_poll, edited))
    assert await received(ws) == edited
    newer = await vote(live_poll, "Dogs")
    for event in (events.results_update(older), events.results_update(newer)):
        await send_event(live_poll, event)
    assert await received(ws) == newer  # the older tallies never showed
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_voter_keeps_watching_when_the_poll_starts_showing_results_only_to_voters(
    live_poll,
) -> None:
    await vote(live_poll, "Cats", voter="has-voted")
    voted, not_voted = viewer(live_poll.slug, voter="has-voted"), viewer(live_poll.slug)
    for ws in (voted, not_voted):
        await ws.connect(timeout=CONSUMER_TIMEOUT)
        snapshot = await received(ws)
    after_vote = await sync_to_async(changed)(
        live_poll, snapshot, results_visibility=Poll.ResultsVisibility.AFTER_VOTE
    )
    await send_event(live_poll, after_vote)
    assert await received(voted) == json.loads(after_vote["text"])
    closed = await not_voted.receive_output(timeout=CONSUMER_TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)
    for ws in (voted, not_voted):
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_tallies_a_viewer_already_has_are_not_sent_again(live_poll) -> None:
    await vote(live_poll, "Cats")
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    current = await received(ws)
    newer = await vote(live_poll, "Dogs")
    # Each handed out by the hub in a round of its own: the hub has nothing to coalesce,
    # so only the consumer can hold the copy back.
    async with HubProbe(live_poll) as hub:
        for snapshot in (current, newer):
            await send_event(live_poll, events.results_update(snapshot))
            await hub.handed_out(snapshot["seq"])
    assert await received(ws) == newer  # the copy of what it had never showed
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_sync_request_answers_with_the_poll_as_it_is_now(live_poll) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    assert (await received(ws))["status"] == "open"
    # Closed without a live event (a bulk update sends none): only a fresh read shows it.
    closing = Poll.objects.filter(pk=live_poll.pk)
    await sync_to_async(closing.update)(status=Poll.Status.CLOSED, closes_at=timezone.now())
    await ws.send_to(text_data=json.dumps({"type": "sync"}))
    assert (await received(ws))["status"] == "closed"
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_a_sync_for_a_poll_deleted_while_watched_closes_the_socket_with_4404(
    live_poll,
) -> None:
    ws = viewer(live_poll.slug)
    await ws.connect(timeout=CONSUMER_TIMEOUT)
    await received(ws)
    await sync_to_async(Poll.objects.filter(pk=live_poll.pk).delete)()
    await ws.send_to(text_data=json.dumps({"type": "sync"}))
    closed = await ws.receive_output(timeout=CONSUMER_TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4404)
    await ws.disconnect()


# --- Admission: a live session's gates and its own rate --------------------------------

SESSION_POLL = 900_001  # no real poll of the run has this id: its gate is these tests' own


@pytest.fixture
def session_holds(redis_client: Any, own_queue: str) -> Iterator[Callable[[str], float]]:
    """Set Redis's copy of SESSION_POLL's state, open and in no session until a test says
    otherwise (removed afterwards, with the counters)."""
    versions = iter(range(1, 100))
    hold = lambda state: gates.write({SESSION_POLL: gates.Gate(next(versions), state)})  # noqa: E731
    hold(gates.OPEN)
    yield hold
    redis_client.delete(gates.key(SESSION_POLL))
    redis_client.delete(*redis_client.keys("rl:*") or ["rl:none"])  # as test_admission does


def session_vote(voter: str) -> QueuedVote:
    return QueuedVote(uuid.uuid4(), SESSION_POLL, 2, f"anon:{voter}", timezone.now())


def admitted(voter: str, limit: ratelimits.Limit, times: int) -> list[int]:
    """Admit `times` votes of one voter, each in a round trip of its own."""
    return [
        admission.admit_and_queue([admission.Entry(session_vote(voter), [limit])])[0]
        for _ in range(times)
    ]


@pytest.mark.parametrize(
    ("state", "code"),
    [(gates.LOCKED, admission.REFUSED_LOCKED), (gates.WAITING, admission.REFUSED_NOT_CURRENT)],
)
def test_a_vote_on_a_poll_its_live_session_holds_closed_is_refused_writing_nothing(
    redis_client, own_queue, session_holds, state, code
) -> None:
    session_holds(state)
    vote = session_vote(f"session-{uuid.uuid4().hex}")
    assert admission.admit_and_queue([admission.Entry(vote, [])]) == [code]
    assert redis_client.llen(own_queue) == 0
    assert redis_client.zscore(ledger.PENDING_KEY, ledger.member(vote)) is None


def test_while_a_live_session_holds_the_poll_a_limit_without_a_session_rate_still_counts(
    session_holds,
) -> None:
    session_holds(gates.SESSION_OPEN)
    limit = ratelimits.Limit("voter", f"anon:session-{uuid.uuid4().hex}", "1/h")
    first, second = admitted(limit.value.removeprefix("anon:"), limit, 2)
    assert first == 0
    assert second > 0


@pytest.mark.parametrize(
    ("rate", "in_session", "allowed"),
    [
        # Day-long windows: a test never straddles two.
        ("1/d", "2/d", 2),
        ("5/d", "1/2d", 1),  # less than one a window still lets one through
    ],
)
def test_a_session_rate_is_counted_in_the_windows_of_the_usual_rate(
    session_holds, rate, in_session, allowed
) -> None:
    session_holds(gates.SESSION_OPEN)
    voter = f"session-{uuid.uuid4().hex}"
    limit = ratelimits.Limit("voter", f"anon:{voter}", rate, in_session=in_session)
    codes = admitted(voter, limit, allowed + 1)
    assert codes[:allowed] == [0] * allowed
    assert codes[allowed] > 0  # waits for the window's end


def test_a_voter_over_the_limit_is_told_to_wait_until_the_window_ends(session_holds) -> None:
    voter = f"session-{uuid.uuid4().hex}"
    limit = ratelimits.Limit("voter", f"anon:{voter}", "1/h")
    _, wait = admitted(voter, limit, 2)
    now = int(time.time())
    window_end = (now // 3600 + 1) * 3600  # fixed windows: on the hour
    assert wait >= window_end - now
    assert wait <= window_end - now + 2


# --- The worker's rules: a change to a stored vote where changes are not allowed --------


@pytest.mark.django_db(transaction=True)
def test_on_a_no_change_poll_changes_to_stored_votes_are_refused_each_counted_and_named(
    make_poll,
) -> None:
    poll = make_poll(allow_vote_change=False, labels=("Cats", "Dogs"))
    cats, dogs = poll.choices.all()
    first = [
        QueuedVote(uuid.uuid4(), poll.pk, cats.pk, f"anon:{v}", timezone.now()) for v in ("a", "b")
    ]
    record_votes(first)
    changes = [
        QueuedVote(uuid.uuid4(), poll.pk, dogs.pk, f"anon:{v}", timezone.now()) for v in ("a", "b")
    ]
    again = QueuedVote(uuid.uuid4(), poll.pk, cats.pk, "anon:a", timezone.now())
    outcome = record_votes([*changes, again])  # the same ballot again is no change
    assert outcome.rejected == {"vote change not allowed": 2}
    assert outcome.refused == {str(v.vote_id): "vote change not allowed" for v in changes}
    assert {t.choice.label: t.votes for t in Tally.objects.filter(choice__poll=poll)} == {
        "Cats": 2,
        "Dogs": 0,
    }
