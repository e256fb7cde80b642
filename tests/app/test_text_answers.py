"""Text answers (issue 33): the word cloud and the open answer, on the app tier. Their rules
as tables: what the form and the API take and refuse (each refusal a 400 with its code,
the form's in the page's language), the last answer wins, a no-change poll refuses a
second at admission, an entry the profanity filter catches is stored pending and never
shown or counted, the counts kept per term equal a count of the entries (recount), the
snapshot within its budget, the API's pages, exports and clearing, and text never markup."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import uuid
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from polls import kinds, moderation, organising, receipts, snapshots, text_entries
from polls.counting import text as engine
from polls.models import EntryCounter, Poll, PollCounter, PollReset, TextEntry, Vote
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import REJECT_VOTE_CHANGE, RecordOutcome, record_votes
from polls.selectors import poll_results
from polls.voters import voter_key_from_cookie
from tests.support.commands import run
from tests.support.kinds import kind_poll

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def at(seconds: float) -> datetime.datetime:
    return NOW + datetime.timedelta(seconds=seconds)


def cloud(**options: Any) -> Poll:
    return kind_poll("wordcloud", **options)


def answers(**options: Any) -> Poll:
    return kind_poll("openanswer", **options)


def ballot(poll: Poll, voter: str, texts: list[str], *, when: float = 0) -> QueuedVote:
    """A text ballot as the web side queues it: normalised, filtered."""
    checked = kinds.kind_for(poll).normalise(poll, [], texts)
    return QueuedVote(uuid.uuid4(), poll.pk, None, f"anon:{voter}", at(when), checked)


def store(*votes: QueuedVote) -> RecordOutcome:
    return record_votes(list(votes))


def terms(poll: Poll) -> dict[str, int]:
    """The counted terms, by their shown spelling."""
    return {t["text"]: t["count"] for t in text_entries.export_terms(poll.pk)}


def recounted(poll: Poll) -> list[Any]:
    return organising.recount_poll(poll, check=True).differences


# --- What the API and the form take and refuse ----------------------------------------

# A family of four with skin tones: one grapheme of 11 code points.
FAMILY = "\u200d".join(
    f"{person}\U0001f3fb" for person in "\U0001f468\U0001f469\U0001f467\U0001f466"
)
FLAG = "\U0001f1e9\U0001f1ea"  # two code points, one grapheme

# (body, status, code or the stored shown texts)
CLOUD_BODIES = [
    ({"entries": ["Python"]}, 202, ["Python"]),
    ({"entries": ["  Py\u200bthon  ", "", "Rust"]}, 202, ["Python", "Rust"]),  # invisible, blank
    ({"entries": ["\uff43\uff41\uff54\uff53", "CATS"]}, 202, ["cats"]),  # NFKC; a key once
    ({"entries": ["new\n\tline"]}, 202, ["new line"]),
    ({"entries": [FLAG * 25]}, 202, [FLAG * 25]),  # 25 graphemes of 2 code points
    ({"entries": [FAMILY * 9]}, 202, [FAMILY * 9]),  # 99 code points: under the cap
    ({"entries": [FLAG * 26]}, 400, "entry_too_long"),
    ({"entries": ["x" * 26]}, 400, "entry_too_long"),
    ({"entries": [FAMILY * 10]}, 400, "entry_too_many_code_points"),
    ({"entries": ["e" + "\u0301" * 120]}, 400, "entry_too_many_code_points"),  # "Zalgo"
    ({"entries": [" " * 900 + "x"]}, 400, "entry_too_many_code_points"),  # 8x the cap sent
    ({"entries": ["\u200b\u202e", " "]}, 400, "entry_empty"),
    ({"entries": []}, 400, "entry_empty"),
    ({"entries": ["a", "b", "c", "d"]}, 400, "too_many_entries"),
    ({"entries": [1]}, 400, "invalid_ballot"),
    ({"entries": "Python"}, 400, "invalid_ballot"),
    ({"answer": "Python"}, 400, "invalid_ballot"),
    ({"entries": ["Python"], "choices": []}, 400, "invalid_ballot"),  # one field, no other
]

ANSWER_BODIES = [
    ({"answer": "Yes, more of this!"}, 202, ["Yes, more of this!"]),
    ({"answer": "  two\n\nparagraphs  "}, 202, ["two paragraphs"]),
    ({"answer": "x" * 280}, 202, ["x" * 280]),
    ({"answer": "x" * 281}, 400, "entry_too_long"),
    ({"answer": "\u2800\u3164"}, 400, "entry_empty"),  # blank-looking letters
    ({"answer": ["x"]}, 400, "invalid_ballot"),
    ({"answer": 12}, 400, "invalid_ballot"),
    ({"entries": ["x"]}, 400, "invalid_ballot"),
    ({"answer": "\U00088103", "choices": []}, 400, "invalid_ballot"),  # the fuzzer's find
]


def vote_api(poll: Poll, body: dict[str, Any], client: Client | None = None) -> Any:
    client = client or Client()
    return client.post(f"/api/polls/{poll.slug}/vote", body, content_type="application/json")


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
@pytest.mark.parametrize(
    ("make", "body", "status", "expected"),
    [(cloud, *case) for case in CLOUD_BODIES] + [(answers, *case) for case in ANSWER_BODIES],
)
def test_the_api_takes_normalised_entries_and_refuses_each_problem_with_its_code(
    make, body, status, expected
) -> None:
    poll = make()
    answer = vote_api(poll, body)
    assert answer.status_code == status, answer.content
    if status == 400:
        assert answer.json()["code"] == expected
        return
    # What was queued: the entries as normalised (the key case-folded), never a raw text.
    queued = kinds.kind_for(poll).normalise(poll, [], kinds.kind_for(poll).from_api(body))
    assert [entry["text"] for entry in queued] == expected
    assert all(entry["key"] == engine.key_of(entry["text"]) for entry in queued)


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Entry 2 is 26 characters long: at most 25 characters."),
        ("de", "Eintrag 2 ist 26 Zeichen lang: höchstens 25 Zeichen."),
        ("fr", "L\u2019entrée 2 fait 26 caractères : 25 caractères au plus."),
        ("es", "La entrada 2 tiene 26 caracteres: como mucho 25 caracteres."),
    ],
)
def test_the_form_refuses_in_the_pages_language_and_keeps_what_was_typed(
    language: str, message: str
) -> None:
    poll = cloud()
    page = Client().post(
        f"/polls/{poll.slug}/vote/",
        {"entry": ["Python", "y" * 26, ""]},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert f'<p class="error" role="alert">{message}</p>' in html
    assert 'value="Python"' in html  # what the voter typed stays in the form
    assert 'value="' + "y" * 26 + '"' in html


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_a_form_post_is_queued_and_the_page_shows_it_being_stored() -> None:
    poll = cloud()
    client = Client()
    posted = client.post(f"/polls/{poll.slug}/vote/", {"entry": ["Python", "", "Django"]})
    assert posted.status_code == 303
    page = client.get(f"/polls/{poll.slug}/").content.decode()
    assert "Your vote is being stored" in page
    assert 'value="Python"' in page
    assert 'value="Django"' in page
    assert "Your words: Python, Django" in page


@pytest.mark.parametrize(
    ("kind", "options", "problem"),
    [
        ("wordcloud", {"max_entries": 0}, "max_entries"),
        ("wordcloud", {"max_entries": 6}, "max_entries"),
        ("wordcloud", {"entry_length": 51}, "entry_length"),
        ("openanswer", {"answer_length": 0}, "answer_length"),
        ("openanswer", {"answer_length": 501}, "answer_length"),
    ],
)
def test_the_kinds_options_are_checked_where_they_are_set(kind, options, problem) -> None:
    assert problem in kinds.KINDS[kind].option_problems(options)
    with pytest.raises(organising.PollSetupError, match=problem):
        organising.create_poll(slug="bad", question="?", labels=[], kind=kind, **options)


def test_a_text_poll_takes_no_choices() -> None:
    with pytest.raises(organising.PollSetupError, match="give no choices"):
        organising.create_poll(slug="bad", question="?", labels=["A", "B"], kind="wordcloud")


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_the_organisers_limits_apply() -> None:
    poll = cloud(max_entries=1, entry_length=5)
    assert vote_api(poll, {"entries": ["a", "b"]}).json()["code"] == "too_many_entries"
    assert vote_api(poll, {"entries": ["sixsix"]}).json()["code"] == "entry_too_long"
    assert vote_api(poll, {"entries": ["five5"]}).status_code == 202
    info = Client().get(f"/api/polls/{poll.slug}").json()
    assert (info["max_entries"], info["max_length"]) == (1, 5)


# --- The worker: last answer wins, duplicates change nothing, counts exact ----------------


def test_the_last_answer_wins_whatever_the_order_and_replaced_entries_subtract() -> None:
    poll = cloud()
    first = ballot(poll, "ann", ["Python", "Rust"], when=1)
    second = ballot(poll, "ann", ["python", "Go"], when=2)
    store(second)
    store(first)  # older, arriving later: ignored
    store(second)  # delivered again: nothing changes
    assert terms(poll) == {"python": 1, "Go": 1}
    store(ballot(poll, "bob", ["Python"], when=3))
    counts = {t["key"]: t["count"] for t in text_entries.export_terms(poll.pk)}
    assert counts == {"python": 2, "go": 1}
    assert PollCounter.objects.get(poll=poll).total == 2
    assert text_entries.totals(poll.pk) == text_entries.Totals(entries=3, distinct=2)
    assert recounted(poll) == []


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        # (voter, texts, when) in the order they arrive; the counts by key after them
        ([("a", ["x"], 1), ("a", ["y"], 2)], {"y": 1}),
        ([("a", ["y"], 2), ("a", ["x"], 1)], {"y": 1}),
        ([("a", ["x", "y"], 1), ("a", ["y", "x"], 2)], {"x": 1, "y": 1}),
        ([("a", ["x"], 1), ("b", ["X"], 1), ("c", ["x!"], 1)], {"x": 2, "x!": 1}),
        ([("a", ["x"], 1), ("a", ["x"], 2)], {"x": 1}),  # the same again: unchanged
        ([("a", ["Straße"], 1), ("b", ["STRASSE"], 1)], {"strasse": 2}),
    ],
)
def test_stored_counts_follow_each_voters_last_ballot(stream, expected) -> None:
    poll = cloud()
    for voter, texts, when in stream:
        store(ballot(poll, voter, texts, when=when))
    counts = {t["key"]: t["count"] for t in text_entries.export_terms(poll.pk)}
    assert counts == expected
    assert recounted(poll) == []


def test_a_term_shows_its_most_given_spelling_as_the_entries_change() -> None:
    poll = cloud()
    store(ballot(poll, "a", ["python"]), ballot(poll, "b", ["Python"]))
    assert terms(poll) == {"Python": 2}  # a tie: the first in code point order
    store(ballot(poll, "c", ["python"]))
    assert terms(poll) == {"python": 3}
    store(ballot(poll, "a", ["PYTHON"], when=5), ballot(poll, "c", ["Python"], when=5))
    assert terms(poll) == {"Python": 3}
    assert recounted(poll) == []
    text_entries.TermCount.objects.filter(poll=poll).update(shown="PYTHON")
    assert [(d.label, d.stored, d.counted) for d in recounted(poll)] == [
        ("term 'python' shown as", "PYTHON", "Python")
    ]


def newest_by_card(poll: Poll) -> dict[str, int]:
    return {c["text"]: c["newest"] for c in text_entries.cards_part(poll.pk)["cards"]}


def newest_entries(poll: Poll) -> dict[str, int]:
    """Each key's newest shown entry, read from the entries themselves."""
    found: dict[str, int] = {}
    for entry in TextEntry.objects.filter(poll=poll, state="shown").order_by("id"):
        found[entry.key] = entry.pk
    return found


