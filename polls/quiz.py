"""Quiz questions (issue 36): who answered right, how fast, and the standings.

A quiz question is a single- or multiple-choice poll with quiz settings (its correct
choices, a time limit, points: polls.kinds.base.quiz_settings). Its presenter starts its
countdown (polls.live_sessions.start); the admission admits answers only until Redis's
deadline (polls.openness.start_countdown). Scores are never stored: they derive from the
stored answers (each ballot's `admitted_ms`) and the opening time recorded on the
countdown's admission version, by the one integer rule in polls.counting.quiz, so a
corrected answer key or a recount recomputes every score, and nothing can drift.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from polls import gates, openness, profanity, voters
from polls.counting import quiz as rules
from polls.kinds.base import QuizSettings, quiz_settings
from polls.models import AdmissionChange, LiveSession, Poll, QuizPlayer, SessionPoll, Vote

TOP = 10  # the projector's leaderboard


@dataclass(frozen=True)
class Countdown:
    """A started question's countdown on Redis's clock (ms since the epoch)."""

    opens_ms: int
    closes_ms: int
    limit_ms: int

    def left_ms(self, now_ms: int) -> int:
        return max(0, self.closes_ms - now_ms)


def settings_of(poll: Poll) -> QuizSettings | None:
    return quiz_settings(poll)


def correct_ids(poll: Poll, settings: QuizSettings) -> tuple[int, ...]:
    """The correct choices' ids: positions count the choices in their order, from 1."""
    ids = list(poll.choices.order_by("position", "id").values_list("id", flat=True))
    return tuple(ids[p - 1] for p in settings.correct_positions if 0 < p <= len(ids))


def revealed_key(poll: Poll) -> tuple[int, ...]:
    """The correct choices' ids a revealed question's chart marks (none if no quiz)."""
    settings = settings_of(poll)
    return () if settings is None else correct_ids(poll, settings)


def _started(poll_id: int) -> AdmissionChange | None:
    return (
        AdmissionChange.objects.filter(poll_id=poll_id, limit_ms__isnull=False)
        .order_by("-id")
        .first()
    )


def started(poll: Poll) -> bool:
    """Whether its countdown was ever started (a question is played once)."""
    return _started(poll.pk) is not None


def countdown(poll: Poll) -> Countdown | None:
    """The question's countdown: Postgres's record of it, else Redis's copy (just opened,
    not recorded yet); None before it starts."""
    row = _started(poll.pk)
    if row is None or row.limit_ms is None:
        return None
    if row.opens_at is not None and row.closes_at is not None:
        return Countdown(openness.to_ms(row.opens_at), openness.to_ms(row.closes_at), row.limit_ms)
    copy = gates.read([poll.pk]).get(poll.pk)
    if copy is None or copy.version != row.pk or copy.opens_ms is None:
        return None
    return Countdown(copy.opens_ms, copy.closes_ms or copy.opens_ms, row.limit_ms)


def now_ms() -> int:
    """Redis's clock: the one the deadline is on."""
    return gates.clock_ms()


def player_name(voter_key: str) -> str:
    """A player's shown name without a nickname: anonymous, stable within the site."""
    number = int(hashlib.sha256(voter_key.encode()).hexdigest()[:8], 16) % 10000
    return f"#{number:04d}"


def _answers(poll: Poll, clock: Countdown) -> list[rules.Answer]:
    rows = Vote.objects.filter(
        poll=poll, admitted_ms__gte=clock.opens_ms, admitted_ms__lt=clock.closes_ms
    ).values_list("voter_key", "choice_id", "ballot", "admitted_ms")
    answers = []
    for voter_key, choice_id, ballot, admitted in rows:
        if admitted is None:
            continue  # not within the countdown (the filter says so; for the type)
        choices = tuple(ballot) if ballot else (choice_id,) if choice_id else ()
        answers.append(rules.Answer(voter_key, choices, admitted - clock.opens_ms))
    return answers


def played(poll: Poll) -> tuple[rules.Question, list[rules.Answer]] | None:
    """A played question and its answers within its countdown; None if unplayed."""
    settings = settings_of(poll)
    clock = countdown(poll)
    if settings is None or clock is None:
        return None
    question = rules.Question(correct_ids(poll, settings), settings.points, clock.limit_ms)
    return question, _answers(poll, clock)


def standings(session: LiveSession) -> list[rules.Standing]:
    """Every player's total over the session's played quiz questions, best first."""
    polls = [
        entry.poll
        for entry in SessionPoll.objects.filter(session=session)
        .select_related("poll")
        .order_by("position", "id")
    ]
    games = [game for game in (played(p) for p in polls) if game is not None]
    return rules.standings(games)


