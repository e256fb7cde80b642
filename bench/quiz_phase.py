"""The quiz phase (issue 36): N phones answer one quiz question within its 20 s countdown.

Each phone holds an audience socket of the session (bench.wsclient) and answers through
polls.pipeline.submit.submit_vote, the function the vote views call (queued exactly as an
HTTP answer, without paying for HTTP), as fast as 16 threads go; a few more answer after
the deadline. Figures: every answer before the deadline accepted and scored, every one
after refused (time_up); the leaderboard ready after the deadline (every accepted answer
stored by the worker, then the presenter's leaderboard computed from them); each phone's
own result and rank on its socket after the reveal (the event carries every player's row,
each socket picks its own: polls.live.parts.quiz_reveal)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import db

SECONDS = 20
LATE = 50  # answers sent after the deadline: each must be refused


def run_one(phones: int, owner: Any, clients: Any, tools: Any) -> dict[str, Any]:
    """One quiz of `phones` players. `clients(code)` starts the socket clients for the
    session's audience page and returns them; `tools` is bench.phases (pct, _ready,
    _collect, _close)."""
    from polls import live_sessions, organising, quiz, selectors
    from polls.pipeline import submit
    from polls.voters import voter_key_for

    tag = time.monotonic_ns()
    made = organising.create_poll(
        slug=f"bench-quiz-{phones}-{tag}", question="2 + 2?", labels=["4", "5", "22"],
        open_now=True, options={"quiz_correct": "1", "quiz_seconds": SECONDS},
    )  # fmt: skip
    session = live_sessions.go_live(
        live_sessions.create_session(title=f"Bench quiz {phones}", owner=owner, polls=[made])
    )
    sockets = clients(session.code)
    reported = False
    try:
        connected = tools._ready(sockets)
        print(f"  {connected}/{phones} audience sockets connected")
        session = live_sessions.start(session)
        clock = quiz.countdown(made)
        if clock is None:
            raise RuntimeError("the countdown did not start")
        poll = selectors.poll_for_voting(slug=made.slug, fresh=True)
        choices = [c.id for c in poll.choices.all()]

        def answer(i: int) -> tuple[bool, str, int]:
            key = voter_key_for(user_id=None, anonymous_id=f"q{tag}x{i}")
            sent = quiz.now_ms()
            try:
                # Two in three right (the first choice), one in three wrong.
                submit.submit_vote(poll=poll, choice_id=choices[int(i % 3 == 0)], voter_key=key)
            except submit.VoteError as refused:
                return False, getattr(refused, "code", type(refused).__name__), sent
            return True, "", sent

        began = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(answer, range(phones)))
        answering_s = time.monotonic() - began
        time.sleep(max(0.0, (clock.closes_ms - quiz.now_ms()) / 1000) + 0.05)
        deadline_mono = time.monotonic() - max(0, quiz.now_ms() - clock.closes_ms) / 1000
        with ThreadPoolExecutor(8) as pool:
            late = list(pool.map(answer, range(phones, phones + LATE)))
        accepted = sum(ok for ok, _, _ in results)
        in_time_refused = [code for ok, code, sent in results if not ok and sent < clock.closes_ms]
        # The leaderboard is ready once the worker has stored every accepted answer and the
        # presenter's leaderboard is computed from them (as the reveal's part does).
        while db.stored(made.pk)["votes"] < accepted:
            if time.monotonic() - deadline_mono > 120:
                break
            time.sleep(0.02)
        stored_after_s = time.monotonic() - deadline_mono
        computed = time.monotonic()
        board = quiz.leaderboard(session)
        table = quiz.standings(session)
        leaderboard_s = time.monotonic() - deadline_mono
        board_compute_s = time.monotonic() - computed
        # The reveal: every phone's own result and rank on its socket.
        shown = time.monotonic()
        session = live_sessions.reveal(session)
        time.sleep(5 if phones <= 1_000 else 10)  # a slow delivery finishes first
        arrivals = tools._collect(sockets, {session.seq})
        reported = True
    finally:
        tools._close(sockets, reported)
        live_sessions.end(session)
    delays = [t - shown for t in arrivals.get(session.seq, [])]
    return {
        "phones": phones,
        "connected": connected,
        "countdown_s": SECONDS,
        "answering_s": round(answering_s, 2),
        "accepted_before_deadline": accepted,
        "refused_before_deadline": len(in_time_refused),
        "refusals_before_deadline": sorted(set(in_time_refused)),
        "late_sent": LATE,
        "late_refused_time_up": sum(1 for ok, code, _ in late if not ok and code == "time_up"),
        "late_accepted": sum(ok for ok, _, _ in late),
        "scored": len(table),
        "all_stored_after_deadline_ms": round(stored_after_s * 1000, 1),
        "leaderboard_ready_after_deadline_ms": round(leaderboard_s * 1000, 1),
        "leaderboard_compute_ms": round(board_compute_s * 1000, 1),
        "leaderboard_rows": len(board),
        "own_rank_delivered": len(delays),
        "own_rank_p50_ms": round(tools.pct(delays, 50) * 1000, 1),
        "own_rank_p99_ms": round(tools.pct(delays, 99) * 1000, 1),
        "own_rank_max_ms": round(max(delays, default=0.0) * 1000, 1),
    }
