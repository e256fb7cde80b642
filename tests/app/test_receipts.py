"""Receipts, as rules: every admitted ballot gets one (the 202, the form's page, the vote
message); the worker records each receipt's fate (counted; replaced by a later ballot of
the same voter, also when the older one arrives after the newer; refused with why), once
per vote id; the board lists counted receipts (with ballots only on a public-ballot poll)
and its count equals the totals; the check says counted, replaced, refused or not found,
and refuses a client that keeps missing (429)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from polls.counting import chain as chain_codes
from polls.counting import receipts as codes
from polls.models import ChainBatch, Poll, UncountedReceipt, Vote
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from polls.receipts import check
from polls.voters import signed_voter_cookie
from tests.support.votes import receipted_ballot

pytestmark = pytest.mark.django_db

T0 = timezone.now()


def voter(name: str) -> Client:
    client = Client()
    client.cookies[settings.VOTER_COOKIE_NAME] = signed_voter_cookie(name)
    return client


def queued(redis_client: Any, queue: str) -> list[dict[str, Any]]:
    """The vote messages waiting on the test's own queue, oldest first."""
    votes = []
    for raw in reversed(redis_client.lrange(queue, 0, -1)):
        envelope = json.loads(raw)
        body = envelope["body"]
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        votes += json.loads(body)[0][0]
    return votes


def ballot(poll: Poll, voter_key: str, label: str, seconds: int, **fields: Any) -> QueuedVote:
    """A ballot with its receipt, cast `seconds` after T0, as the web side would queue it."""
    return receipted_ballot(poll, voter_key, label, T0 + timedelta(seconds=seconds), **fields)


def fate(poll: Poll, vote: QueuedVote) -> str:
    answer = check(poll=poll, code=vote.receipt)
    return answer.status + (f" ({answer.reason})" if answer.reason else "")


# --- The worker records each receipt's fate ---------------------------------------------

# Each case: the batches the worker stores (a name per ballot: voter, choice, seconds after
# T0), and each ballot's fate after them.
CASES = {
    "a first ballot": ([["a1"]], {"a1": "counted"}),
    "a change, later batch": ([["a1"], ["a2"]], {"a1": "replaced", "a2": "counted"}),
    "a change, one batch": ([["a1", "a2"]], {"a1": "replaced", "a2": "counted"}),
    "older after newer": ([["a2"], ["a1"]], {"a1": "replaced", "a2": "counted"}),
    "older after newer, one batch": ([["a2", "a1"]], {"a1": "replaced", "a2": "counted"}),
    "redelivered": ([["a1", "a2"], ["a1", "a2"], ["a2"]], {"a1": "replaced", "a2": "counted"}),
    "the same choice again": ([["a1"], ["a3"]], {"a1": "replaced", "a3": "counted"}),
    "two voters": ([["a1", "b1"], ["a2"]], {"a1": "replaced", "a2": "counted", "b1": "counted"}),
}
# name -> (voter, choice, seconds)
BALLOTS = {
    "a1": ("anon:a", "Cats", 1),
    "a2": ("anon:a", "Dogs", 2),
    "a3": ("anon:a", "Cats", 3),
    "b1": ("anon:b", "Dogs", 1),
}


