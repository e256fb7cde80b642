"""The word-cloud phase (issue 33): N voters each send 3 words over HTTP within 30 s.

Every ballot is a POST to the voting role's JSON vote API (`{"entries": [...]}`, a signed
voter cookie each: the path a phone takes, as the `freshness` phase sends it), at a
steady rate, while one socket holds the poll's results page open. Figures: every 202
stored and every term counted exactly (each key's count equals the voters' ballots
normalised again; `recount --check` agrees); cast → shown: from each 202 until the first
results message counting it (the poll's total counts voters, one per ballot here)."""

from __future__ import annotations

import asyncio
import json
import os
import time

from . import db, phases, profile, roles

SECONDS = 30


def run(run_: phases.Run, *, quick: bool) -> None:
    from bench.cast import ballot_for
    from polls import organising
    from polls.models import Poll

    voters = 1_000 if quick else 10_000
    seconds = 10 if quick else SECONDS
    voting, results_role = run_.web()
    worker = run_.start_worker()
    run_.set_phase("words")
    run_.polls_made += 1
    made = organising.create_poll(
        slug=f"bench-words-{run_.polls_made}", question="One word?", labels=(),
        open_now=True, kind="wordcloud",
    )  # fmt: skip
    cookies = run_.cookie_file.read_text().split()[:voters]
    host = voting.url.removeprefix("http://")
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
    ws_url = results_role.url.replace("http://", "ws://") + f"/ws/polls/{made.slug}/"
    rate = voters / seconds
    spy = profile.start(worker, "worker-words", seconds) if run_.profile else None
    spy_results = profile.start(results_role, "results-words", seconds) if run_.profile else None
    raw = asyncio.run(phases._freshness(voting.url, ws_url, results_role.url, requests, rate))
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
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    for name, one in (("worker_profile", spy), ("results_profile", spy_results)):
        if one:
            result[name] = profile.finish(one)
    run_.figures["words"] = result
    print(
        f"  {voters} voters x 3 words in {result['sent_seconds']} s: {result['statuses']};"
        f" stored {result['stored_voters']}, exact {exact}; cast → shown p50"
        f" {result['shown_p50_ms']} ms, p99 {result['shown_p99_ms']} ms, max"
        f" {result['shown_max_ms']} ms, never seen {unseen}"
    )


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
