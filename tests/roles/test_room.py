"""A room of 200 phones, through the front door to the real roles (issue 42; the bench's
"room" phase at CI size): each phone from a loopback address of its own loads the
audience page and every static file it names, opens the session's socket, votes by form
in a burst, and follows the presenter's next, lock, reveal, step back, reveal and hide.
Everyone follows, nothing is lost: every phone joins, every vote is accepted and
stored, every phone gets every state and, after each reveal, the results. Its figures
are printed (the bench measures them at size: docs/performance.md, "A room")."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User

from polls import live_sessions, organising
from polls.models import Vote
from tests.support import processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

PHONES = 200
SETTLE = 2.5  # seconds after an action: a working room has it in well under one


def read(client: subprocess.Popen[str]) -> dict[str, Any]:
    assert client.stdout is not None
    line = client.stdout.readline()
    assert line, "the room client ended early"
    answer: dict[str, Any] = json.loads(line)
    return answer


def tell(client: subprocess.Popen[str], line: str) -> dict[str, Any]:
    assert client.stdin is not None
    client.stdin.write(line + "\n")
    client.stdin.flush()
    return read(client)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def test_a_room_of_200_phones_follows_the_presenter_and_nothing_is_lost(site: Any) -> None:
    owner = User.objects.create_user(f"room-{uuid.uuid4().hex[:8]}")
    tag = uuid.uuid4().hex[:6]
    polls = [
        organising.create_poll(slug=f"room-{n}-{tag}", question=f"Question {n}?",
                               labels=["Yes", "No", "Maybe"], open_now=True)
        for n in range(3)
    ]  # fmt: skip
    session = live_sessions.go_live(
        live_sessions.create_session(title="A room", owner=owner, polls=polls)
    )
    client = subprocess.Popen(
        [sys.executable, "-m", "bench.roomclient", "--door", site.url, "--code", session.code,
         "--count", str(PHONES), "--join-seconds", "5"],
        cwd=processes.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        joined = read(client)
        assert joined["failed"] == 0, joined["failures"]
        joins = [j["join"] for j in joined["joins"]]
        assert len(joins) == PHONES

        ids = ",".join(str(pk) for pk in polls[0].choices.values_list("pk", flat=True))
        votes = tell(client, f"VOTE 5 {ids}")["votes"]
        statuses = {status for status, _took, _at in votes}
        assert len(votes) == PHONES
        assert statuses == {303}, "every form vote accepted (303 back to the session)"
        last = max(at for _s, _t, at in votes)
        processes.wait_for(
            lambda: Vote.objects.filter(poll=polls[0]).count() == PHONES,
            timeout=60, what="every accepted vote stored",
        )  # fmt: skip
        stored_after = time.monotonic() - last

        sent: dict[int, tuple[str, float]] = {}
        for action in ("next", "lock", "reveal", "previous", "reveal", "hide"):
            began = time.monotonic()
            if action in ("next", "previous"):
                session = live_sessions.move(session, step=1 if action == "next" else -1)
            elif action == "lock":
                session = live_sessions.lock(session)
            else:
                session = live_sessions.reveal(session, shown=action == "reveal")
            sent[session.seq] = (action, began)
            time.sleep(SETTLE)
        report = tell(client, "REPORT")
    finally:
        if client.poll() is None:
            try:
                client.wait(15)
            except subprocess.TimeoutExpired:
                client.kill()
        live_sessions.end(session)

    assert report["closed"] == 0, "no phone lost its socket"
    lines = []
    for seq, (action, began) in sent.items():
        got = [at - began for at in report["arrivals"].get(f"session:{seq}", [])]
        assert len(got) == PHONES, f"{action}: {len(got)} of {PHONES} phones have it"
        line = f"{action} → every phone p99 {p99(got) * 1000:.0f} ms"
        if action == "reveal":
            results = [
                min(later) - began
                for times in report["results_times"]
                if (later := [t for t in times if began <= t < began + SETTLE])
            ]
            assert len(results) == PHONES, f"the results reached {len(results)} phones"
            line += f", its results p99 {p99(results) * 1000:.0f} ms"
        lines.append(line)
    assert Vote.objects.filter(poll=polls[0]).count() == PHONES
    first_load = [j["http_bytes"] for j in joined["joins"]]
    print(
        f"\n{PHONES} phones: join p50 {statistics.median(joins) * 1000:.0f} ms,"
        f" p99 {p99(joins) * 1000:.0f} ms; votes p99"
        f" {p99([t for _s, t, _a in votes]) * 1000:.0f} ms, all stored"
        f" {stored_after:.1f} s after the last; first load"
        f" {statistics.median(first_load) / 1024:.1f} KiB a phone (the tests' door: no static"
        " files on disk, uncompressed)\n  " + "\n  ".join(lines)
    )
