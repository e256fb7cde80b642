"""Quiz questions (issue 36): settings checked by their kinds, a countdown opened by the
gate write on Redis's TIME and enforced by the admission script on Redis's clock, scores
derived from stored answers. Real Postgres and Redis throughout."""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from polls import gates, live_sessions, openness, organising, profanity, quiz, voters
from polls.live import parts
from polls.models import AdmissionChange, LiveSession, Poll, QuizPlayer, Vote
from polls.pipeline import admission
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from tests.app.test_admission import queued_messages

pytestmark = pytest.mark.django_db(transaction=True)


def quiz_poll(n: int, correct: str = "1", seconds: int | None = 20, kind: str = "single") -> Poll:
    return organising.create_poll(
        slug=f"q{n}-{uuid.uuid4().hex[:6]}",
        question=f"Quiz {n}?",
        labels=["Right", "Wrong", "Also"],
        open_now=True,
        kind=kind,
        options={"quiz_correct": correct, "quiz_seconds": seconds},
    )


@pytest.fixture
def owner() -> User:
    return User.objects.create_user("quentin", password="pw-quentin-1234", is_staff=True)


@pytest.fixture
def session(owner: User, redis_client: Any) -> LiveSession:
    # redis_client empties the run's Redis database first: no earlier test's copy of a
    # poll's gate (same ids after the database's flush) can shadow this countdown's.
    polls = [quiz_poll(1), quiz_poll(2, correct="1,3", kind="multiple")]
    return live_sessions.go_live(
        live_sessions.create_session(title="Pub quiz", owner=owner, polls=polls)
    )


def first_poll(session: LiveSession) -> Poll:
    return live_sessions.ordered_polls(session)[0]


def vote(poll: Poll, client: Client, *labels: str) -> Any:
    ids = [poll.choices.get(label=label).pk for label in labels]
    body: dict[str, Any] = {"choices": ids} if poll.kind == "multiple" else {"choice": ids[0]}
    return client.post(f"/api/polls/{poll.slug}/vote", body, content_type="application/json")


def store_queued(redis_client: Any, queue: str) -> None:
    """What the worker does with the queued messages (here, in the test's process)."""
    votes = [QueuedVote.from_message(v) for m in queued_messages(redis_client, queue) for v in m]
    redis_client.delete(queue)
    record_votes(votes)