def test_a_cards_newest_entry_follows_the_entries_as_they_come_go_and_are_hidden() -> None:
    poll = answers()
    store(ballot(poll, "a", ["Good talk"]), ballot(poll, "b", ["More demos"], when=1))
    store(ballot(poll, "c", ["good talk"], when=2))
    assert newest_by_card(poll) == {
        "Good talk": newest_entries(poll)["good talk"],
        "More demos": newest_entries(poll)["more demos"],
    }
    first, last = TextEntry.objects.filter(poll=poll, key="good talk").order_by("id")
    assert newest_by_card(poll)["Good talk"] == last.pk
    store(ballot(poll, "c", ["Too long"], when=3))  # the newest "good talk" goes
    assert newest_by_card(poll)["Good talk"] == first.pk
    moderation.apply(poll, moderation.HIDE, moderation.Target(moderation.ENTRY, first.pk))
    assert "Good talk" not in newest_by_card(poll)
    moderation.apply(poll, moderation.RESTORE, moderation.Target(moderation.ENTRY, first.pk))
    assert newest_by_card(poll)["Good talk"] == first.pk
    assert recounted(poll) == []


def test_recount_finds_and_mends_a_terms_newest_entry() -> None:
    poll = answers()
    store(ballot(poll, "a", ["Good talk"]), ballot(poll, "b", ["good talk"], when=1))
    text_entries.TermCount.objects.filter(poll=poll).update(newest=1)
    newest = newest_entries(poll)["good talk"]
    assert [(d.label, d.stored, d.counted) for d in recounted(poll)] == [
        ("term 'good talk' newest", 1, newest)
    ]
    organising.recount_poll(poll)
    assert recounted(poll) == []
    assert newest_by_card(poll) == {"Good talk": newest}


