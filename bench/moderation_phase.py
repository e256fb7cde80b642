"""The moderation phase (issue 34): a moderator's action → gone from N open results pages.

A word cloud with a few hundred voters' words, one term ("bench-hide") among them; N
sockets hold the poll's results page open (bench.wsclient, picows). The moderator's
action is polls.moderation.apply (what the moderator page's POST, the admin and the
`moderate` command call): hide the term, restore it, in turn; each bumps the poll's seq
and its results go live after the commit. Figure: from just before the action until each
socket has the message of the action's seq (p50/p99/all). After each hide, the results
API (shared from Redis, what a new page gets) must not list the term; after a restore, it
must. The filter's cost per entry is bench/profanity_cost.py's."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from typing import Any

from . import db, phases

TERM = "bench-hide"


def run(run_: phases.Run, *, quick: bool) -> None:
    from polls import moderation, organising
    from polls.models import Poll
    from polls.pipeline import submit
    from polls.voters import voter_key_for

    viewers = 500 if quick else 5_000
    actions = 4 if quick else 6
    voting, results_role = run_.web()
    run_.start_worker()
    run_.set_phase(f"moderation-{viewers}")
    run_.polls_made += 1
    made = organising.create_poll(
        slug=f"bench-moderation-{run_.polls_made}", question="One word?", labels=(),
        open_now=True, kind="wordcloud",
    )  # fmt: skip
    poll = Poll.objects.get(pk=made.pk)
    voters = 300
    for i in range(voters):
        words = [TERM, f"word{i % 40}"] if i % 3 == 0 else [f"word{i % 40}", f"other{i % 7}"]
        submit.submit_vote(poll=poll, ballot=words, voter_key=voter_key_for(
            user_id=None, anonymous_id=f"m{run_.polls_made}x{i}"))  # fmt: skip
    began = time.monotonic()
    while db.counter_total(poll.pk) < voters and time.monotonic() - began < 60:
        time.sleep(0.1)
    ws_url = results_role.url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/"
    clients = phases._viewer_clients(
        [(ws_url, results_role.url)], viewers, run_.sizes.fanout_clients
    )
    reported = False
    sent: dict[int, tuple[str, float]] = {}
    api_right: list[bool] = []
    try:
        connected = phases._ready(clients)
        print(f"  {connected}/{viewers} results pages open")
        time.sleep(1)
        for n in range(actions):
            action = moderation.HIDE if n % 2 == 0 else moderation.RESTORE
            t0 = time.monotonic()
            outcome = moderation.apply(poll, action, moderation.Target(moderation.TERM, TERM))
            sent[outcome.seq] = (action, t0)
            time.sleep(3)  # a slow delivery finishes before the next action
            api_right.append(_listed(voting.url, poll.slug) == (action == moderation.RESTORE))
        arrivals = phases._collect(clients, set(sent))
        reported = True
    finally:
        phases._close(clients, reported)
    delays = [t - t0 for seq, (_, t0) in sent.items() for t in arrivals[seq]]
    result = {
        "viewers": viewers,
        "connected": connected,
        "actions": len(sent),
        "entries_per_hide": voters // 3,
        "delivered_fraction": round(len(delays) / (connected * len(sent)), 4) if connected else 0,
        "p50_ms": round(phases.pct(delays, 50) * 1000, 1),
        "p99_ms": round(phases.pct(delays, 99) * 1000, 1),
        "max_ms": round(max(delays, default=0.0) * 1000, 1),
        "per_action": [
            {
                "action": action,
                "delivered": len(arrivals[seq]),
                "p99_ms": round(phases.pct([t - t0 for t in arrivals[seq]], 99) * 1000, 1),
            }
            for seq, (action, t0) in sent.items()
        ],
        "results_api_right_after_each": api_right,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    run_.figures["moderation"] = result
    print(
        f"  {connected} pages: action → page p50 {result['p50_ms']} ms, p99"
        f" {result['p99_ms']} ms, all {result['max_ms']} ms, delivered"
        f" {result['delivered_fraction']:.2%}; results API right after each: {api_right}"
    )


def _listed(base: str, slug: str) -> bool:
    """Whether the results API lists the term."""
    with urllib.request.urlopen(f"{base}/api/polls/{slug}/results", timeout=10) as resp:  # noqa: S310 (loopback)
        body: Any = json.loads(resp.read())
    return TERM in json.dumps(body)
