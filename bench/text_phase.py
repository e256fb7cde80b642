"""The word-cloud phase (issue 33): N voters each send 3 words within 30 s, through the
front door.

The door is Debian's nginx with the shipped configuration (bench/room.py's `Door`, as
scripts/run starts it) in front of a voting and a results process of this phase's own,
which count the door as their one proxy. Every ballot is a POST through the door to the
JSON vote API (`{"entries": [...]}`, a signed voter cookie each: the path a phone
takes), at a steady rate, while one socket through the door holds the poll's results
page open. Figures: every 202 stored and every term counted exactly (each key's count
equals the voters' ballots normalised again; `recount --check` agrees); cast → shown:
from each 202 until the first results message counting it (the poll's total counts
voters, one per ballot here)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from . import db, phases, profile, roles
from .room import Door

SECONDS = 30


def run(run_: phases.Run, *, quick: bool) -> None:
    voters = 1_000 if quick else 10_000
    seconds = 10 if quick else SECONDS
    worker = run_.start_worker()
    run_.set_phase("words")
    voting, results_role, door = behind_door()
    try:
        result = _measure(run_, worker, voting, results_role, door, voters, seconds)
    finally:
        for role in (door, results_role, voting):
            role.stop()
    run_.figures["words"] = result


def behind_door() -> tuple[roles.WebRole, roles.WebRole, Door]:
    """A voting and a results process behind a door of their own: the door is their one
    proxy (they read each client's address from it) and its origin is the site's."""
    port = roles.free_port()
    env = {"DJANGO_TRUSTED_PROXY_HOPS": "1",
           "DJANGO_PUBLIC_ORIGINS": f"http://127.0.0.1:{port}"}  # fmt: skip
    voting = roles.voting(name="words-voting", **env)
    results_role = roles.results(name="words-results", **env)
    for role in (voting, results_role):
        role.start()
    for role in (voting, results_role):
        role.wait_ready()
    door = Door(port, voting, [results_role])
    door.start().wait_ready()
    return voting, results_role, door


def _measure(  # noqa: PLR0917 (the phase's roles and sizes)
    run_: phases.Run,
    worker: roles.WorkerRole,
    voting: roles.WebRole,
    results_role: roles.WebRole,
    door: Door,
    voters: int,
    seconds: int,
) -> dict[str, Any]:
    from bench.cast import ballot_for
    from polls import organising
    from polls.models import Poll

    load_before = [round(x, 2) for x in os.getloadavg()]
    run_.polls_made += 1
    made = organising.create_poll(
        slug=f"bench-words-{run_.polls_made}", question="One word?", labels=(),
        open_now=True, kind="wordcloud",
    )  # fmt: skip
    cookies = run_.cookie_file.read_text().split()[:voters]
    host = door.url.removeprefix("http://")
    ballots = {i: ballot_for("wordcloud", [], i, changed=False) for i in range(len(cookies))}
    requests = []
    for i, cookie in enumerate(cookies):
        body = json.dumps({"entries": ballots[i]}).encode()
        requests.append(
            (
                f"POST /api/polls/{made.slug}/vote HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: application/json\r\n"
                f"Cookie: csrftoken={roles.CSRF_TOKEN}; voter={cookie}\r\n"
                f"X-CSRFToken: {roles.CSRF_TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    ws_url = door.url.replace("http://", "ws://") + f"/ws/polls/{made.slug}/"
    rate = voters / seconds
    spy = profile.start(worker, "worker-words", seconds) if run_.profile else None
    spy_results = profile.start(results_role, "results-words", seconds) if run_.profile else None
    spy_voting = profile.start(voting, "voting-words", seconds) if run_.profile else None
    raw = asyncio.run(phases._freshness(door.url, ws_url, door.url, requests, rate))
    accepted: list[float] = raw["accepted"]
    # Stored: the counter counts every accepted voter and nothing waits in the queue.
    began = time.monotonic()
    while time.monotonic() - began < 120:
        if db.counter_total(made.pk) >= len(accepted) and db.queue_length(run_.redis) == 0:
            break
        time.sleep(0.1)
    poll = Poll.objects.get(pk=made.pk)
    report = organising.recount_poll(poll, check=True)
    counts = phases._text_counts(poll)
    everyone = raw["statuses"] == {202: voters}
    exact = everyone and report.matches and counts == phases._expected_terms(ballots)
    delays, unseen = _seen_after(raw["base"], accepted, raw["messages"])
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    result = {
        "through": "the front door (nginx, the shipped configuration)",
        "voters": voters,
        "entries_sent": sum(len(b) for b in ballots.values()),
        "target_seconds": seconds,
        "sent_seconds": round(raw["sent_seconds"], 1),
        "statuses": raw["statuses"],
        "accepted": len(accepted),
        "achieved_rate": round((len(accepted) - 1) / span, 1) if span else 0.0,
        "stored_voters": db.counter_total(made.pk),
        "terms_counted": len(counts),
        "recount_matches": report.matches,
        "exact": exact,
        "ws_messages": len(raw["messages"]),
        "never_seen": unseen,
        "shown_p50_ms": round(phases.pct(delays, 50) * 1000, 1),
        "shown_p99_ms": round(phases.pct(delays, 99) * 1000, 1),
        "shown_max_ms": round(max(delays, default=0.0) * 1000, 1),
        # p50 per tenth of the run: growing when the worker or the publisher falls behind.
        "shown_p50_ms_by_tenth": [
            round(
                phases.pct(delays[i * len(delays) // 10 : (i + 1) * len(delays) // 10], 50) * 1000,
                1,
            )
            for i in range(10)
        ],
        "ws_messages_per_second": round(len(raw["messages"]) / raw["sent_seconds"], 1),
        "load_average_before": load_before,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    for name, one in (("worker_profile", spy), ("results_profile", spy_results),
                      ("voting_profile", spy_voting)):  # fmt: skip
        if one:
            result[name] = profile.finish(one)
    print(
        f"  {voters} voters x 3 words in {result['sent_seconds']} s: {result['statuses']};"
        f" stored {result['stored_voters']}, exact {exact}; cast → shown p50"
        f" {result['shown_p50_ms']} ms, p99 {result['shown_p99_ms']} ms, max"
        f" {result['shown_max_ms']} ms, never seen {unseen}; load average"
        f" {load_before[0]} before, {result['load_average'][0]} after"
    )
    return result


def _seen_after(
    base: int, accepted: list[float], messages: list[tuple[float, int]]
) -> tuple[list[float], int]:
    """The k-th 202 is shown once a message's total reaches base + k (distinct voters:
    each stored ballot adds one; they are stored in about queue order)."""
    delays: list[float] = []
    unseen = 0
    m = 0
    for k, t_accept in enumerate(accepted, start=1):
        while m < len(messages) and messages[m][1] < base + k:
            m += 1
        if m == len(messages):
            unseen += 1
            continue
        delays.append(max(0.0, messages[m][0] - t_accept))
    return delays, unseen