def test_one_batch_with_two_ballots_of_a_voter_keeps_the_last() -> None:
    poll = answers()
    outcome = store(
        ballot(poll, "ann", ["first"], when=1),
        ballot(poll, "ann", ["second"], when=2),
        ballot(poll, "bob", ["second"], when=1),
    )
    assert outcome.created == 2
    assert terms(poll) == {"second": 2}
    assert TextEntry.objects.filter(poll=poll).count() == 2
    assert recounted(poll) == []


@pytest.mark.django_db(transaction=True)
def test_a_first_ballot_another_worker_stored_meanwhile_is_replaced_never_lost_or_doubled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from django.db import connections

    poll = cloud()
    earlier = ballot(poll, "ann", ["Python"], when=1)
    later = ballot(poll, "ann", ["Rust"], when=2)
    insert = Vote.objects.insert_rows
    raced: list[bool] = []

    def other_worker() -> None:
        try:
            record_votes([earlier])
        finally:
            connections.close_all()

    def another_worker_first(columns: Any, rows: Any) -> None:
        # Just before this batch inserts ann's first row, another worker stores and commits it.
        if not raced:
            raced.append(True)
            other = threading.Thread(target=other_worker)
            other.start()
            other.join(30)
        insert(columns, rows)

    monkeypatch.setattr(Vote.objects, "insert_rows", another_worker_first)
    outcome = store(later)
    assert raced
    assert (outcome.created, outcome.changed) == (0, 1)
    assert terms(poll) == {"Rust": 1}
    assert str(Vote.objects.get(poll=poll).vote_id) == str(later.vote_id)
    assert recounted(poll) == []