# --- Settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "problem"),
    [
        ("single", {"quiz_correct": "1,2"}, "one correct choice"),
        ("single", {"quiz_correct": "4"}, "does not exist"),
        ("single", {"quiz_correct": "x"}, "numbers"),
        ("single", {"quiz_correct": "1", "quiz_seconds": 4}, "5 to 240"),
        ("single", {"quiz_correct": "1", "quiz_seconds": 241}, "5 to 240"),
        ("multiple", {"quiz_seconds": 30}, "needs its correct choices"),
        ("multiple", {"quiz_correct": "1,1"}, "once"),
    ],
)
def test_quiz_settings_the_kind_refuses_say_why(kind, options, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        organising.create_poll(
            slug=f"bad-{uuid.uuid4().hex[:6]}", question="?", labels=["A", "B", "C"],
            kind=kind, options=options,
        )  # fmt: skip


def test_quiz_settings_default_to_20_seconds_and_1000_points() -> None:
    settings = quiz.settings_of(quiz_poll(1, correct="2", seconds=None))
    assert settings is not None
    assert (settings.correct_positions, settings.seconds, settings.points) == ((2,), 20, 1000)


# --- The countdown --------------------------------------------------------------------------


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_a_quiz_question_waits_for_its_start_then_opens_for_exactly_its_limit(
    session, redis_client
) -> None:
    first, _second = live_sessions.ordered_polls(session)
    assert session.locked, "a quiz question comes locked"
    refused = vote(first, Client(), "Right")
    assert (refused.status_code, refused.json()["code"]) == (409, "voting_locked")

    before = quiz.now_ms()
    session = live_sessions.start(session)
    after = quiz.now_ms()
    copy = gates.read([first.pk])[first.pk]
    assert copy is not None
    assert copy.state == gates.SESSION_OPEN
    assert copy.opens_ms is not None
    assert copy.closes_ms is not None
    assert before <= copy.opens_ms <= after, "opened at Redis's TIME of the write"
    assert copy.closes_ms == copy.opens_ms + 20_000
    row = AdmissionChange.objects.get(pk=copy.version)
    assert row.opens_at is not None
    assert row.closes_at is not None
    assert (openness.to_ms(row.opens_at), openness.to_ms(row.closes_at)) == (
        copy.opens_ms,
        copy.closes_ms,
    ), "Postgres records the times Redis gave"
    assert openness.disagreements() == []

    state = quiz.state_of(session)
    assert state is not None
    assert state["deadline_ms"] == copy.closes_ms
    assert 0 < state["left_ms"] <= 20_000
    assert state["running"]
    assert vote(first, Client(), "Right").status_code == 202

    with pytest.raises(live_sessions.SessionError, match="played once"):
        live_sessions.start(session)


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_an_answer_admitted_at_or_after_the_deadline_is_refused_at_admission(
    session, redis_client, own_queue
) -> None:
    """The edge on Redis's own clock: every admitted answer's admission time is before the
    deadline; the first refused one came when Redis's clock had reached it."""
    first, _ = live_sessions.ordered_polls(session)
    live_sessions.start(session)
    copy = gates.read([first.pk])[first.pk]
    assert copy is not None
    # The same countdown, ending soon: long enough that a loaded machine admits some first.
    deadline = quiz.now_ms() + 400
    gates.write(
        {first.pk: gates.Gate(copy.version + 10**9, gates.SESSION_OPEN, copy.opens_ms, deadline)}
    )
    choice = first.choices.get(label="Right").pk
    codes: list[int] = []
    while not codes or codes[-1] == 0:
        voter = f"anon:edge-{len(codes)}"
        entry = admission.Entry(
            QueuedVote(uuid.uuid4(), first.pk, choice, voter, timezone.now()), []
        )
        codes += admission.admit_and_queue([entry])
    assert codes[-1] == admission.REFUSED_TIME_UP
    assert quiz.now_ms() >= deadline
    admitted = [v["admitted_ms"] for m in queued_messages(redis_client, own_queue) for v in m]
    assert len(admitted) == len(codes) - 1
    assert admitted, "some answers came before the deadline"
    assert all(at < deadline for at in admitted), "admitted only before the deadline"
    # Admissions follow each other within milliseconds (a loaded CI box: tens of them).
    print(f"last admission {deadline - max(admitted)} ms before the deadline")
    assert max(admitted) >= deadline - 200, "the last admitted came right before the edge"

    refused = vote(first, Client(), "Right")
    assert refused.status_code == 409
    assert refused.json()["code"] == "time_up"
    assert "Time is up" in refused.json()["error"]


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_the_presenter_ends_a_countdown_early_and_it_cannot_reopen(session) -> None:
    first, _ = live_sessions.ordered_polls(session)
    session = live_sessions.start(session)
    session = live_sessions.lock(session)  # end early
    refused = vote(first, Client(), "Right")
    assert (refused.status_code, refused.json()["code"]) == (409, "voting_locked")
    with pytest.raises(live_sessions.SessionError, match="cannot be reopened"):
        live_sessions.lock(session, locked=False)


def test_next_before_reveal_is_allowed_and_says_so(session, owner) -> None:
    client = Client()
    client.force_login(owner)
    url = f"/present/{session.code}/control"
    live_sessions.start(session)
    answer = client.post(url, {"action": "next"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    assert answer.json()["note"] == "Moved on without showing the correct answer."
    assert answer.json()["position"] == 2
    assert answer.json()["locked"] is True, "the next quiz question waits for its start"


# --- Scores ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_scores_derive_from_stored_answers_and_the_opening_time(
    session, redis_client, own_queue
) -> None:
    first, second = live_sessions.ordered_polls(session)
    fast, slow, wrong = Client(), Client(), Client()
    session = live_sessions.start(session)
    assert vote(first, fast, "Right").status_code == 202
    time.sleep(0.05)
    assert vote(first, slow, "Right").status_code == 202
    assert vote(first, wrong, "Wrong").status_code == 202
    store_queued(redis_client, own_queue)
    clock = quiz.countdown(first)
    assert clock is not None
    rows = list(Vote.objects.filter(poll=first).order_by("admitted_ms"))
    assert all(clock.opens_ms <= (row.admitted_ms or 0) < clock.closes_ms for row in rows)
    fast_key, slow_key, wrong_key = (row.voter_key for row in rows)

    session = live_sessions.move(session, step=1)
    session = live_sessions.start(session)
    assert vote(second, slow, "Right", "Also").status_code == 202  # the whole key
    assert vote(second, fast, "Right").status_code == 202  # part of the key: 0
    store_queued(redis_client, own_queue)

    table = {row.player: row for row in quiz.standings(session)}
    assert [row.player for row in quiz.standings(session)] == [slow_key, fast_key, wrong_key]
    assert 1900 <= table[slow_key].score <= 2000  # two right answers within 2 s each
    assert 950 <= table[fast_key].score <= 1000
    assert table[wrong_key].score == 0
    answer = quiz.result_of(first, fast_key)
    assert answer is not None
    assert answer.right
    assert answer.points == table[fast_key].score
    wrong_answer = quiz.result_of(first, wrong_key)
    assert wrong_answer is not None
    assert wrong_answer.answered
    assert not wrong_answer.right


def test_a_corrected_answer_key_recomputes_every_score(session, redis_client) -> None:
    first, _ = live_sessions.ordered_polls(session)
    live_sessions.start(session)
    clock = quiz.countdown(first)
    assert clock is not None
    right, wrong = (first.choices.get(label=label).pk for label in ("Right", "Wrong"))
    Vote.objects.create(poll=first, voter_key="anon:a", choice_id=right, ballot=[right],
                        cast_at=timezone.now(), admitted_ms=clock.opens_ms)  # fmt: skip
    Vote.objects.create(poll=first, voter_key="anon:b", choice_id=wrong, ballot=[wrong],
                        cast_at=timezone.now(), admitted_ms=clock.opens_ms + 10_000)  # fmt: skip
    assert [(r.player, r.score) for r in quiz.standings(session)] == [
        ("anon:a", 1000),
        ("anon:b", 0),
    ]
    first.options["quiz_correct"] = "2"
    first.save()
    assert [(r.player, r.score) for r in quiz.standings(session)] == [
        ("anon:b", 750),
        ("anon:a", 0),
    ]


def test_the_pages_show_the_countdown_and_after_the_reveal_the_answer_and_places(
    session, owner
) -> None:
    presenter = Client()
    presenter.force_login(owner)
    page = presenter.get(f"/present/{session.code}/").content.decode()
    assert "Start the countdown" in page
    live_sessions.start(session)
    phone = Client().get(f"/s/{session.code}/").content.decode()
    assert "data-countdown" in phone
    assert "Time left" in phone
    session = live_sessions.reveal(session)
    page = presenter.get(f"/present/{session.code}/").content.decode()
    assert "Correct answer:" in page
    assert "<strong>Right</strong>" in page
    assert "Leaderboard" in page
    right = first_poll(session).choices.get(label="Right").pk
    assert f'<li class="choice quiz-right" data-choice="{right}">' in page, "the chart marks it"
    assert page.count("quiz-right") == 1
    phone = Client().get(f"/s/{session.code}/").content.decode()
    assert "No answer in time: 0 points." in phone
    assert f'<li class="choice quiz-right" data-choice="{right}">' in phone
    live = parts.session_parts(session, {"reveal": True, "poll": {}})["en"]["results_part"]
    assert f'<li class="choice quiz-right" data-choice="{right}">' in live


def test_redis_losing_the_copy_mid_countdown_gets_the_same_deadline_back(
    session, redis_client
) -> None:
    """A Redis restart that lost the key (no append-only file): the reconciler rewrites
    it from Postgres's record of the countdown, neither longer nor shorter."""
    first, _ = live_sessions.ordered_polls(session)
    live_sessions.start(session)
    before = gates.read([first.pk])[first.pk]
    redis_client.delete(gates.key(first.pk))
    time.sleep(0.01)
    assert openness.reconcile() >= 1
    assert gates.read([first.pk])[first.pk] == before


def test_recount_check_reports_each_quiz_question_and_fails_on_an_answer_past_its_deadline(
    session,
) -> None:
    first, _ = live_sessions.ordered_polls(session)
    live_sessions.start(session)
    clock = quiz.countdown(first)
    assert clock is not None
    right = first.choices.get(label="Right").pk
    Vote.objects.create(poll=first, voter_key="anon:in", choice_id=right, ballot=[right],
                        cast_at=timezone.now(), admitted_ms=clock.opens_ms + 1)  # fmt: skip
    call_command("recount", first.slug, stdout=io.StringIO())  # the tallies: not this test's
    out = io.StringIO()
    call_command("recount", first.slug, "--check", stdout=out)
    assert "1 answers scored, 0 admitted after the deadline" in out.getvalue()
    Vote.objects.create(poll=first, voter_key="anon:late", choice_id=right, ballot=[right],
                        cast_at=timezone.now(), admitted_ms=clock.closes_ms)  # fmt: skip
    call_command("recount", first.slug, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("recount", first.slug, "--check", stdout=io.StringIO())


# --- Nicknames ------------------------------------------------------------------------------


def test_nickname_rules_as_a_table(session) -> None:
    """Trimmed, at most 24 characters, not caught by the filter (refused, never silently
    replaced), unique in the session whatever the case, changeable until the start."""
    assert profanity.check("Big Shit") is not None  # the filter's own word, not ours
    rows = [
        ("anon:ann", "  Ann   Lee ", "Ann Lee"),
        ("anon:ann", "Annie", "Annie"),  # changed before the start
        ("anon:bob", "annie", "taken"),  # another player's, whatever the case
        ("anon:bob", "", "Type a nickname"),
        ("anon:bob", "x" * 25, "at most 24"),
        ("anon:bob", "Big Shit", "not allowed"),
        ("anon:bob", "Bob", "Bob"),
    ]
    for voter, typed, expected in rows:
        try:
            got = quiz.set_nickname(session, voter, typed)
        except quiz.NicknameRefused as refused:
            got = str(refused)
        assert expected in got, (voter, typed, got)
    live_sessions.start(session)
    with pytest.raises(quiz.NicknameRefused, match="has started"):
        quiz.set_nickname(session, "anon:bob", "Robert")
    assert quiz.nicknames(session, ["anon:ann", "anon:bob"]) == {
        "anon:ann": "Annie",
        "anon:bob": "Bob",
    }


def test_a_phone_picks_a_nickname_and_the_leaderboard_shows_it(session, owner) -> None:
    phone = Client()
    page = phone.get(f"/s/{session.code}/").content.decode()
    assert "Pick a nickname for the leaderboard" in page
    refused = phone.post(
        f"/s/{session.code}/nickname", {"nickname": "Big Shit"}, HTTP_ACCEPT="application/json"
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "nickname_refused")
    answer = phone.post(f"/s/{session.code}/nickname", {"nickname": "Quizzy"}, follow=True)
    assert "You play as Quizzy." in answer.content.decode()
    first, _ = live_sessions.ordered_polls(session)
    live_sessions.start(session)
    voter_key = QuizPlayer.objects.get(session=session).voter_key
    clock = quiz.countdown(first)
    assert clock is not None
    right = first.choices.get(label="Right").pk
    Vote.objects.create(poll=first, voter_key=voter_key, choice_id=right, ballot=[right],
                        cast_at=timezone.now(), admitted_ms=clock.opens_ms)  # fmt: skip
    assert quiz.leaderboard(session) == [
        {"rank": 1, "name": "Quizzy", "score": 1000, "move": None, "places": 0}
    ]  # the first question: no change of place to show
    page = phone.get(f"/s/{session.code}/").content.decode()
    assert "Pick a nickname" not in page, "no change once the quiz has started"


def test_the_demo_has_a_three_question_quiz_waiting_for_its_start() -> None:
    User.objects.create_superuser("admin-demo", password="pw-admin-demo-1")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Demo session 'The demo quiz' is live" in out.getvalue()
    session = LiveSession.objects.get(title=live_sessions.DEMO_QUIZ_TITLE)
    polls = live_sessions.ordered_polls(session)
    assert [quiz.settings_of(p) is not None for p in polls] == [True, True, True]
    assert session.locked, "its first question waits for the presenter's S"
    call_command("seed_demo", stdout=io.StringIO())  # again: nothing changes
    assert LiveSession.objects.filter(title=live_sessions.DEMO_QUIZ_TITLE).count() == 1


def test_create_poll_takes_the_quiz_settings(capsys: pytest.CaptureFixture[str]) -> None:
    call_command(
        "create_poll", "capital-q", "Capital?", "--choice", "A", "--choice", "B",
        "--quiz-correct", "2", "--quiz-seconds", "30", "--quiz-points", "500",
    )  # fmt: skip
    poll = Poll.objects.get(slug="capital-q")
    settings = quiz.settings_of(poll)
    assert settings is not None
    assert (settings.correct_positions, settings.seconds, settings.points) == ((2,), 30, 500)


def test_the_ranking_exports_as_csv_and_json_and_a_command_runs_the_countdown(session) -> None:
    first, _ = live_sessions.ordered_polls(session)
    call_command("session_countdown", session.code, stdout=io.StringIO())
    clock = quiz.countdown(first)
    assert clock is not None
    right = first.choices.get(label="Right").pk
    for voter, after in (("anon:a", 0), ("anon:b", 19_999)):  # the last ms in time
        Vote.objects.create(poll=first, voter_key=voter, choice_id=right, ballot=[right],
                            cast_at=timezone.now(), admitted_ms=clock.opens_ms + after)  # fmt: skip
    QuizPlayer.objects.create(session=session, voter_key="anon:b", nickname="=SUM(A1)")
    out = io.StringIO()
    call_command("quiz_scores", session.code, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "rank,name,score,correct_time_ms"
    assert lines[1] == f"1,{quiz.player_name('anon:a')},1000,0"
    assert lines[2] == "2,'=SUM(A1),500,19999", "a nickname never becomes a formula"
    out = io.StringIO()
    call_command("quiz_scores", session.code, "--json", stdout=out)
    assert json.loads(out.getvalue())[1] == {
        "rank": 2, "name": "=SUM(A1)", "score": 500, "correct_time_ms": 19999,
    }  # fmt: skip
    call_command("session_countdown", session.code, "--end", stdout=io.StringIO())
    assert LiveSession.objects.get(pk=session.pk).locked


def test_the_admin_exports_one_sessions_ranking_as_the_command_does(session, owner) -> None:
    first, _ = live_sessions.ordered_polls(session)
    live_sessions.start(session)
    clock = quiz.countdown(first)
    assert clock is not None
    right = first.choices.get(label="Right").pk
    Vote.objects.create(poll=first, voter_key="anon:a", choice_id=right, ballot=[right],
                        cast_at=timezone.now(), admitted_ms=clock.opens_ms + 10)  # fmt: skip
    admin = Client()
    admin.force_login(User.objects.create_superuser("ada", password="pw-ada-12345678"))
    url = "/admin/polls/livesession/"
    for action, kind in (("export_quiz_csv", "text/csv"), ("export_quiz_json", "json")):
        got = admin.post(url, {"action": action, "_selected_action": [session.pk]})
        assert got.status_code == 200
        assert kind in got["Content-Type"]
        assert "attachment" in got["Content-Disposition"]
        out = io.StringIO()
        call_command("quiz_scores", session.code, *(["--json"] if "json" in action else []),
                     stdout=out)  # fmt: skip
        assert got.content.decode() == out.getvalue()
    other = live_sessions.create_session(title="Other", owner=owner, polls=[quiz_poll(9)])
    chosen = {"action": "export_quiz_csv", "_selected_action": [session.pk, other.pk]}
    both = admin.post(url, chosen, follow=True)
    assert "Pick one session to export its quiz ranking." in both.content.decode()


# --- The reveal: each phone's own result in its socket's message ----------------------------


def quiz_socket(code: str, client: Client | None = None, language: str = "en") -> Any:
    from channels.testing import WebsocketCommunicator

    from votingsite.asgi import application

    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"accept-language", language.encode())]
    if client is not None and "voter" in client.cookies:
        headers.append((b"cookie", f"voter={client.cookies['voter'].value}".encode()))
    return WebsocketCommunicator(application, f"/ws/s/{code}/", headers=headers)


async def received(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.receive_from(timeout=15))
    return message


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_the_reveal_sends_each_phone_its_own_result_and_place_with_no_request(
    session, redis_client, own_queue
) -> None:
    """The reveal's session event carries every player's result keyed by a hash of their
    voter key; each audience socket is sent its own voter's, in its page's language: the
    right phone its points and place, the wrong one 0, one that did not answer so."""
    from asgiref.sync import async_to_sync, sync_to_async

    first, _ = live_sessions.ordered_polls(session)
    right, wrong = Client(), Client()
    right.get(f"/s/{session.code}/")  # the voter cookie, before the socket opens
    wrong.get(f"/s/{session.code}/")
    session = live_sessions.start(session)
    assert vote(first, right, "Right").status_code == 202
    assert vote(first, wrong, "Wrong").status_code == 202
    store_queued(redis_client, own_queue)
    right_key = Vote.objects.get(poll=first, choice__label="Right").voter_key
    points = quiz.result_of(first, right_key)
    assert points is not None
    assert 500 <= points.points <= 1000

    async def play() -> list[dict[str, Any]]:
        phones = [
            quiz_socket(session.code, right),
            quiz_socket(session.code, wrong, "de"),
            quiz_socket(session.code),  # a phone that never answered
        ]
        for ws in phones:
            assert (await ws.connect(timeout=15))[0]
            assert "quiz_mine" not in await received(ws)  # nothing before the reveal
        await sync_to_async(live_sessions.reveal)(session)
        mine = [(await received(ws)) for ws in phones]
        for ws in phones:
            await ws.disconnect()
        return mine

    shown_right, shown_wrong, shown_none = async_to_sync(play)()
    assert shown_right["reveal"] is True
    assert 'id="results"' in shown_right["results_part"]
    assert shown_right["quiz_mine"] == {
        "right": True,
        "text": f"Correct! +{points.points} points",
        "standing": f"Your score: {points.points}, place 1",
    }
    assert shown_wrong["quiz_mine"] == {
        "right": False,
        "text": "Nicht richtig: 0 Punkte.",
        "standing": "Ihre Punkte: 0, Platz 2",
    }
    assert shown_none["quiz_mine"] == {
        "right": False,
        "text": "No answer in time: 0 points.",
        "standing": "",
    }
    assert "results" not in shown_right["quiz_mine"]  # never the other players' map


def test_the_reveals_map_keys_players_by_a_hash_never_their_voter_key(session) -> None:
    first, _ = live_sessions.ordered_polls(session)
    live_sessions.start(session)
    Vote.objects.create(
        poll=first, choice=first.choices.get(label="Right"), voter_key="anon:x",
        cast_at=timezone.now(),
        admitted_ms=quiz.countdown(first).opens_ms + 10,  # type: ignore[union-attr]
    )  # fmt: skip
    revealed = quiz.revealed(first, session)
    assert revealed is not None
    assert list(revealed) == [voters.voter_tag("anon:x")]
    assert "anon:x" not in json.dumps(revealed)
    assert revealed[voters.voter_tag("anon:x")][1:3] == [1, 1]  # right, answered


# --- The leaderboard: changes of place, and the organiser's switch --------------------------


def answer(poll: Poll, voter_key: str, labels: str, after_ms: int) -> None:
    """A stored answer (labels joined by "+") `after_ms` after the countdown opened."""
    clock = quiz.countdown(poll)
    assert clock is not None
    ids = [poll.choices.get(label=label).pk for label in labels.split("+")]
    Vote.objects.create(poll=poll, voter_key=voter_key, choice_id=ids[0], ballot=ids,
                        cast_at=timezone.now(), admitted_ms=clock.opens_ms + after_ms)  # fmt: skip


def test_the_leaderboard_shows_each_players_change_of_place_since_the_previous_question(
    redis_client, session, owner
) -> None:
    """Question 1 (1,000 points, 20 s): a right at 0 s (1,000), b right at 10 s (750), c
    wrong (0): places a 1, b 2, c 3. Question 2 (multiple, key Right+Also): c at 0 s
    (1,000), d, new, at 10 s (750). Totals: a 1,000 and c 1,000 (both in 0 ms) share 1;
    b 750 and d 750 (both in 10 s) share 3. A third question follows (the last one's
    reveal shows the podium instead)."""
    polls = [quiz_poll(1), quiz_poll(2, correct="1,3", kind="multiple"), quiz_poll(3)]
    session = live_sessions.go_live(
        live_sessions.create_session(title="Longer quiz", owner=owner, polls=polls)
    )
    first, second, _third = live_sessions.ordered_polls(session)
    session = live_sessions.start(session)
    answer(first, "anon:a", "Right", 0)  # 1,000
    answer(first, "anon:b", "Right", 10_000)  # 750
    answer(first, "anon:c", "Wrong", 0)  # 0
    session = live_sessions.move(live_sessions.reveal(session), step=1)
    session = live_sessions.start(session)
    clock = quiz.countdown(second)
    assert clock is not None
    answer(second, "anon:c", "Right+Also", 0)
    answer(second, "anon:d", "Right+Also", 10_000)
    session = live_sessions.reveal(session)
    board = quiz.leaderboard(LiveSession.objects.get(pk=session.pk))
    names = [quiz.player_name(k) for k in ("anon:a", "anon:b", "anon:c", "anon:d")]
    assert {row["name"]: (row["rank"], row["move"]) for row in board} == {
        names[0]: (1, 0),
        names[2]: (1, 2),
        names[1]: (3, -1),
        names[3]: (3, "new"),
    }
    presenter = Client()
    presenter.force_login(owner)
    page = presenter.get(f"/present/{session.code}/").content.decode()
    assert "↑2" in page
    assert "up 2 places" in page
    assert "↓1" in page
    assert "down 1 place<" in page
    assert ">new<" in page


def test_an_organiser_can_turn_the_leaderboard_off_for_projector_and_phones(
    redis_client, session, owner
) -> None:
    first, _ = live_sessions.ordered_polls(session)
    LiveSession.objects.filter(pk=session.pk).update(quiz_leaderboard=False)
    session = live_sessions.start(LiveSession.objects.get(pk=session.pk))
    phone = Client()
    phone.get(f"/s/{session.code}/")
    phone_key = "anon:" + phone.cookies["voter"].value.split(":")[0]
    answer(first, phone_key, "Right", 0)
    session = live_sessions.reveal(session)
    presenter = Client()
    presenter.force_login(owner)
    page = presenter.get(f"/present/{session.code}/").content.decode()
    assert "Correct answer:" in page
    assert "Leaderboard" not in page
    assert quiz.leaderboard(LiveSession.objects.get(pk=session.pk)) == []
    shown = phone.get(f"/s/{session.code}/").content.decode()
    assert "Correct! +1000 points" in shown
    assert "place" not in shown.split('id="quiz"')[1].split("</section>")[0]
    revealed = quiz.revealed(first, LiveSession.objects.get(pk=session.pk))
    assert revealed == {voters.voter_tag(phone_key): [1000, 1, 1, 1000, 0]}
    words = quiz.reveal_words()
    assert quiz.own_result(words, revealed[voters.voter_tag(phone_key)])["standing"] == ""


# --- A phone after the deadline ---------------------------------------------------------------


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_after_the_deadline_a_phone_says_its_answer_is_in_and_offers_no_change(session) -> None:
    """A 202 is counted: once the time is up the phone's part no longer says "being
    stored" (the worker has not stored it yet here) nor offers to change the answer."""
    first, _ = live_sessions.ordered_polls(session)
    session = live_sessions.start(session)
    phone = Client()
    assert vote(first, phone, "Right").status_code == 202
    running = phone.get(f"/s/{session.code}/?part=poll").content.decode()
    assert "being stored" in running, "while the clock runs the answer is being stored"
    assert "Change my vote" in running
    session = live_sessions.lock(session)  # the presenter ends the countdown early
    closed = phone.get(f"/s/{session.code}/?part=poll").content.decode()
    assert "Time is up: your answer is in." in closed
    assert "being stored" not in closed
    assert "Change my vote" not in closed
    assert '<button type="submit">' not in closed
    silent = Client().get(f"/s/{session.code}/?part=poll").content.decode()
    assert "your answer is in" not in silent, "a phone that did not answer is told nothing"


# --- The end of the quiz: the podium and the final ranking ----------------------------------


def test_the_last_questions_reveal_shows_the_podium_with_shared_places(
    redis_client, session, owner
) -> None:
    """Question 1 (20 s, 1,000 points): a and b right at 0 s, c right at 10 s, d wrong.
    Question 2 (multiple, the last): nobody answers. a and b share place 1 (equal score,
    equal time), c is 3 (the tie rule: 1, 1, 3), d with no points stands on no step."""
    first, _second = live_sessions.ordered_polls(session)
    session = live_sessions.start(session)
    for key, labels, after in (("anon:a", "Right", 0), ("anon:b", "Right", 0),
                               ("anon:c", "Right", 10_000), ("anon:d", "Wrong", 0)):  # fmt: skip
        answer(first, key, labels, after)
    session = live_sessions.reveal(session)
    assert not quiz.last_question(session), "the quiz goes on: no podium yet"
    assert quiz.final_of(session, "anon:a") is None
    session = live_sessions.start(live_sessions.move(session, step=1))
    session = live_sessions.reveal(session)
    assert quiz.last_question(session)
    a, b, c = (quiz.player_name(k) for k in ("anon:a", "anon:b", "anon:c"))
    assert quiz.podium(session) == {
        "steps": [
            {"rank": 1, "score": 1000, "names": sorted([a, b], key=lambda n: n != a), "more": 0},
            {"rank": 3, "score": 750, "names": [c], "more": 0},
        ],
        "players": 4,
    }
    presenter = Client()
    presenter.force_login(owner)
    page = presenter.get(f"/present/{session.code}/").content.decode()
    assert "Final ranking" in page
    assert 'class="step step-1"' in page
    assert 'class="step step-3"' in page
    assert "step-2" not in page
    final = quiz.final_of(session, "anon:c")
    assert final is not None
    assert final["text"] == "The quiz is over: you finished in place 3 of 4 with 750 points."
    # Each phone gets the same from the reveal's message (its socket picks its row).
    reveal = parts.quiz_reveal(session, {"reveal": True, "quiz": quiz.state_of(session)})
    assert reveal is not None
    mine = quiz.own_result(reveal["words"]["fr"], reveal["results"][voters.voter_tag("anon:d")])
    assert mine["final"] == "Le quiz est terminé : vous finissez à la place 4 sur 4 avec 0 points."
    assert "Classement final" in mine["podium"]


def test_with_the_leaderboard_off_the_end_shows_no_podium_and_each_phone_its_score(
    redis_client, session
) -> None:
    first, _second = live_sessions.ordered_polls(session)
    LiveSession.objects.filter(pk=session.pk).update(quiz_leaderboard=False)
    session = live_sessions.start(LiveSession.objects.get(pk=session.pk))
    answer(first, "anon:a", "Right", 0)
    session = live_sessions.start(live_sessions.move(session, step=1))
    session = live_sessions.reveal(session)
    final = quiz.final_of(session, "anon:a")
    assert final == {"text": "The quiz is over: your score is 1000 points.", "podium": None}
    reveal = parts.quiz_reveal(session, {"reveal": True, "quiz": quiz.state_of(session)})
    assert reveal is not None
    assert "podium" not in reveal["words"]["en"]


def test_a_logged_in_voter_plays_under_their_account_unless_they_pick_a_nickname(
    redis_client, session, owner
) -> None:
    first, _second = live_sessions.ordered_polls(session)
    ada = User.objects.create_user("ada-lovelace", password="pw-ada-12345")
    bob = User.objects.create_user("bob-builder", password="pw-bob-12345")
    quiz.set_nickname(session, f"user:{bob.pk}", "Bobby")
    session = live_sessions.start(session)
    answer(first, f"user:{ada.pk}", "Right", 0)
    answer(first, f"user:{bob.pk}", "Right", 10_000)
    answer(first, "anon:c", "Right", 15_000)
    session = live_sessions.reveal(session)
    board = quiz.leaderboard(LiveSession.objects.get(pk=session.pk))
    assert [row["name"] for row in board] == ["ada-lovelace", "Bobby", quiz.player_name("anon:c")]
    assert [row["name"] for row in quiz.export_rows(session)][:2] == ["ada-lovelace", "Bobby"]
