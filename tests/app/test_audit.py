"""The audit export and the stand-alone verifier, as rules: for every kind the verifier
(tools/verify.py, run as its own process with Python's standard library alone: `-S`, no
site-packages) says OK on the export; and each tamper case, one at a time (a stored
ballot, a count row, a chain row, one line of the export file), makes the verifier and
`recount --check` fail, naming the entry."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from polls import kinds, live_sessions, moderation, organising, quiz
from polls.counting import receipts as codes
from polls.models import AdmissionChange, ChainBatch, Poll, RankingCount, Tally, Vote
from polls.pipeline.message import QueuedVote, canonical_json
from polls.pipeline.store import record_votes
from tests.support.kinds import kind_poll

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
VERIFY = ROOT / "tools" / "verify.py"
T0 = timezone.now() - timedelta(minutes=5)


def queued(poll: Poll, voter: str, ballot: Any, seconds: float = 0, **fields: Any) -> QueuedVote:
    """A ballot as the web side queues it: checked by its kind, with its receipt."""
    kind = kinds.kind_for(poll)
    checked = kind.normalise(poll, list(poll.choices.values_list("pk", flat=True)), ballot)
    vote_id, nonce = uuid.uuid4(), codes.new_nonce()
    receipt = codes.receipt_for(poll.pk, str(vote_id), canonical_json(list(checked)), nonce)
    return QueuedVote(
        vote_id,
        poll.pk,
        kind.choice_of(checked),
        f"anon:{voter}",
        T0 + timedelta(seconds=seconds),
        checked,
        receipt=receipt,
        nonce=nonce,
        **fields,
    )


def export(poll: Poll, tmp_path: Path) -> Path:
    path = tmp_path / f"{poll.slug}.json"
    call_command("export_audit", poll.slug, output=path)
    return path


def verify(path: Path) -> tuple[int, str]:
    """The verifier as anyone runs it: its own process, no site-packages (-S), no Django."""
    done = subprocess.run(
        [sys.executable, "-S", "-I", str(VERIFY), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def recount_check(poll: Poll) -> tuple[bool, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("recount", poll.slug, check=True, stdout=out)
    except CommandError:
        return False, out.getvalue()
    return True, out.getvalue()


def ids(poll: Poll) -> list[int]:
    return list(poll.choices.order_by("position", "id").values_list("pk", flat=True))


# --- Every kind: OK -----------------------------------------------------------------------


def single_poll(secrecy: str) -> Poll:
    poll = kind_poll("single", ballot_secrecy=secrecy)
    red, green, blue, _gold = ids(poll)
    record_votes([queued(poll, "a", [red], 1), queued(poll, "b", [green], 1)])
    record_votes([queued(poll, "c", [red], 2), queued(poll, "a", [blue], 3)])  # a changes
    return poll


def multiple_poll() -> Poll:
    poll = kind_poll("multiple", max_picks=3)
    red, green, blue, _gold = ids(poll)
    record_votes([queued(poll, "a", [red, green]), queued(poll, "b", [green, blue])])
    record_votes([queued(poll, "c", [blue])])
    return poll


RANKINGS = [
    [0, 1, 2],
    [0, 2],
    [1, 0],
    [1, 2, 0],
    [2, 1],
    [2, 3],
    [3, 2, 1],
    [3],
    [1],
    [0, 3],
    [2],
]


def ranked_poll(**rules: Any) -> Poll:
    poll = kind_poll("ranked")
    if rules:
        organising.change_rules(poll, rules)
        poll.refresh_from_db()
    choices = ids(poll)
    votes = [
        queued(poll, f"v{n}", [choices[i] for i in ranking], 1)
        for n, ranking in enumerate(RANKINGS)
    ]
    record_votes(votes[:5])
    record_votes(votes[5:])
    return poll


def scale_poll() -> Poll:
    poll = kind_poll("scale", scale_min=0, scale_max=10)
    record_votes([queued(poll, f"s{n}", [value]) for n, value in enumerate([10, 9, 7, 3, 9, 6])])
    return poll


def text_poll(kind: str) -> Poll:
    poll = kind_poll(kind)
    record_votes([queued(poll, "a", ["Tea"]), queued(poll, "b", ["tea"])])
    record_votes([queued(poll, "c", ["Water"], 1), queued(poll, "a", ["coffee"], 2)])
    return poll


def test_a_moderators_hide_and_restore_go_on_the_chain_and_the_export_still_verifies(
    tmp_path: Path,
) -> None:
    poll = text_poll("wordcloud")
    before = ChainBatch.objects.filter(poll=poll).count()

    moderation.apply(poll, moderation.HIDE, moderation.Target(moderation.TERM, "tea"))
    hidden_ok, hidden_out = verify(export(poll, tmp_path))
    moderation.apply(poll, moderation.RESTORE, moderation.Target(moderation.TERM, "tea"))

    actions = [
        event["type"]
        for batch in ChainBatch.objects.filter(poll=poll, index__gt=before).order_by("index")
        for event in batch.events
    ]
    assert actions == ["moderation hide", "moderation restore"]
    assert hidden_ok == 0, hidden_out
    assert verify(export(poll, tmp_path))[0] == 0
    assert recount_check(poll)[0]


KINDS: dict[str, Callable[[], Poll]] = {
    "single, public": lambda: single_poll("public"),
    "single, secret": lambda: single_poll("secret"),
    "multiple": multiple_poll,
    "ranked": ranked_poll,
    "ranked, batch elimination": lambda: ranked_poll(batch=True),
    "ranked, until two remain": lambda: ranked_poll(until_two=True),
    "ranked, ties by lot": lambda: ranked_poll(tie="previous_then_lot"),
    "ranked, all tied go": lambda: ranked_poll(tie="eliminate_all_tied"),
    "scale": scale_poll,
    "word cloud": lambda: text_poll("wordcloud"),
    "open answers": lambda: text_poll("openanswer"),
}


@pytest.mark.parametrize("case", KINDS)
def test_the_verifier_says_ok_on_every_kinds_export(case: str, tmp_path: Path) -> None:
    poll = KINDS[case]()
    code, said = verify(export(poll, tmp_path))
    assert code == 0, said
    assert said.startswith(f"OK: poll {poll.slug}")
    # recount --check finds the chain and the stored ballots agree.
    out = recount_check(poll)[1]
    assert f"{poll.slug}: ok" in out
    assert "chain:" not in out


def test_an_empty_poll_and_a_reset_one_verify(tmp_path: Path) -> None:
    poll = kind_poll("ranked")
    assert verify(export(poll, tmp_path))[0] == 0
    poll = ranked_poll()
    organising.reset_votes(poll)
    code, said = verify(export(poll, tmp_path))
    assert code == 0, said
    assert "0 ballots counted" in said


def test_imported_ballots_verify_and_a_changed_import_is_named(tmp_path: Path) -> None:
    from polls.imports import import_ballots

    poll = kind_poll("ranked")
    data = b"rank1,rank2\nRed,Green\nGreen,Blue\nBlue,Red\nRed,Blue\n"
    import_ballots(poll, data, file_name="cvr.csv")
    path = export(poll, tmp_path)
    code, said = verify(path)
    assert code == 0, said
    doc = path.read_text().splitlines()
    line = next(i for i, text in enumerate(doc) if text.startswith('{"ballots":4'))
    doc[line] = doc[line].replace('"profile":[[', '"profile":[[9,', 1)
    path.write_text("\n".join(doc))
    code, said = verify(path)
    assert code == 1
    assert said.startswith("FAIL: import ")
    assert "its rankings are not those the chain recorded" in said


@pytest.mark.django_db(transaction=True)  # the countdown is recorded once committed
def test_a_played_quiz_question_verifies_its_points(tmp_path: Path, redis_client: Any) -> None:
    from django.contrib.auth.models import User

    owner = User.objects.create_user("quizzer", password="pw-quizzer-1234")
    question = organising.create_poll(
        slug=f"q-{uuid.uuid4().hex[:6]}",
        question="Quiz?",
        labels=["Right", "Wrong"],
        open_now=True,
        kind="single",
        options={"quiz_correct": "1", "quiz_seconds": 20},
    )
    session = live_sessions.go_live(
        live_sessions.create_session(title="Quiz", owner=owner, polls=[question])
    )
    live_sessions.start(session)
    change = AdmissionChange.objects.filter(poll=question).latest("id")
    right, wrong = ids(question)
    clock = quiz.countdown(question)
    assert clock is not None
    opens = clock.opens_ms
    record_votes(
        [
            queued(question, "p1", [right], admitted_ms=opens + 1500, poll_version=change.pk),
            queued(question, "p2", [wrong], admitted_ms=opens + 300, poll_version=change.pk),
            queued(question, "p3", [right], admitted_ms=opens + 19000, poll_version=change.pk),
        ]
    )
    path = export(question, tmp_path)
    doc = json.loads(path.read_text())
    assert sorted(a["points"] for a in doc["result"]["quiz"]["answers"]) == [0, 525, 963]
    code, said = verify(path)
    assert code == 0, said
    # A score the site got wrong is caught: the verifier counts it again.
    text = path.read_text().replace('"points":963', '"points":964')
    path.write_text(text)
    code, said = verify(path)
    assert code == 1
    assert "points: published 964, counted 963" in said


# --- Tamper cases: each on its own --------------------------------------------------------


@pytest.fixture(params=["public", "secret"])
def voted(request: pytest.FixtureRequest) -> Poll:
    return single_poll(request.param)


def test_a_changed_stored_ballot_fails_both_and_is_named(voted: Poll, tmp_path: Path) -> None:
    row = Vote.objects.filter(poll=voted).order_by("receipt").first()
    assert row is not None
    other = next(pk for pk in ids(voted) if pk != row.choice_id)
    Vote.objects.filter(pk=row.pk).update(ballot=[other], choice_id=other)
    code, said = verify(export(voted, tmp_path))
    assert code == 1
    if voted.ballot_secrecy == "public":
        assert said.startswith("FAIL: board row 1 (line ")
        assert f"receipt {row.receipt}: its ballot is not the one the chain counted" in said
    else:  # the ballot box no longer gives the published counts
        assert said.startswith("FAIL: result: choice ")
    ok, out = recount_check(voted)
    assert not ok
    assert f"chain: vote {row.receipt}: its ballot is not the chain's" in out


def test_a_changed_count_row_fails_both_and_is_named(voted: Poll, tmp_path: Path) -> None:
    red = ids(voted)[0]
    Tally.objects.filter(choice_id=red).update(votes=7)
    code, said = verify(export(voted, tmp_path))
    assert code == 1
    assert said == "FAIL: result: choice 'Red', votes: published 7, counted 1"
    ok, out = recount_check(voted)
    assert not ok
    assert "Red: stored 7, counted 1" in out


def test_a_changed_ranking_count_fails_the_runoff(tmp_path: Path) -> None:
    poll = ranked_poll()
    row = RankingCount.objects.filter(poll=poll, votes=1).order_by("ranking").last()
    assert row is not None
    RankingCount.objects.filter(pk=row.pk).update(votes=3)
    code, said = verify(export(poll, tmp_path))
    assert code == 1
    # The first preferences (tallies) still fit; the rankings' points no longer do.
    assert said.startswith("FAIL: result: Borda points of "), said


def test_a_changed_chain_row_fails_both_and_is_named(voted: Poll, tmp_path: Path) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE polls_chainbatch SET events = jsonb_set(events::jsonb, '{0,vote}', "
            "to_jsonb(%s::text)) WHERE poll_id = %s AND index = 2",
            [str(uuid.uuid4()), voted.pk],
        )
    code, said = verify(export(voted, tmp_path))
    assert code == 1
    assert said.startswith("FAIL: chain batch 2 (line ")
    assert said.endswith(", event 1 (replaced): altered")
    ok, out = recount_check(voted)
    assert not ok
    assert "chain: chain batch 2, event 1 (replaced): altered" in out


def test_a_chain_row_rewritten_with_its_hashes_fails_at_the_next_link(
    voted: Poll, tmp_path: Path
) -> None:
    batch = ChainBatch.objects.get(poll=voted, index=1)
    batch.events = batch.events[:1]
    batch.event_hashes = batch.event_hashes[:1]
    batch.save()
    code, said = verify(export(voted, tmp_path))
    assert code == 1
    assert said.startswith("FAIL: chain batch 1 (line ")
    assert said.endswith("its hash does not fit its events")
    assert not recount_check(voted)[0]


# Each: (what the line starts with, what it becomes, what the verifier names)
LINES = {
    "a board receipt": ('{"ballot":', lambda t: t.replace('"receipt":"', '"receipt":"Z', 1),
                        "FAIL: board row "),
    "a chain batch's hash": ('{"event_hashes":', lambda t: t.replace('"hash":"', '"hash":"0', 1),
                             "FAIL: chain batch "),
    "a count in the result": ('"result":', lambda t: t.replace('"votes":1', '"votes":3', 1),
                              "FAIL: result: choice 'Red', votes: published 3, counted 1"),
    "the seal": ('"chain":', lambda t: t.replace('"hash":"', '"hash":"f', 1),
                 "FAIL: chain head: "),
    "a line cut short": ('{"event_hashes":', lambda t: t[: len(t) // 2], "FAIL: line "),
}  # fmt: skip


@pytest.mark.parametrize("case", LINES)
def test_one_changed_line_of_the_export_fails_and_is_named(case: str, tmp_path: Path) -> None:
    poll = single_poll("public")
    path = export(poll, tmp_path)
    assert verify(path)[0] == 0
    starts, change, named = LINES[case]
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith(starts))
    changed = change(lines[number])
    assert changed != lines[number]
    lines[number] = changed
    path.write_text("\n".join(lines) + "\n")
    code, said = verify(path)
    assert code == 1
    assert said.startswith(named), said


# --- Size: a 100,000-ballot ranked poll (--slow; 2,000 otherwise) -------------------------


def test_export_and_verify_of_a_large_ranked_poll_each_take_under_a_minute(
    tmp_path: Path, slow: bool
) -> None:
    """Built by direct insert (rows, counts and chain as the worker writes them), 500
    ballots a link; export_audit and the verifier each timed."""
    import random
    import time

    from polls import chain
    from polls.models import PollCounter

    size = 100_000 if slow else 2_000
    poll = kind_poll("ranked")
    choices = ids(poll)
    rng = random.Random(38)
    now = timezone.now()
    firsts: Counter[int] = Counter()
    rankings: Counter[tuple[int, ...]] = Counter()
    for start in range(0, size, 500):
        rows, events = [], []
        for n in range(start, min(start + 500, size)):
            ranking = rng.sample(choices, rng.randint(1, len(choices)))
            vote_id, nonce = uuid.uuid4(), codes.new_nonce()
            receipt = codes.receipt_for(poll.pk, str(vote_id), canonical_json(ranking), nonce)
            rows.append(Vote(poll=poll, voter_key=f"anon:{n}", ballot=ranking, cast_at=now,
                             vote_id=vote_id, receipt=receipt, nonce=nonce))  # fmt: skip
            events.append(chain.counted_event(vote_id, receipt, ranking, nonce, poll=poll,
                                              stores_entries=False))  # fmt: skip
            firsts[ranking[0]] += 1
            rankings[tuple(ranking)] += 1
        Vote.objects.bulk_create(rows)
        chain.append({poll.pk: events})
    for choice, votes in firsts.items():
        Tally.objects.filter(choice_id=choice).update(votes=votes)
    RankingCount.objects.bulk_create(
        [RankingCount(poll=poll, ranking=list(r), votes=n) for r, n in rankings.items()]
    )
    PollCounter.objects.filter(poll=poll).update(total=size, seq=1)

    began = time.perf_counter()
    path = export(poll, tmp_path)
    exported = time.perf_counter() - began
    began = time.perf_counter()
    code, said = verify(path)
    verified = time.perf_counter() - began
    print(
        f"\n{size} ranked ballots: export_audit {exported:.1f} s "
        f"({path.stat().st_size / 1e6:.1f} MB), verify.py {verified:.1f} s"
    )
    assert code == 0, said
    assert exported < 60
    assert verified < 60