def test_the_same_ballot_again_changes_nothing_but_its_time() -> None:
    poll = cloud()
    store(ballot(poll, "ann", ["Python"], when=1))
    entry = TextEntry.objects.get(poll=poll)
    again = ballot(poll, "ann", ["Python"], when=2)
    outcome = store(again)
    assert (outcome.unchanged, outcome.changed) == (1, 0)
    assert TextEntry.objects.get(poll=poll).pk == entry.pk
    assert str(Vote.objects.get(poll=poll).vote_id) == str(again.vote_id)


def test_a_no_change_poll_refuses_a_different_second_ballot_in_the_worker_too() -> None:
    poll = cloud(allow_vote_change=False)
    store(ballot(poll, "ann", ["Python"], when=1))
    outcome = store(ballot(poll, "ann", ["Rust"], when=2))
    assert outcome.rejected[REJECT_VOTE_CHANGE] == 1
    assert terms(poll) == {"Python": 1}
    assert store(ballot(poll, "ann", ["Python"], when=3)).unchanged == 1


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_a_no_change_poll_refuses_a_second_different_answer_at_admission() -> None:
    poll = answers(allow_vote_change=False)
    client = Client()
    assert vote_api(poll, {"answer": "Yes"}, client).status_code == 202
    again = vote_api(poll, {"answer": "No"}, client)  # still pending: the script refuses
    assert again.status_code == 409
    assert again.json()["code"] == "vote_change_not_allowed"
    assert vote_api(poll, {"answer": "  Yes "}, client).status_code == 202  # the same one


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_a_no_change_poll_refuses_at_admission_once_stored() -> None:
    poll = cloud(allow_vote_change=False)
    client = Client()
    client.get(f"/api/polls/{poll.slug}")  # the voter cookie
    key = voter_key_from_cookie(signed_cookie=client.cookies["voter"].value, user_id=None)
    assert key is not None
    checked = kinds.kind_for(poll).normalise(poll, [], ["Python"])
    record_votes([QueuedVote(uuid.uuid4(), poll.pk, None, key, at(-5), checked)])
    refused = vote_api(poll, {"entries": ["Rust"]}, client)
    assert refused.status_code == 409, refused.content
    assert vote_api(poll, {"entries": ["python"]}, client).status_code == 409  # another spelling
    assert vote_api(poll, {"entries": ["Python"]}, client).status_code == 202