def _standings_before(session: LiveSession, poll: Poll | None) -> list[rules.Standing] | None:
    """The standings over the played questions but `poll` (the one just revealed): the
    places the leaderboard's changes are measured from; None if no other was played."""
    entries = SessionPoll.objects.filter(session=session).exclude(poll=poll)
    polls = [entry.poll for entry in entries.select_related("poll").order_by("position", "id")]
    games = [game for game in (played(p) for p in polls) if game is not None]
    return rules.standings(games) if games else None


@dataclass(frozen=True)
class Result:
    """What one player's phone says after the reveal."""

    right: bool
    points: int
    answered: bool


def result_of(poll: Poll, voter_key: str) -> Result | None:
    game = played(poll)
    if game is None:
        return None
    question, answers = game
    mine = next((a for a in answers if a.player == voter_key), None)
    if mine is None:
        return Result(False, 0, False)
    points, _taken = rules.score(question, mine)
    return Result(rules.is_right(mine.choices, question.correct), points, True)


# A reveal's per-player results ride on the session event only up to this many players
# (about 60 bytes each: 1.2 MB at most through Redis); past it the phones fetch their part.
MOST_REVEALED = 20_000


def revealed(poll: Poll, session: LiveSession) -> dict[str, list[int]] | None:
    """Each player's result of a revealed question and standing after it, keyed by
    polls.voters.voter_tag: [points, right, answered, score, rank] (0/1 for the flags),
    for every player of the session so far; a player not in it answered nothing yet.
    The rank is 0 when the organiser turned the leaderboard off (no place on the phones).
    None when the question was not played, or past MOST_REVEALED players."""
    game = played(poll)
    if game is None:
        return None
    question, answers = game
    table = standings(session)
    if len(table) > MOST_REVEALED:
        return None
    mine = {a.player: a for a in answers}
    results = {}
    for row in table:
        answer = mine.get(row.player)
        points = 0 if answer is None else rules.score(question, answer)[0]
        right = answer is not None and rules.is_right(answer.choices, question.correct)
        results[voters.voter_tag(row.player)] = [
            points,
            int(right),
            int(answer is not None),
            row.score,
            row.rank if session.quiz_leaderboard else 0,  # no places on the phones
        ]
    return results


def reveal_words() -> dict[str, str]:
    """The phone's words for its own result, in the active language, with their
    placeholders left for each socket to fill (results.sessions): the page's own msgids."""
    return {
        "right": _("Correct! +%(points)s points"),
        "wrong": _("Not correct: 0 points."),
        "none": _("No answer in time: 0 points."),
        "standing": _("Your score: %(score)s, place %(rank)s"),
    }


def final_words(players: int) -> dict[str, str]:
    """The phone's words at the end of the quiz (the last quiz question revealed), in the
    active language: its final place (or its score alone with the leaderboard off)."""
    return {
        "final": _(
            "The quiz is over: you finished in place %(rank)s of %(players)s with %(score)s points."
        ),
        "final_score": _("The quiz is over: your score is %(score)s points."),
        "players": str(players),
    }


def own_result(words: dict[str, str], row: list[int] | None) -> dict[str, Any]:
    """One phone's result from the reveal's row for it (revealed) and the words; at the
    end of the quiz also its final place and the podium (rendered once per language)."""
    if row is None:
        mine: dict[str, Any] = {"right": False, "text": words["none"], "standing": ""}
        score, rank = 0, 0
    else:
        points, right, answered, score, rank = row
        said = words["wrong" if answered else "none"]
        text = words["right"] % {"points": points} if right else said
        mine = {
            "right": bool(right),
            "text": text,
            "standing": words["standing"] % {"score": score, "rank": rank} if rank else "",
        }
    if "final" in words:
        filled = {"rank": rank, "score": score, "players": words["players"]}
        mine["final"] = words["final" if rank else "final_score"] % filled
        mine["podium"] = words.get("podium", "")
    return mine


def rank_of(table: Sequence[rules.Standing], voter_key: str) -> rules.Standing | None:
    return next((row for row in table if row.player == voter_key), None)


