"""The Q&A phase (issue 35): P phones, Q questions and U upvote actions within 60 s.

P audience sockets of a live session with a Q&A board (bench.wsclient, picows, recording
the board's `qna` snapshots by seq). Questions and upvotes are admitted by polls.qna.ask
and polls.qna.upvote, the functions the views and the API call (one Redis round trip
each, then queued; not HTTP), from 8 threads. Upvotes come in rounds: in each round every
phone sends one action, the wanted state of one question (up, or, one time in five, taken
back: down on a question it upvoted before); the last action of each (phone, question)
wins. Figures: every 202 counted once (each question's count equals the phones' last
wanted states); the counts equal a recount from the stored actions (polls.qna.recount);
each phone has the board's final snapshot (the seq after the last action is stored)
p50/p99 after the last action's 202. The presenter's socket gets the same event
(results/sessions.py: PresenterConsumer is a SessionConsumer); it is not measured apart.

Then the cost of a board's size: boards of 100 and 10,000 shown questions (inserted
directly), the snapshot every push computes (polls.qna_reads.snapshot, in this process)
and the API's first page (GET /api/sessions/<code>/questions?limit=50 from the voting
role over HTTP), p50 and p99 of SIZE_SAMPLES each, the two sizes sampled in turn; the
issue asks for 10,000 within 2x of 100."""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import phases, profile

THREADS = 8
STORE_BOUND_SECONDS = 420  # waiting for the worker to store every action
BOARD_SIZES = (100, 10_000)
SIZE_SAMPLES = 100