# --- The profanity filter: held, never shown, never counted ---------------------------


@pytest.mark.parametrize(
    ("texts", "held"),
    [
        (["Python", "shit"], [False, True]),
        (["so ein Arschloch"], [True]),
        (["Bitte schön"], [False]),  # German "please": let through
        (["s.h.i.t"], [True]),
    ],
)
def test_an_entry_the_filter_catches_is_stored_pending_and_never_counted(texts, held) -> None:
    poll = cloud()
    queued = ballot(poll, "ann", texts)
    assert [bool(entry.get("held")) for entry in queued.ballot] == held
    store(queued)
    states = list(
        TextEntry.objects.filter(poll=poll).order_by("position").values_list("state", "flagged")
    )
    assert states == [("pending" if h else "shown", h) for h in held]
    shown = [t for t, h in zip(texts, held, strict=True) if not h]
    snapshot = poll_results(poll=poll)
    assert [t["text"] for t in snapshot["terms"]] == sorted(shown, key=str.casefold)
    assert snapshot["entries"] == len(shown)
    assert EntryCounter.objects.get(poll=poll).pending == held.count(True)
    page = Client().get(f"/api/polls/{poll.slug}/entries").json()
    assert [e["text"] for e in page["entries"]] == list(reversed(shown))
    assert recounted(poll) == []


def test_a_held_entry_replaced_leaves_no_count_behind() -> None:
    poll = answers()
    store(ballot(poll, "ann", ["shit happens"], when=1))
    store(ballot(poll, "ann", ["all good"], when=2))
    assert terms(poll) == {"all good": 1}
    assert text_entries.totals(poll.pk) == text_entries.Totals(entries=1, distinct=1)


# --- The worker's own check of a message's entries --------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        [{"text": "x", "key": "x", "held": False}],  # held is true or absent
        [{"text": "x"}],
        [{"text": "x", "key": "x", "extra": 1}],
        [{"text": "", "key": ""}],
        [{"text": "a\x00", "key": "a\x00"}],  # Postgres cannot store NUL
        [{"text": "\ud800", "key": "\ud800"}],
        [{"text": "x" * 101, "key": "x" * 101}],
        [{"text": "x", "key": "x"}, {"text": "X", "key": "x"}],  # one key once
        [{"text": str(n), "key": str(n)} for n in range(4)],
        ["x"],
    ],
)
def test_the_worker_refuses_a_message_entry_against_the_shape_or_limits(entries) -> None:
    poll = cloud()
    vote = QueuedVote(uuid.uuid4(), poll.pk, None, "anon:x", at(0), tuple(entries))
    message = QueuedVote.from_message(json.loads(json.dumps(vote.to_message())))
    outcome = record_votes([message])
    assert outcome.created == 0
    assert sum(outcome.rejected.values()) == 1
    assert not TextEntry.objects.filter(poll=poll).exists()


def test_the_message_carries_the_ballot_as_canonical_json_and_back() -> None:
    poll = cloud()
    vote = ballot(poll, "ann", ["Python", "@home|x"])
    message = vote.to_message()
    assert "ballot" not in message  # not integers: no list for the release before
    assert "@" not in message["ballot_json"]
    assert "|" not in message["ballot_json"]
    back = QueuedVote.from_message(json.loads(json.dumps(message)))
    assert kinds.kind_for(poll).from_message(list(back.ballot)) == vote.ballot
    store(back)
    assert terms(poll) == {"Python": 1, "@home|x": 1}


# --- Results: the snapshot, within its budget; the API's pages --------------------------


def bulk(poll: Poll, counts: dict[str, int]) -> None:
    """Ballots of one entry each, stored by the worker's own path."""
    votes = []
    for text, count in counts.items():
        votes += [ballot(poll, f"{text}-{n}", [text]) for n in range(count)]
    store(*votes)