@pytest.mark.parametrize("case", CASES)
def test_each_receipt_reads_counted_or_replaced_whatever_the_order_and_redelivery(
    case: str, make_poll: Callable[..., Poll]
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    made = {name: ballot(poll, *spec) for name, spec in BALLOTS.items()}
    batches, expected = CASES[case]
    for batch in batches:
        record_votes([made[name] for name in batch])
    assert {name: fate(poll, made[name]) for name in expected} == expected
    counted = [name for name, f in expected.items() if f == "counted"]
    assert sorted(Vote.objects.filter(poll=poll).values_list("receipt", flat=True)) == sorted(
        made[n].receipt for n in counted
    )
    # Once per vote id: redelivery adds no row.
    assert UncountedReceipt.objects.filter(poll=poll).count() == len(expected) - len(counted)


REFUSALS = {
    "login required": (
        {"login_required": True},
        "the poll takes votes from logged-in voters only",
    ),
    "change not allowed": (
        {"allow_vote_change": False},
        "the poll does not allow changing a vote, and your first ballot said something else",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_ballots_receipt_reads_refused_with_why(
    case: str, make_poll: Callable[..., Poll]
) -> None:
    fields, reason = REFUSALS[case]
    poll = make_poll(labels=("Cats", "Dogs"), **fields)
    first, second = ballot(poll, "anon:a", "Cats", 1), ballot(poll, "anon:a", "Dogs", 2)
    record_votes([first])
    record_votes([second])
    record_votes([second])  # redelivered
    assert fate(poll, second) == f"refused ({reason})"
    assert UncountedReceipt.objects.filter(vote_id=second.vote_id).count() == 1


def test_a_choice_removed_before_its_ballot_was_stored_reads_refused(
    make_poll: Callable[..., Poll],
) -> None:
    poll = make_poll(labels=("Cats", "Dogs", "Fish"))
    vote = ballot(poll, "anon:a", "Fish", 1)
    poll.choices.get(label="Fish").delete()
    record_votes([vote])
    assert fate(poll, vote) == "refused (its choice was removed from the poll before it was stored)"


def test_a_vote_queued_before_receipts_is_stored_without_one(
    make_poll: Callable[..., Poll],
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    old = QueuedVote(uuid.uuid4(), poll.pk, poll.choices.get(label="Cats").pk, "anon:a", T0)
    newer = ballot(poll, "anon:a", "Dogs", 5)
    record_votes([old])
    assert Vote.objects.get(poll=poll).receipt == ""
    record_votes([newer])  # replacing a vote without a receipt records nothing for it
    assert fate(poll, newer) == "counted"
    assert not UncountedReceipt.objects.filter(poll=poll).exists()


# --- The web side: a receipt with every 202 -----------------------------------------------


@pytest.mark.usefixtures("own_queue")
def test_the_202_carries_the_receipt_the_message_carries_and_it_recomputes(
    make_poll: Callable[..., Poll], redis_client: Any, own_queue: str
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    client = voter("api")
    client.get(f"/api/polls/{poll.slug}")
    choice = poll.choices.get(label="Dogs").pk
    answer = client.post(
        f"/api/polls/{poll.slug}/vote",
        json.dumps({"choice": choice}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert answer.status_code == 202
    receipt = answer.json()["receipt"]
    assert codes.parsed(receipt) is not None
    assert receipt[5] == "-"
    (message,) = queued(redis_client, own_queue)
    assert codes.grouped(message["receipt"]) == receipt
    assert message["receipt"] == codes.receipt_for(
        poll.pk, message["vote_id"], f"[{choice}]", message["nonce"]
    )
    # The voter alone gets the vote's nonce, their seal key (it opens the chain's commitment).
    assert answer.json()["seal_key"] == message["nonce"]


@pytest.mark.usefixtures("own_queue")
def test_without_javascript_the_page_after_the_vote_shows_the_receipt_then_from_the_stored_vote(
    make_poll: Callable[..., Poll], redis_client: Any, own_queue: str
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    client = voter("form")
    page = client.post(
        f"/polls/{poll.slug}/vote/", {"choice": poll.choices.get(label="Cats").pk}, follow=True
    ).content.decode()
    (message,) = queued(redis_client, own_queue)
    shown = codes.grouped(message["receipt"])
    assert f'Your receipt: <code class="receipt-code">{shown}</code>' in page
    assert f'href="/polls/{poll.slug}/receipt/?code={shown}"' in page
    key = f'<code class="seal-key-code">{message["nonce"]}</code>'
    assert key in page
    # Stored: the page reads it from the vote, whatever the cookie says.
    record_votes([QueuedVote.from_message(message)])
    redis_client.delete(f"ballot:{poll.pk}:anon:form")
    del client.cookies["receipt"]
    stored_page = client.get(f"/polls/{poll.slug}/").content.decode()
    assert shown in stored_page
    assert key in stored_page
    # The seal key opens the commitment the sealed chain holds for this secret ballot.
    (event,) = [e for b in ChainBatch.objects.filter(poll=poll) for e in b.events
                if e.get("receipt") == message["receipt"]]  # fmt: skip
    cast = list(QueuedVote.from_message(message).ballot)
    assert event["commitment"] == chain_codes.commitment(message["nonce"], cast)
    # Another voter sees no receipt and no key.
    other = voter("other").get(f"/polls/{poll.slug}/").content.decode()
    assert "Your receipt" not in other
    assert "seal-key-code" not in other


# --- The board and the check --------------------------------------------------------------


def store_some(poll: Poll, n: int) -> list[QueuedVote]:
    votes = [ballot(poll, f"anon:v{i}", ("Cats", "Dogs")[i % 2], i) for i in range(n)]
    record_votes(votes)
    return votes


@pytest.mark.parametrize("secrecy", ["public", "secret"])
def test_the_board_lists_every_counted_receipt_with_its_ballot_only_when_ballots_are_public(
    secrecy: str, make_poll: Callable[..., Poll]
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), ballot_secrecy=secrecy)
    votes = store_some(poll, 7)
    replaced = ballot(poll, "anon:v0", "Cats", -5)  # older than v0's: replaced
    record_votes([replaced])
    client = Client()
    seen, after = [], ""
    while True:  # pages of 3
        page = client.get(f"/api/polls/{poll.slug}/board", {"after": after, "limit": "3"}).json()
        seen += page["receipts"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert page["total"] == len(seen) == 7
    assert sorted(r["receipt"] for r in seen) == sorted(codes.grouped(v.receipt) for v in votes)
    if secrecy == "public":
        ballots = {r["receipt"]: r["ballot"] for r in seen}
        assert all(
            ballots[codes.grouped(v.receipt)] == ("Cats", "Dogs")[i % 2]
            for i, v in enumerate(votes)
        )
    else:
        assert all(set(r) == {"receipt"} for r in seen)
    html = client.get(f"/polls/{poll.slug}/board/").content.decode()
    assert codes.grouped(votes[3].receipt) in html
    assert codes.grouped(replaced.receipt) not in html
    assert ('<th scope="col">Ballot</th>' in html) == (secrecy == "public")


def test_the_board_is_shown_only_when_the_results_are(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), results_visibility="after_close")
    store_some(poll, 2)
    assert Client().get(f"/api/polls/{poll.slug}/board").status_code == 403
    page = Client().get(f"/polls/{poll.slug}/board/")
    assert page.status_code == 403
    assert "once it has closed" in page.content.decode()
    poll.status = Poll.Status.CLOSED
    poll.save()  # stamps the close
    assert Client().get(f"/api/polls/{poll.slug}/board").json()["total"] == 2


def test_a_bad_board_page_is_a_400_with_a_code(make_poll: Callable[..., Poll]) -> None:
    poll = make_poll(labels=("Cats", "Dogs"))
    for query in ({"after": "nope"}, {"limit": 0}, {"limit": 1001}, {"limit": "x"}):
        answer = Client().get(f"/api/polls/{poll.slug}/board", query)
        assert (answer.status_code, answer.json()["code"]) == (400, "invalid_page")


def test_the_check_answers_counted_replaced_refused_and_not_found(
    make_poll: Callable[..., Poll],
) -> None:
    poll = make_poll(labels=("Cats", "Dogs"), allow_vote_change=False)
    first, same, other = (
        ballot(poll, "anon:a", "Cats", 1),
        ballot(poll, "anon:a", "Cats", 2),
        ballot(poll, "anon:a", "Dogs", 3),
    )
    for vote in (first, same, other):
        record_votes([vote])
    client = Client()
    expected = {first: "replaced", same: "counted", other: "refused"}
    for vote, status in expected.items():
        typed = codes.grouped(vote.receipt).lower()  # as a person types it
        answer = client.get(f"/api/polls/{poll.slug}/receipts/{typed}").json()
        assert answer["status"] == status
        assert ("reason" in answer) == (status == "refused")
        html = client.get(f"/polls/{poll.slug}/receipt/", {"code": typed}).content.decode()
        assert f"<code>{codes.grouped(vote.receipt)}</code> —" in html
    missing = client.get(f"/api/polls/{poll.slug}/receipts/ABCDE-FGHJK").json()
    assert missing == {"receipt": "ABCDE-FGHJK", "status": "not_found"}
    bad = client.get(f"/api/polls/{poll.slug}/receipts/nope")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_receipt")


def test_a_client_that_keeps_missing_is_refused_with_429_and_a_found_receipt_never_counts(
    make_poll: Callable[..., Poll], redis_client: Any, settings: Any
) -> None:
    settings.RECEIPT_MISS_RATE_PER_VOTER = "3/10m"
    redis_client.delete(*redis_client.keys("rl:receipt-miss:*") or ["none"])
    poll = make_poll(labels=("Cats", "Dogs"))
    (counted,) = store_some(poll, 1)
    guesser, honest = voter("guesser"), voter("honest")
    for _ in range(5):  # found: never counted
        assert guesser.get(f"/api/polls/{poll.slug}/receipts/{counted.receipt}").status_code == 200
    for n in range(3):
        assert guesser.get(f"/api/polls/{poll.slug}/receipts/ABCDE-FGHJ{n}").status_code == 200
    refused = guesser.get(f"/api/polls/{poll.slug}/receipts/{counted.receipt}")
    assert (refused.status_code, refused.json()["code"]) == (429, "too_many_checks")
    assert int(refused["Retry-After"]) > 0
    page = guesser.get(f"/polls/{poll.slug}/receipt/", {"code": counted.receipt})
    assert page.status_code == 429
    assert "Too many checks" in page.content.decode()
    # Another voter at the same address is not held up by the guesser's misses.
    assert honest.get(f"/api/polls/{poll.slug}/receipts/{counted.receipt}").status_code == 200
    redis_client.delete(*redis_client.keys("rl:receipt-miss:*") or ["none"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_queue")
def test_the_audience_page_shows_the_receipt_after_a_vote_without_javascript(
    make_poll: Callable[..., Poll], redis_client: Any, own_queue: str, django_user_model: Any
) -> None:
    from polls import live_sessions

    poll = make_poll(slug=f"room-{uuid.uuid4().hex[:6]}", labels=("Cats", "Dogs"))
    owner = django_user_model.objects.create_user("presenter", password="pw-12345678")
    session = live_sessions.go_live(
        live_sessions.create_session(title="Talk", owner=owner, polls=[poll])
    )
    back = f"/s/{session.code}/"
    client = voter("phone")
    page = client.post(
        f"/polls/{poll.slug}/vote/",
        {"choice": poll.choices.get(label="Dogs").pk, "next": back},
        follow=True,
    )
    assert page.redirect_chain[-1][0] == back
    (message,) = queued(redis_client, own_queue)
    shown = codes.grouped(message["receipt"])
    assert f'<code class="receipt-code">{shown}</code>' in page.content.decode()
    part = client.get(back, {"part": "poll"}).content.decode()  # what session.js swaps in
    assert shown in part