def run(run_: phases.Run, *, quick: bool) -> None:
    from django.contrib.auth.models import User
    from django.db import connections

    from polls import live_sessions, qna
    from polls.models import QnaBoard, Question
    from polls.voters import voter_key_for

    phones, questions, actions, seconds = (200, 30, 2_000, 10) if quick else (
        2_000, 300, 20_000, 60)  # fmt: skip
    _, results_role = run_.web()
    run_.start_worker()
    run_.set_phase(f"qna-{phones}")
    tag = time.monotonic_ns()
    owner = User.objects.create_user(f"bench-qna-{tag}")
    session = live_sessions.go_live(
        live_sessions.create_session(title=f"Bench Q&A {phones}", owner=owner, polls=[], qna=True)
    )
    board = qna.enable(session, moderation=QnaBoard.Moderation.AFTER)
    keys = [voter_key_for(user_id=None, anonymous_id=f"a{tag}x{i}") for i in range(phones)]
    ws_url = results_role.url.replace("http://", "ws://") + f"/ws/s/{session.code}/"
    clients = phases._viewer_clients(
        [(ws_url, results_role.url)], phones, run_.sizes.fanout_clients, "qna"
    )
    reported = False
    refused: dict[str, int] = {}

    def admitted(call: Any) -> bool:
        try:
            call()
        except qna.QnaError as error:
            refused[error.code] = refused.get(error.code, 0) + 1
            return False
        return True

    # One pool for the whole phase: each thread holds a Postgres connection (shared server).
    pool = ThreadPoolExecutor(THREADS)
    try:
        connected = phases._ready(clients)
        print(f"  {connected}/{phones} phones connected")
        began = time.monotonic()
        asked = sum(pool.map(lambda i: admitted(lambda: qna.ask(
                board, voter_key=keys[i % phones], text=f"Question {i}: what about part {i}?"
            )), range(questions)))  # fmt: skip
        while board.questions.count() < asked and time.monotonic() - began < 60:
            time.sleep(0.05)
        ids = [str(u) for u in board.questions.order_by("pk").values_list("uuid", flat=True)]
        # The plan: `rounds` rounds, one action a phone each; the wanted states kept here.
        rounds = actions // phones
        rng = random.Random(35)
        ups: list[set[str]] = [set() for _ in range(phones)]  # each phone's upvoted, planned
        plan: list[list[tuple[int, str, bool]]] = []
        for _ in range(rounds):
            step = []
            for p in range(phones):
                if ups[p] and rng.random() < 0.2:
                    back = rng.choice(sorted(ups[p]))
                    ups[p].discard(back)
                    step.append((p, back, False))
                else:
                    # The first questions far more often, as a room upvotes.
                    chosen = ids[min(len(ids) - 1, int(len(ids) * rng.random() ** 2))]
                    ups[p].add(chosen)
                    step.append((p, chosen, True))
            plan.append(step)
        expected: dict[tuple[int, str], bool] = {}
        ok = 0
        voting_began = time.monotonic()
        spy = None
        if run_.profile and run_.worker is not None:  # the worker while it stores the upvotes
            spy = profile.start(run_.worker, f"worker-qna-{phones}", seconds)
        for r, step in enumerate(plan):
            due = voting_began + r * seconds * 0.8 / rounds  # within 80 % of the minute
            time.sleep(max(0.0, due - time.monotonic()))
            done = list(pool.map(lambda a: admitted(lambda: qna.upvote(
                    board, voter_key=keys[a[0]], question=a[1], up=a[2])), step))  # fmt: skip
            for (p, q, up), accepted in zip(step, done, strict=True):
                if accepted:
                    expected[(p, q)] = up
                    ok += 1
        last = time.monotonic()
        upvoting_s = last - voting_began
        want = dict.fromkeys(ids, 0)
        for (_, q), up in expected.items():
            want[q] += up
        # Stored: every question's count is what the phones last wanted (or 60 s pass).
        while time.monotonic() - last < STORE_BOUND_SECONDS:
            if _counts(board) == want:
                break
            time.sleep(0.05)
        stored_s = time.monotonic() - last
        got = _counts(board)
        final_seq = QnaBoard.objects.get(pk=board.pk).seq
        profiled = profile.finish(spy) if spy else None
        time.sleep(5)  # the final snapshot reaches every phone
        arrivals = phases._collect(clients, {final_seq})
        reported = True
    finally:
        phases._close(clients, reported)
        live_sessions.end(session)
        list(pool.map(lambda _: connections.close_all(), range(THREADS)))
        pool.shutdown()
    delays = [t - last for t in arrivals[final_seq]]
    mismatched = qna.recount(board)
    result = {
        "phones": phones,
        "connected": connected,
        "questions_asked": asked,
        "upvote_actions_sent": rounds * phones,
        "upvote_actions_accepted": ok,
        "taken_back": sum(1 for step in plan for a in step if not a[2]),
        "refused": refused,
        "upvoting_seconds": round(upvoting_s, 1),
        "counted_once": got == want,
        "upvotes_counted": sum(got.values()),
        "recount_mismatches": len(mismatched),
        "all_stored_after_last_ms": round(stored_s * 1000, 1),
        "final_seq": final_seq,
        "final_delivered": len(delays),
        "final_p50_ms": round(phases.pct(delays, 50) * 1000, 1),
        "final_p99_ms": round(phases.pct(delays, 99) * 1000, 1),
        "final_max_ms": round(max(delays, default=0.0) * 1000, 1),
        "questions_shown": Question.objects.filter(board=board, state="shown").count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if profiled:
        result["worker_profile"] = profiled
    result["board_sizes"] = _board_sizes(run_, owner)
    run_.figures["qna"] = result
    print(
        f"  {phones} phones, {asked} questions, {ok}/{rounds * phones} upvote actions in"
        f" {result['upvoting_seconds']} s (refused {refused}): counted once {got == want},"
        f" recount mismatches {len(mismatched)}; stored {result['all_stored_after_last_ms']} ms"
        f" after the last; final order on {len(delays)}/{connected} phones p50"
        f" {result['final_p50_ms']} ms, p99 {result['final_p99_ms']} ms"
    )


def _board_sizes(run_: phases.Run, owner: Any) -> dict[str, Any]:
    """The snapshot's and the API's cost on boards of BOARD_SIZES questions, sampled in
    turn (one of each size, again and again) so that both sizes meet the same load."""
    import uuid

    from django.utils import timezone

    from polls import live_sessions, qna_reads
    from polls.models import Question

    voting, _ = run_.web()
    rng = random.Random(10)
    boards = {}
    for size in BOARD_SIZES:
        made = live_sessions.create_session(
            title=f"Bench board {size}", owner=owner, polls=[], qna=True
        )
        session = live_sessions.go_live(made)
        now = timezone.now()
        Question.objects.bulk_create(
            [Question(board=session.qna_board, uuid=uuid.uuid4(), voter_key=f"anon:size{n}",
                      text=f"Question {n} of {size}: what about part {n}?", asked_at=now,
                      admitted_ms=n, upvotes=int(200 * rng.random() ** 3),
                      answered_at=now if rng.random() < 0.1 else None)
             for n in range(size)],
            batch_size=2_000,
        )  # fmt: skip
        url = f"{voting.url}/api/sessions/{session.code}/questions?limit=50"
        boards[size] = (session, url)
        phases._time_api(url, 5)  # warm up
    snapshot: dict[int, list[float]] = {size: [] for size in BOARD_SIZES}
    api: dict[int, list[float]] = {size: [] for size in BOARD_SIZES}
    for _ in range(SIZE_SAMPLES):
        for size, (session, url) in boards.items():
            start = time.perf_counter()
            qna_reads.snapshot(session.qna_board)
            snapshot[size].append(time.perf_counter() - start)
            api[size] += phases._time_api(url, 1)
    out: dict[str, Any] = {"load_average": [round(x, 2) for x in os.getloadavg()]}
    for size, (session, _url) in boards.items():
        live_sessions.end(session)
        out[f"questions_{size}"] = {
            "snapshot_p50_ms": round(phases.pct(snapshot[size], 50) * 1000, 2),
            "snapshot_p99_ms": round(phases.pct(snapshot[size], 99) * 1000, 2),
            "api_p50_ms": round(phases.pct(api[size], 50) * 1000, 2),
            "api_p99_ms": round(phases.pct(api[size], 99) * 1000, 2),
        }
        print(f"  a board of {size} questions: snapshot p50"
              f" {out[f'questions_{size}']['snapshot_p50_ms']} ms, API p50"
              f" {out[f'questions_{size}']['api_p50_ms']} ms")  # fmt: skip
    small, big = (out[f"questions_{n}"] for n in BOARD_SIZES)
    out["ratio_snapshot_p50"] = round(big["snapshot_p50_ms"] / small["snapshot_p50_ms"], 2)
    out["ratio_api_p50"] = round(big["api_p50_ms"] / small["api_p50_ms"], 2)
    return out


def _counts(board: Any) -> dict[str, int]:
    return {str(k): v for k, v in board.questions.values_list("uuid", "upvotes")}