def test_the_cloud_carries_the_top_hundred_with_size_steps_and_the_totals() -> None:
    poll = cloud(max_entries=1)
    counts = {f"w{n:03}": 1 for n in range(130)} | {"big": 16, "half": 8, "quarter": 4}
    bulk(poll, counts)
    snapshot = poll_results(poll=poll)
    assert len(snapshot["terms"]) == 100
    assert snapshot["terms"][:3] == [
        {"text": "big", "key": "big", "count": 16, "step": 5},
        {"text": "half", "key": "half", "count": 8, "step": 4},
        {"text": "quarter", "key": "quarter", "count": 4, "step": 3},
    ]
    assert {t["step"] for t in snapshot["terms"][3:]} == {1}
    assert (snapshot["entries"], snapshot["distinct"], snapshot["total"]) == (158, 133, 158)
    assert len(json.dumps(snapshot)) <= engine.SNAPSHOT_BYTES
    # Beyond the snapshot: the API's pages, the same order, every term once.
    client = Client()
    first = client.get(f"/api/polls/{poll.slug}/terms").json()
    assert [t["text"] for t in first["terms"]] == [t["text"] for t in snapshot["terms"]]
    assert first["next"] == f"/api/polls/{poll.slug}/terms?page=2"
    second = client.get(first["next"]).json()
    assert len(second["terms"]) == 33
    assert second["next"] is None
    assert {t["text"] for t in first["terms"] + second["terms"]} == set(counts)


def test_the_snapshot_stays_within_its_budget_for_long_terms_in_escaped_scripts() -> None:
    poll = cloud(max_entries=1, entry_length=50)
    bulk(poll, {"\u0436" * 47 + f"{n:03}": 1 for n in range(100)})  # Cyrillic: 6 bytes each
    snapshot = poll_results(poll=poll)
    assert 0 < len(snapshot["terms"]) < 100
    assert len(json.dumps(snapshot)) <= engine.SNAPSHOT_BYTES


def test_answer_cards_newest_first_with_counts_within_the_budget() -> None:
    poll = answers(answer_length=500)
    store(*[ballot(poll, f"v{n}", ["yes!"], when=n) for n in range(5)])
    store(*[ballot(poll, f"long{n}", [f"{n} " + "long " * 90], when=10 + n) for n in range(60)])
    store(ballot(poll, "last", ["Newest"], when=100))
    snapshot = poll_results(poll=poll)
    cards = snapshot["cards"]
    assert cards[0]["text"] == "Newest"
    assert {"text": "yes!", "count": 5} in [{"text": c["text"], "count": c["count"]} for c in cards]
    assert [c["newest"] for c in cards] == sorted((c["newest"] for c in cards), reverse=True)
    assert snapshot["left_out"] == snapshot["distinct"] - len(cards) > 0
    assert len(json.dumps(snapshot)) <= engine.SNAPSHOT_BYTES
    entries = Client().get(f"/api/polls/{poll.slug}/entries").json()
    assert entries["entries"][0]["text"] == "Newest"
    assert (len(entries["entries"]), entries["next"]) == (66, None)


def test_the_entries_pages_walk_back_to_the_first() -> None:
    poll = answers()
    store(*[ballot(poll, f"v{n}", [f"answer {n}"], when=n) for n in range(230)])
    client = Client()
    seen, url = [], f"/api/polls/{poll.slug}/entries"
    while url:
        page = client.get(url).json()
        seen += [e["text"] for e in page["entries"]]
        url = page["next"]
    assert seen == [f"answer {n}" for n in reversed(range(230))]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("terms?page=0", 400, "bad_request"),
        ("terms?page=x", 400, "bad_request"),
        ("entries?before=-1", 400, "bad_request"),
        ("entries?before=99999999999999999999", 400, "bad_request"),
    ],
)
def test_the_pages_refuse_a_bad_parameter(path, status, code) -> None:
    poll = cloud()
    answer = Client().get(f"/api/polls/{poll.slug}/{path}")
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_the_pages_exist_only_for_text_polls_and_follow_the_results_visibility() -> None:
    single = kind_poll("single")
    assert Client().get(f"/api/polls/{single.slug}/terms").status_code == 404
    hidden = cloud(results_visibility=Poll.ResultsVisibility.HIDDEN)
    answer = Client().get(f"/api/polls/{hidden.slug}/entries")
    assert (answer.status_code, answer.json()["code"]) == (403, "results_hidden")