def state_of(session: LiveSession) -> dict[str, Any] | None:
    """The current quiz question's countdown for the session's event and pages: its
    deadline and Redis's now (ms since the epoch), so a page shows the time left by the
    server's clock, not its own guess; None when the current question is no quiz question."""
    poll = session.current_poll
    settings = None if poll is None else settings_of(poll)
    if poll is None or settings is None:
        return None
    clock = countdown(poll)
    now = now_ms()
    return {
        "limit_ms": settings.limit_ms,
        "points": settings.points,
        "started": clock is not None,
        "opens_ms": clock.opens_ms if clock else None,
        "deadline_ms": clock.closes_ms if clock else None,
        "now_ms": now,
        "left_ms": clock.left_ms(now) if clock else None,
        "left_s": -(-clock.left_ms(now) // 1000) if clock else None,  # whole seconds, up
        "seconds": settings.seconds,
        "running": bool(clock and clock.left_ms(now) > 0 and not session.locked),
    }


def leaderboard(session: LiveSession, *, top: int = TOP) -> list[dict[str, object]]:
    """The projector's top players with their scores (shared ranks) and their changes of
    place since the previous question (`move`); [] when the organiser turned it off."""
    if not session.quiz_leaderboard:
        return []
    rows = standings(session)[:top]
    names = shown_names(session, [row.player for row in rows])
    before = _standings_before(session, session.current_poll)
    places = None if before is None else {row.player: row.rank for row in before}
    board: list[dict[str, object]] = []
    for row in rows:
        moved = move(places, row.player, row.rank)
        board.append(
            {
                "rank": row.rank,
                "name": names[row.player],
                "score": row.score,
                "move": moved,
                "places": abs(moved) if isinstance(moved, int) else 0,  # for the words
            }
        )
    return board


# --- The end of a quiz: the podium and the final ranking --------------------------------------

PODIUM_NAMES = 5  # names on one step of the podium (a shared place); the rest are counted


def last_question(session: LiveSession) -> bool:
    """Whether the current question is the session's last quiz question and was played:
    its reveal ends the quiz (the podium and the final ranking)."""
    poll = session.current_poll
    if poll is None or settings_of(poll) is None or not started(poll):
        return False
    later = SessionPoll.objects.filter(session=session).order_by("position", "id")
    order = [entry.poll for entry in later.select_related("poll")]
    quizzes = [p.pk for p in order if settings_of(p) is not None]
    return bool(quizzes) and quizzes[-1] == poll.pk


def on_podium(row: rules.Standing | dict[str, Any]) -> bool:
    """Places 1 to 3 with points stand on the podium (a leaderboard row or a standing)."""
    rank, score = (row["rank"], row["score"]) if isinstance(row, dict) else (row.rank, row.score)
    return rank <= 3 and score > 0


def podium(session: LiveSession, table: Sequence[rules.Standing] | None = None) -> dict[str, Any]:
    """The top three places (ties share a place, as the tie rule says: 1, 1, 3), each with
    its players' names (at most PODIUM_NAMES, the others counted) and score; players with
    no points stand on no step. `players`: everyone ranked (the final ranking's length)."""
    rows = list(standings(session) if table is None else table)
    top = [row for row in rows if on_podium(row)]
    names = shown_names(session, [row.player for row in top])
    steps: list[dict[str, Any]] = []
    for row in top:
        if not steps or steps[-1]["rank"] != row.rank:
            steps.append({"rank": row.rank, "score": row.score, "names": [], "more": 0})
        step = steps[-1]
        if len(step["names"]) < PODIUM_NAMES:
            step["names"].append(names[row.player])
        else:
            step["more"] += 1
    return {"steps": steps, "players": len(rows)}


def final_of(session: LiveSession, voter_key: str | None) -> dict[str, Any] | None:
    """A phone's end of the quiz as a reload draws it (the socket brings the same at the
    reveal: own_result): its final words, and the podium unless the leaderboard is off."""
    if not session.reveal or not last_question(session):
        return None
    table = standings(session)
    mine = None if voter_key is None else rank_of(table, voter_key)
    rank = mine.rank if mine and session.quiz_leaderboard else 0
    words = final_words(len(table))
    said = {"rank": rank, "score": mine.score if mine else 0, "players": len(table)}
    return {
        "text": words["final" if rank else "final_score"] % said,
        "podium": podium(session, table) if session.quiz_leaderboard else None,
    }


def move(places: dict[str, int] | None, player: str, rank: int) -> int | str | None:
    """A leaderboard row's change of place since the previous question: places gained
    (negative: lost), "new" for a player with no place before, None on the first question."""
    if places is None:
        return None
    if player not in places:
        return "new"
    return places[player] - rank


# --- Nicknames ----------------------------------------------------------------------------

NICKNAME_MAX = 24


class NicknameRefused(ValueError):
    """A nickname the session cannot take; the message says why."""


def nicknames(session: LiveSession, voter_keys: Sequence[str]) -> dict[str, str]:
    return dict(
        QuizPlayer.objects.filter(session=session, voter_key__in=list(voter_keys)).values_list(
            "voter_key", "nickname"
        )
    )


def shown_names(session: LiveSession, voter_keys: Sequence[str]) -> dict[str, str]:
    """Each player's name on the leaderboard, the podium and the export: their nickname,
    else a logged-in voter's account name (they play under their account), else an
    anonymous #number."""
    names = nicknames(session, voter_keys)
    unnamed = [key for key in voter_keys if key not in names and voters.is_user_key(key)]
    users = {int(key.split(":", 1)[1]): key for key in unnamed}
    accounts = get_user_model().objects.filter(pk__in=list(users)).values_list("pk", "username")
    names |= {users[pk]: username for pk, username in accounts}
    return {key: names.get(key) or player_name(key) for key in voter_keys}


def nickname_of(session: LiveSession, voter_key: str) -> str:
    return nicknames(session, [voter_key]).get(voter_key, "")


def quiz_started(session: LiveSession) -> bool:
    """Whether any of the session's quiz questions has been started."""
    polls = SessionPoll.objects.filter(session=session).values("poll_id")
    return AdmissionChange.objects.filter(poll_id__in=polls, limit_ms__isnull=False).exists()


def set_nickname(session: LiveSession, voter_key: str, text: str) -> str:
    """Take a player's nickname: trimmed, 1-24 characters, not caught by the profanity
    filter (refused with a clear message, never silently replaced: the player picks
    another), unique within the session (case aside), changeable until the first
    question starts."""
    nickname = " ".join(text.split())
    if not nickname:
        raise NicknameRefused(_("Type a nickname."))
    if len(nickname) > NICKNAME_MAX:
        raise NicknameRefused(_("A nickname has at most %(n)s characters.") % {"n": NICKNAME_MAX})
    if profanity.check(nickname) is not None:
        raise NicknameRefused(_("Please choose another nickname: this one is not allowed."))
    if quiz_started(session):
        raise NicknameRefused(_("The quiz has started: nicknames can no longer change."))
    try:
        with transaction.atomic():
            QuizPlayer.objects.update_or_create(
                session=session, voter_key=voter_key, defaults={"nickname": nickname}
            )
    except IntegrityError as exc:
        raise NicknameRefused(_("That nickname is taken in this session: pick another.")) from exc
    return nickname


def audit(poll: Poll) -> tuple[str, bool]:
    """recount's line for a played quiz question, and whether it shows a fault: answers
    stored as admitted outside the countdown (admission refuses them: a bug), or a
    countdown whose times only Redis knows (they are recorded right after its write)."""
    row = _started(poll.pk)
    if settings_of(poll) is None or row is None:
        return "", False
    if row.opens_at is None or row.closes_at is None:
        return "quiz: countdown started but its times are not recorded in Postgres", True
    clock = countdown(poll)
    if clock is None:
        return "", False
    game = played(poll)
    scored = 0 if game is None else len(game[1])
    late = Vote.objects.filter(poll=poll, admitted_ms__gte=clock.closes_ms).count()
    line = (
        f"quiz: countdown {clock.opens_ms}-{clock.closes_ms} ms (Redis's clock), "
        f"{scored} answers scored, {late} admitted after the deadline"
    )
    return line, late > 0


def has_quiz(session: LiveSession) -> bool:
    """Whether the session holds any quiz question (its audience may pick nicknames)."""
    return any(
        settings_of(entry.poll) is not None
        for entry in SessionPoll.objects.filter(session=session).select_related("poll")
    )


def export_rows(session: LiveSession) -> list[dict[str, Any]]:
    """The full ranking for an export: place, name, score, total time of correct answers."""
    rows = standings(session)
    names = shown_names(session, [row.player for row in rows])
    return [
        {
            "rank": row.rank,
            "name": names[row.player],
            "score": row.score,
            "correct_time_ms": row.time_ms,
        }
        for row in rows
    ]


EXPORT_FIELDS = ["rank", "name", "score", "correct_time_ms"]


def export_csv(session: LiveSession) -> str:
    """The full ranking as CSV (the admin's export and `quiz_scores`). A nickname is the
    players' own text: a leading =, +, - or @ must not become a spreadsheet formula (the
    same guard as the results' CSV)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in export_rows(session):
        name = str(row["name"])
        writer.writerow({**row, "name": "'" + name if name[:1] in "=+-@\t\r" else name})
    return out.getvalue()


def export_json(session: LiveSession) -> str:
    return json.dumps(export_rows(session), ensure_ascii=False, indent=2)