# --- Pages: text is text, never markup ------------------------------------------------

HOSTILE = "<script>alert(1)</script>"  # 25 characters: a word cloud's entry


@pytest.mark.parametrize("make", [cloud, answers])
def test_entries_are_text_on_every_page(make, django_user_model) -> None:
    poll = make()
    store(ballot(poll, "ann", [HOSTILE]))
    snapshots.forget(poll.pk)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    client = Client()
    for path in (f"/polls/{poll.slug}/results/", f"/embed/polls/{poll.slug}/"):
        page = client.get(path).content.decode()
        assert escaped in page, path
        assert "<script>alert" not in page, path
    admin = django_user_model.objects.create_superuser("boss", password="pw-boss-12345")
    client.force_login(admin)
    listed = client.get("/admin/polls/textentry/").content.decode()
    assert escaped in listed
    assert "<script>alert" not in listed
    change = client.get(f"/admin/polls/poll/{poll.pk}/change/").content.decode()
    assert "<script>alert" not in change


# --- Exports, clearing, recount, commands -------------------------------------------------


def test_exports_neutralise_formulas_and_carry_every_entry_and_term() -> None:
    poll = cloud()
    store(ballot(poll, "ann", ['=HYPERLINK("http://x")', "+1", "Python"], when=1))
    store(ballot(poll, "bob", ["python", "@sum"], when=2))
    entries = list(csv.DictReader(io.StringIO(run("export_results", poll.slug, "--entries"))))
    assert [e["text"] for e in entries] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "Python",
        "python",
        "'@sum",
    ]
    assert {e["state"] for e in entries} == {"shown"}
    counted = list(csv.DictReader(io.StringIO(run("export_results", poll.slug, "--terms"))))
    assert counted[0] == {"text": "Python", "key": "python", "count": "2"}
    results = list(csv.DictReader(io.StringIO(run("export_results", poll.slug))))
    assert results[0]["choice"] == "Python"
    assert results[0]["votes"] == "2"
    ballots = list(csv.reader(io.StringIO(run("export_results", poll.slug, "--ballots"))))
    assert ballots[0] == ["ballot", "entry1", "entry2", "entry3", "entry4", "entry5"]
    assert ballots[1][:4] == ["1", '\'=HYPERLINK("http://x")', "'+1", "Python"]
    document = json.loads(run("export_results", poll.slug, "--format", "json", "--entries"))
    assert document["text"]["entries_counted"] == 5
    assert document["text"]["terms"][0] == {"text": "Python", "key": "python", "count": 2}
    assert len(document["text"]["entries"]) == 5  # JSON is data: no neutralising there


def test_clearing_entries_is_recorded_and_lets_voters_answer_again() -> None:
    poll = answers()
    store(ballot(poll, "ann", ["one"]), ballot(poll, "bob", ["two"]))
    assert "Cleared" in run("clear_entries", poll.slug, "--yes")
    record = PollReset.objects.get(poll=poll)
    assert (record.votes_removed, record.entries_removed) == (2, 2)
    assert not TextEntry.objects.filter(poll=poll).exists()
    assert poll_results(poll=poll)["cards"] == []
    assert text_entries.totals(poll.pk) == text_entries.Totals()
    store(ballot(poll, "ann", ["three"], when=5))
    assert terms(poll) == {"three": 1}
    assert recounted(poll) == []


def test_clearing_asks_for_yes_and_only_text_polls_have_entries() -> None:
    poll = answers()
    with pytest.raises(Exception, match="--yes"):
        run("clear_entries", poll.slug)
    with pytest.raises(Exception, match="no entries to clear"):
        run("clear_entries", kind_poll("single").slug, "--yes")


def test_recount_finds_and_mends_drift_in_the_counts() -> None:
    poll = cloud()
    store(ballot(poll, "ann", ["Python", "Rust"]), ballot(poll, "bob", ["python"]))
    text_entries.TermCount.objects.filter(poll=poll, key="python").update(votes=7)
    EntryCounter.objects.filter(poll=poll).update(distinct_terms=9)
    found = {d.label: (d.stored, d.counted) for d in recounted(poll)}
    assert found["term 'python'"] == (7, 2)
    assert found["distinct entries"] == (9, 2)
    with pytest.raises(Exception, match="differ"):
        run("recount", poll.slug, "--check")
    organising.recount_poll(poll)
    assert recounted(poll) == []
    assert "ok" in run("recount", poll.slug, "--check")


def test_create_poll_makes_each_text_kind_with_its_options() -> None:
    out = run("create_poll", "words", "One word?", "--kind", "wordcloud", "--max-entries", "5",
              "--entry-length", "20", "--open")  # fmt: skip
    assert "word cloud" in out
    assert "up to 5 entries of 20 characters" in out
    poll = Poll.objects.get(slug="words")
    assert poll.options == {"max_entries": 5, "entry_length": 20}
    out = run("create_poll", "say", "Say it?", "--kind", "openanswer", "--answer-length", "140")
    assert "one answer of 140 characters" in out


def test_seed_demo_puts_a_word_cloud_in_the_demo_session() -> None:
    polls = organising.seed_demo_session_polls()
    assert polls[-1].kind == "wordcloud"
    assert kinds.rules(polls[-1]) == {"max_entries": 3, "max_length": 25}
    # Moderated (issue 34): a caught word waits for a moderator, the rest shows at once.
    assert polls[-1].options["moderation"] == "after"
    assert polls[-1].options["filter_action"] == "hold"


def receipted(vote: QueuedVote, receipt: str) -> QueuedVote:
    return dataclasses.replace(vote, receipt=receipt, nonce="0" * 32)


@pytest.mark.parametrize(
    ("secrecy", "words"),
    [
        ("public", ["Python · Rust", "fast", "<b>Django</b> · python"]),  # each their own spelling
        ("secret", [None, None, None]),
    ],
)
def test_a_text_ballots_receipt_is_on_the_board_with_its_shown_words_when_ballots_are_public(
    secrecy: str, words: list[str | None]
) -> None:
    poll = cloud()
    Poll.objects.filter(pk=poll.pk).update(ballot_secrecy=secrecy)
    poll.refresh_from_db()
    store(
        receipted(ballot(poll, "ann", ["Python", "shit", "Rust"]), "AAAAAAAAAA"),  # one held
        receipted(ballot(poll, "bob", ["fast"]), "BBBBBBBBBB"),
        receipted(ballot(poll, "cy", ["<b>Django</b>", "python"], when=1), "CCCCCCCCCC"),
    )
    board = receipts.board(poll=poll)
    assert [row["receipt"] for row in board.rows] == ["AAAAA-AAAAA", "BBBBB-BBBBB", "CCCCC-CCCCC"]
    # The shown entries in each voter's order; the filter's catch, waiting, is not there.
    assert [row.get("ballot") for row in board.rows] == words
    page = Client().get(f"/polls/{poll.slug}/board/").content.decode()
    api = Client().get(f"/api/polls/{poll.slug}/board").json()
    assert [row.get("ballot") for row in api["receipts"]] == words
    assert "<b>" not in page, "text, never markup"
    if secrecy == "public":
        assert "<td>&lt;b&gt;Django&lt;/b&gt; · python</td>" in page
    else:
        assert "Django" not in page


def test_a_hidden_entry_leaves_the_public_board_and_a_restored_one_comes_back() -> None:
    poll = answers()
    Poll.objects.filter(pk=poll.pk).update(ballot_secrecy="public")
    poll.refresh_from_db()
    store(receipted(ballot(poll, "ann", ["Good talk, thanks"]), "AAAAAAAAAA"))
    entry = TextEntry.objects.get(poll=poll)

    def shown() -> list[dict[str, str]]:
        return receipts.board(poll=poll).rows

    assert shown() == [{"receipt": "AAAAA-AAAAA", "ballot": "Good talk, thanks"}]
    moderation.apply(poll, moderation.HIDE, moderation.Target(moderation.ENTRY, entry.pk))
    # Still counted (the voter is in the total): the row stays, without the hidden words.
    assert shown() == [{"receipt": "AAAAA-AAAAA", "ballot": ""}]
    moderation.apply(poll, moderation.RESTORE, moderation.Target(moderation.ENTRY, entry.pk))
    assert shown() == [{"receipt": "AAAAA-AAAAA", "ballot": "Good talk, thanks"}]
