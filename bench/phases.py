"""The measurements of issue 6, one function per phase, sharing one `Run` context."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras
import redis

from . import costs, db, loadgen, profile, roles


@dataclass(frozen=True)
class Sizes:
    intake_seconds: float = 10
    intake_connections: tuple[int, ...] = (16, 64)
    voter_cookies: int = 120_000
    persistence_votes: int = 100_000
    persistence_timeout: float = 600
    cast_processes: int = 2
    freshness_rate: float = 500
    freshness_seconds: float = 20
    fanout_viewers: tuple[int, ...] = (1_000, 5_000)
    fanout_clients: int = 4
    fanout_updates: int = 5
    session_viewers: tuple[int, ...] = (1_000, 5_000)
    session_actions: int = 6
    history_votes: tuple[int, ...] = (10_000, 1_000_000)
    history_samples: int = 200
    kinds_votes: int = 100_000
    kinds_history: tuple[int, ...] = (10_000, 1_000_000)
    # Text answers (issue 33): voters of a word cloud, 3 words each; entries of the polls
    # built by a direct insert for the results' cost.
    text_voters: int = 10_000
    text_history: tuple[int, ...] = (1_000, 1_000_000)
    freshness_runs: int = 5
    # Viewers over two results processes (0: not measured).
    fanout_two_processes: int = 10_000
    redis_benchmark_requests: int = 200_000
    quiz_phones: tuple[int, ...] = (1_000, 5_000)  # issue 36: bench/quiz_phase.py


QUICK = Sizes(
    intake_seconds=3,
    voter_cookies=30_000,
    persistence_votes=20_000,
    persistence_timeout=120,
    freshness_seconds=6,
    fanout_viewers=(500, 1_000),
    fanout_updates=3,
    session_viewers=(200,),
    session_actions=3,
    history_votes=(10_000, 100_000),
    history_samples=50,
    kinds_votes=20_000,
    kinds_history=(10_000, 100_000),
    text_voters=10_000,
    text_history=(1_000, 100_000),
    freshness_runs=2,
    fanout_two_processes=2_000,
    redis_benchmark_requests=50_000,
    quiz_phones=(200,),
)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def mb(size: int) -> float:
    return round(size / 2**20, 1)


class MemorySampler:
    """Samples every running role's RSS in the background; keeps the maximum per phase."""

    def __init__(self) -> None:
        self.phase = "idle"
        self.peaks: dict[str, dict[str, dict[str, float]]] = {}
        # Per role: [seconds since the sampler was made, tree MB, largest MB, phase].
        self.timeline: dict[str, list[list[Any]]] = {}
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():  # not started when start-up failed
            self._thread.join(5)

    def sample(self, phase: str | None = None) -> None:
        for role in list(roles.STARTED):
            total, largest = role.rss()
            if not total:
                continue
            slot = self.peaks.setdefault(phase or self.phase, {}).setdefault(
                role.name, {"tree_mb": 0.0, "largest_process_mb": 0.0, "processes": 0}
            )
            slot["tree_mb"] = max(slot["tree_mb"], mb(total))
            slot["largest_process_mb"] = max(slot["largest_process_mb"], mb(largest))
            slot["processes"] = max(slot["processes"], len(role.processes()))
            self.timeline.setdefault(role.name, []).append(
                [round(time.monotonic() - self._t0, 2), mb(total), mb(largest), phase or self.phase]
            )

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self.sample()
            except Exception as exc:  # a role stopping mid-sample is not an error
                print(f"rss sample: {exc!r}", file=sys.stderr)


@dataclass
class Run:
    sizes: Sizes
    profile: bool
    redis: redis.Redis
    cookie_file: Path
    voting: roles.WebRole | None = None
    results_role: roles.WebRole | None = None
    worker: roles.WorkerRole | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    memory: MemorySampler = field(default_factory=MemorySampler)
    polls_made: int = 0

    def poll(self, name: str) -> db.BenchPoll:
        self.polls_made += 1
        return db.make_poll(f"bench-{name}-{self.polls_made}")

    def web(self) -> tuple[roles.WebRole, roles.WebRole]:
        """The voting and results roles, started by the bench before any phase."""
        if self.voting is None or self.results_role is None:
            raise RuntimeError("the web roles are not running")
        return self.voting, self.results_role

    def set_phase(self, phase: str) -> None:
        self.memory.phase = phase

    def start_worker(self) -> roles.WorkerRole:
        if self.worker is None or not self.worker.alive():
            self.worker = roles.WorkerRole()
            self.worker.start().wait_ready()
        return self.worker

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


# --- 6. References --------------------------------------------------------------------


def references(run: Run) -> None:
    """The intake ceiling (bare Django view, same gunicorn) and the persistence ceiling."""
    run.set_phase("reference")
    bare = roles.voting(
        name="bare", wsgi="bench.bare_wsgi", DJANGO_SETTINGS_MODULE="bench.bare_settings"
    )
    bare.start().wait_ready()
    try:
        out = {}
        for conns in run.sizes.intake_connections:
            # The same requests as the API run: a JSON POST with both cookies.
            out[f"c{conns}"] = loadgen.run_wrk(
                f"{bare.url}/api/polls/x/vote",
                mode="json",
                cookie_file=run.cookie_file,
                choice_id=1,
                ok_status=202,
                connections=conns,
                seconds=run.sizes.intake_seconds,
            )
            print(f"  bare view c={conns}: {out[f'c{conns}']['rate']:.0f} req/s")
        run.figures["reference_bare_view"] = out
    finally:
        bare.stop()
    run.figures["reference_insert"] = raw_insert_ceiling(run.sizes.persistence_votes)
    print(f"  raw INSERT ... ON CONFLICT: {run.figures['reference_insert']['rate']:.0f} rows/s")
    bench_redis = costs.redis_benchmark(roles.REDIS_URL, run.sizes.redis_benchmark_requests)
    # Its keys only: the worker's queue bindings live in the same database.
    run.redis.delete("key:__rand_int__", "mylist", "myhash", "myzset", "counter:__rand_int__")
    run.figures["reference_redis"] = bench_redis
    for pipeline in ("pipeline_1", "pipeline_16"):
        rates = bench_redis.get(pipeline, {})
        shown = ", ".join(f"{k} {v:.0f}/s" for k, v in rates.items())
        print(f"  redis-benchmark {pipeline}: {shown}")


def raw_insert_ceiling(count: int, batch: int = 500) -> dict[str, Any]:
    """The same vote mix as the persistence phase, as 500-row upserts through psycopg2."""
    conn = psycopg2.connect(roles.DATABASE_URL)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_ref_votes")
        cur.execute(
            "CREATE TABLE bench_ref_votes (id bigserial PRIMARY KEY, poll_id int NOT NULL,"
            " voter_key varchar(64) NOT NULL, choice_id int NOT NULL,"
            " cast_at timestamptz NOT NULL, vote_id uuid NOT NULL, stored_at timestamptz NOT NULL,"
            " UNIQUE (poll_id, voter_key))"
        )
    conn.commit()
    changed = count // 10
    voters = count - changed
    rows = [(1, f"anon:ref{i}", 1 + i % 2) for i in range(voters)]
    rows += [(1, f"anon:ref{i}", 1 + (i + 1) % 2) for i in range(changed)]
    sql = (
        "INSERT INTO bench_ref_votes (poll_id, voter_key, choice_id, cast_at, vote_id, stored_at)"
        " VALUES %s ON CONFLICT (poll_id, voter_key) DO UPDATE SET"
        " choice_id = EXCLUDED.choice_id, cast_at = EXCLUDED.cast_at,"
        " vote_id = EXCLUDED.vote_id, stored_at = EXCLUDED.stored_at"
        " WHERE bench_ref_votes.cast_at < EXCLUDED.cast_at"
    )
    template = "(%s, %s, %s, clock_timestamp(), gen_random_uuid(), now())"
    start = time.monotonic()
    with conn.cursor() as cur:
        for i in range(0, len(rows), batch):
            psycopg2.extras.execute_values(cur, sql, rows[i : i + batch], template, page_size=batch)
            conn.commit()
    elapsed = time.monotonic() - start
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM bench_ref_votes")
        row = cur.fetchone()
        stored = row[0] if row else 0
        cur.execute("DROP TABLE bench_ref_votes")
    conn.commit()
    conn.close()
    return {"rows": count, "stored": stored, "seconds": round(elapsed, 2), "rate": count / elapsed}


# --- 1. Intake --------------------------------------------------------------------------


def intake(run: Run) -> None:
    """Votes/s the voting role accepts (worker stopped), then every one checked as stored."""
    voting, _ = run.web()
    run.stop_worker()  # the voting role alone: the worker drains afterwards
    run.set_phase("intake")
    out: dict[str, Any] = {}
    expected: dict[int, int] = {}
    polls: dict[str, db.BenchPoll] = {}
    for mode, label in (("form", "form"), ("json", "api")):
        for conns in run.sizes.intake_connections:
            poll = run.poll(f"intake-{label}-{conns}")
            path = f"/polls/{poll.slug}/vote/" if mode == "form" else f"/api/polls/{poll.slug}/vote"
            spy = None
            if run.profile and mode == "json" and conns == run.sizes.intake_connections[0]:
                spy = profile.start(voting, "voting-intake", run.sizes.intake_seconds)
            meter = costs.Meter(run.redis, [voting]).start()
            result = loadgen.run_wrk(
                f"{voting.url}{path}",
                mode=mode,
                cookie_file=run.cookie_file,
                choice_id=poll.choice_ids[0],
                ok_status=303 if mode == "form" else 202,
                connections=conns,
                seconds=run.sizes.intake_seconds,
            )
            result["cost_per_vote"] = meter.stop().per(result["accepted"], "vote accepted")
            if spy:
                result["profile"] = profile.finish(spy)
            key = f"{label}_c{conns}"
            out[key] = result
            expected[poll.id] = result["accepted"]
            polls[key] = poll
            print(
                f"  {key}: {result['rate']:.0f} votes/s, p50 {result['p50_ms']:.1f} ms,"
                f" p99 {result['p99_ms']:.1f} ms, other statuses {result['rejected_status']},"
                f" socket errors {result['socket_errors']}"
            )
    run.set_phase("intake-drain")
    queued = db.messages_queued(run.redis)
    run.start_worker()
    total = sum(expected.values())
    done, waited = db.wait_drained(run.redis, expected, timeout=60 + total / 200)
    for key, poll in polls.items():
        got = db.stored(poll.id)
        accepted = out[key]["accepted"]
        out[key]["stored"] = got["votes"]
        out[key]["counter_total"] = got["total"]
        # Timed-out requests may still have been stored: only a shortfall is a loss.
        out[key]["missing"] = max(0, accepted - got["votes"])
        out[key]["all_stored"] = got["votes"] >= accepted and got["total"] == got["votes"] == sum(
            got["tallies"].values()
        )
    out["drain"] = {"queued": queued, "drained": done, "seconds": round(waited, 1)}
    if not done:
        # Votes still queued would be drained inside the next phase and skew it.
        out["drain"]["left_in_queue"] = db.queue_length(run.redis)
        run.stop_worker()
        run.redis.flushdb()
    run.figures["intake"] = out
    print(f"  drained {queued} queued votes in {waited:.1f}s; all stored: {done}")


# --- 2. Persistence ---------------------------------------------------------------------


def persistence(run: Run) -> None:
    """Votes/s the worker stores, draining a queue of votes cast while it was stopped."""
    run.stop_worker()
    run.set_phase("persistence-cast")
    poll = run.poll("persistence")
    count = run.sizes.persistence_votes
    changed = count // 10
    voters = count - changed
    procs = run.sizes.cast_processes
    share = voters // procs
    changed_share = changed // procs
    argvs = []
    # Changed voters are the first of each process's range: they change after voting.
    changed_voters: set[int] = set()
    for p in range(procs):
        first = p * share
        last = p == procs - 1
        n = voters - first if last else share
        n_changed = changed - changed_share * (procs - 1) if last else changed_share
        argvs.append(
            [sys.executable, "-m", "bench.cast", "--slug", poll.slug, "--prefix", "p",
             "--first", str(first), "--count", str(n), "--changed", str(n_changed)]
        )  # fmt: skip
        changed_voters.update(range(first, first + n_changed))
    expected = dict.fromkeys(poll.choice_ids, 0)
    for i in range(voters):
        final = (i + 1) % 2 if i in changed_voters else i % 2
        expected[poll.choice_ids[final]] += 1

    start = time.monotonic()
    env = roles.role_env()
    children = [
        subprocess.Popen(argv, cwd=roles.ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for argv in argvs
    ]
    try:
        outputs = [child.communicate(timeout=600)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    cast_seconds = time.monotonic() - start
    if any(child.returncode for child in children):
        raise RuntimeError(f"casting failed: {outputs}")
    queued = db.messages_queued(run.redis)
    rate = count / cast_seconds
    print(f"  cast {count} votes in {cast_seconds:.1f}s ({rate:.0f}/s); queued {queued}")

    run.set_phase("persistence")
    started = time.monotonic()
    worker = roles.WorkerRole()
    worker.start()
    run.worker = worker
    worker.wait_ready()
    ready = time.monotonic()
    spy = profile.start(worker, "worker-persistence", 15) if run.profile else None
    meter = costs.Meter(run.redis, [worker]).start()
    first_store: float | None = None
    samples: list[tuple[float, int]] = []
    # Bounded: a slow worker is reported from what it stored by then, not waited out.
    deadline = time.monotonic() + run.sizes.persistence_timeout
    final_got: dict[str, Any] = {}
    while time.monotonic() < deadline:
        got = db.stored(poll.id)
        now = time.monotonic()
        samples.append((now - ready, got["votes"]))
        if first_store is None and got["votes"]:
            first_store = now
        if got["tallies"] == expected and db.queue_length(run.redis) == 0:
            final_got = got
            break
        time.sleep(0.1)
    done = time.monotonic()
    meter.stop()
    profile_summary = profile.finish(spy) if spy else None
    got = final_got or db.stored(poll.id)
    if not final_got:
        # Leftover votes would skew every later phase: drop them with the worker.
        run.stop_worker()
        run.redis.flushdb()
        print(f"  persistence: not drained within {run.sizes.persistence_timeout:.0f}s")
    ok = bool(final_got) and got["votes"] == voters and got["total"] == voters
    from_first = done - (first_store or done)
    applied = _applied(got, count, bool(final_got))
    out = {
        "votes_cast": count,
        "changed_votes": changed,
        "distinct_voters": voters,
        "cast_seconds": round(cast_seconds, 1),
        "queued": queued,
        "worker_start_seconds": round(ready - started, 2),
        "drain_seconds_from_ready": round(done - ready, 2),
        "drain_seconds_from_first_store": round(from_first, 2),
        "drained": bool(final_got),
        # Rows stored plus changes applied; when not drained, the changes are not counted.
        "rate": round(applied / (done - ready), 1) if done > ready else 0.0,
        "rate_from_first_store": round(applied / from_first, 1) if from_first else 0.0,
        "stored_votes": got["votes"],
        "counter_total": got["total"],
        "tallies": got["tallies"],
        "expected_tallies": expected,
        "exact": ok,
        "progress": samples[:: max(1, len(samples) // 40)],
        "cost_per_vote": meter.per(applied, "vote stored"),
    }
    if profile_summary:
        out["profile"] = profile_summary
    run.figures["persistence"] = out
    print(
        f"  stored {applied} of {count} votes in"
        f" {done - ready:.1f}s after the worker was ready:"
        f" {out['rate']:.0f} votes/s ({out['rate_from_first_store']:.0f}/s from the first row);"
        f" exact: {ok}"
    )


def _applied(got: dict[str, Any], count: int, drained: bool) -> int:
    return count if drained else int(got["votes"])


# --- 3. Freshness -----------------------------------------------------------------------


async def _http_voter(  # noqa: PLR0917 (one coroutine per connection, shared state)
    host: str,
    port: int,
    requests: list[bytes],
    schedule_start: float,
    rate: float,
    counter: list[int],
    accepted: list[float],
    lateness: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    loop = asyncio.get_running_loop()
    try:
        # Stop scheduling once well past the planned end: a role that cannot keep up is
        # reported from what it accepted, not waited for.
        hard_stop = schedule_start + len(requests) / rate + 20
        while counter[0] < len(requests) and loop.time() < hard_stop:
            i = counter[0]
            counter[0] += 1
            due = schedule_start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lateness.append(max(0.0, loop.time() - due))
            writer.write(requests[i])
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            now = time.monotonic()
            statuses[status] = statuses.get(status, 0) + 1
            if status == 202:
                accepted.append(now)
    finally:
        writer.close()


async def _freshness(
    voting_url: str, ws_url: str, origin: str, requests: list[bytes], rate: float
) -> dict[str, Any]:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    messages: list[tuple[float, int]] = []
    ws = await connect(ws_url, origin=Origin(origin), ping_interval=None, compression=None)
    first = json.loads(await ws.recv())
    base = int(first["total"])
    target = base + len(requests)

    async def listen() -> None:
        async for text in ws:
            data = json.loads(text)
            messages.append((time.monotonic(), int(data["total"])))
            if data["total"] >= target:
                return

    listener = asyncio.create_task(listen())
    cast = await cast_paced(voting_url, requests, rate)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(listener, timeout=15)
    await ws.close()
    return {"base": base, "messages": messages, **cast}


async def cast_paced(voting_url: str, requests: list[bytes], rate: float) -> dict[str, Any]:
    """Send the requests at `rate` a second on a token-bucket schedule over 32 keep-alive
    connections: each 202's arrival (sorted), statuses, and whether the schedule was kept.
    Bounded: scheduling stops 20 s past the planned end, and the whole 40 s past it."""
    host, port = voting_url.removeprefix("http://").split(":")
    counter = [0]
    accepted: list[float] = []
    lateness: list[float] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    # Enough connections that a slow answer does not hold back the schedule.
    voters = [
        _http_voter(host, int(port), requests, start, rate, counter, accepted, lateness, statuses)
        for _ in range(32)
    ]
    # Requests in flight at the hard stop get the wrk-like 5 s timeout on top.
    await asyncio.wait_for(asyncio.gather(*voters), timeout=len(requests) / rate + 40)
    return {
        "accepted": sorted(accepted),
        "statuses": statuses,
        "sent_seconds": loop.time() - start,
        "max_lateness": max(lateness, default=0.0),
    }


def freshness(run: Run) -> None:
    """At a steady rate, time from a vote's 202 to the first WS message that counts it;
    `freshness_runs` runs one after another, each on a poll of its own, all printed."""
    runs = []
    for n in range(1, run.sizes.freshness_runs + 1):
        one = _freshness_run(run, n)
        runs.append(one)
        print(
            f"  run {n}: {one['achieved_rate']:.0f} votes/s achieved ({one['accepted']} accepted):"
            f" p50 {one['p50_ms']} ms, p99 {one['p99_ms']} ms, max {one['max_ms']} ms,"
            f" {one['ws_messages']} WS messages, never seen {one['never_seen']}"
        )
    run.figures["freshness"] = {
        "runs": runs,
        "p50_ms_each": [r["p50_ms"] for r in runs],
        "p99_ms_each": [r["p99_ms"] for r in runs],
        # The target holds only if it holds in every run: the worst run is the figure.
        "p50_ms_worst": max(r["p50_ms"] for r in runs),
        "p99_ms_worst": max(r["p99_ms"] for r in runs),
        "achieved_rate_lowest": min(r["achieved_rate"] for r in runs),
        "target_rate": run.sizes.freshness_rate,
        "never_seen": sum(r["never_seen"] for r in runs),
    }


def api_votes(
    run: Run, voting: roles.WebRole, slug: str, choice_id: int, count: int
) -> list[bytes]:
    """`count` raw API vote requests for one choice, each by a distinct voter."""
    cookies = run.cookie_file.read_text().split()[:count]
    body = json.dumps({"choice": choice_id}).encode()
    host = voting.url.removeprefix("http://")
    return [
        (
            f"POST /api/polls/{slug}/vote HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/json\r\n"
            f"Cookie: csrftoken={roles.CSRF_TOKEN}; voter={cookie}\r\n"
            f"X-CSRFToken: {roles.CSRF_TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for cookie in cookies
    ]


def _freshness_run(run: Run, n: int) -> dict[str, Any]:
    voting, results_role = run.web()
    worker = run.start_worker()
    run.set_phase("freshness")
    poll = run.poll(f"freshness-{n}")
    rate = run.sizes.freshness_rate
    count = int(rate * run.sizes.freshness_seconds)
    requests = api_votes(run, voting, poll.slug, poll.choice_ids[0], count)
    ws_url = results_role.url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/"
    meter = costs.Meter(run.redis, [voting, results_role, worker]).start()
    raw = asyncio.run(_freshness(voting.url, ws_url, results_role.url, requests, rate))
    meter.stop()
    accepted: list[float] = raw["accepted"]
    messages: list[tuple[float, int]] = raw["messages"]
    # The k-th accepted vote is visible once a message shows base + k votes (distinct
    # voters: every stored vote adds one). Votes are stored in about queue order.
    delays: list[float] = []
    unseen = 0
    m = 0
    for k, t_accept in enumerate(accepted, start=1):
        need = raw["base"] + k
        while m < len(messages) and messages[m][1] < need:
            m += 1
        if m == len(messages):
            unseen += 1
            continue
        delays.append(max(0.0, messages[m][0] - t_accept))
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    return {
        "target_rate": rate,
        "votes": count,
        "accepted": len(accepted),
        "statuses": raw["statuses"],
        "achieved_rate": round((len(accepted) - 1) / span, 1) if span else 0.0,
        "max_send_lateness_ms": round(raw["max_lateness"] * 1000, 1),
        "ws_messages": len(messages),
        "p50_ms": round(pct(delays, 50) * 1000, 1),
        "p99_ms": round(pct(delays, 99) * 1000, 1),
        "max_ms": round(max(delays, default=0.0) * 1000, 1),
        "mean_ms": round(statistics.fmean(delays) * 1000, 1) if delays else 0.0,
        "never_seen": unseen,
        "delays_ms": [round(d * 1000, 1) for d in delays],
        "cost_per_vote": meter.per(len(accepted), "vote, end to end at a steady rate"),
    }


# --- 4. Fan-out -------------------------------------------------------------------------


def fanout(run: Run) -> None:
    """N viewers of one poll on one results process, then on two: time until each has an
    update, what each viewer costs the process, and what the clients themselves used."""
    _, results_role = run.web()
    out: dict[str, Any] = {}
    for viewers in run.sizes.fanout_viewers:
        out[f"v{viewers}"] = _fanout_run(run, viewers, [results_role])
    many = run.sizes.fanout_two_processes
    if many:
        second = roles.results(name="results-2")
        second.start().wait_ready()
        try:
            out[f"two_processes_v{many}"] = _fanout_run(run, many, [results_role, second])
        finally:
            second.stop()
    run.figures["fanout"] = out


def _cpu_of(clients: list[subprocess.Popen[str]]) -> float:
    import psutil

    total = 0.0
    for client in clients:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = psutil.Process(client.pid).cpu_times()
            total += t.user + t.system
    return total


def _fanout_run(run: Run, viewers: int, targets: list[roles.WebRole]) -> dict[str, Any]:
    from django.db.models import F

    from polls.live.publisher import publish_now
    from polls.models import PollCounter

    label = f"fanout-{viewers}" + (f"-{len(targets)}proc" if len(targets) > 1 else "")
    run.set_phase(label)
    poll = run.poll(label)
    # Clients per results process: the phase's client count, split evenly.
    per_target = max(1, run.sizes.fanout_clients // len(targets))
    n_clients = per_target * len(targets)
    reported = False
    rss_before = [t.rss()[0] for t in targets]
    connect_start = time.monotonic()
    urls = [(t.url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/", t.url) for t in targets]
    clients = _viewer_clients(urls, viewers, n_clients)
    try:
        connected = _ready(clients)
        connect_seconds = time.monotonic() - connect_start
        print(
            f"  {connected}/{viewers} viewers connected to {len(targets)} results"
            f" process(es) in {connect_seconds:.1f}s"
        )
        time.sleep(1)
        rss_connected = [t.rss()[0] for t in targets]
        spy = None
        if run.profile and viewers == run.sizes.fanout_viewers[-1] and len(targets) == 1:
            spy = profile.start(targets[0], "results-fanout", 3 * run.sizes.fanout_updates)
        loop = asyncio.new_event_loop()
        sent: dict[int, float] = {}
        client_cpu_before = _cpu_of(clients)
        meter = costs.Meter(run.redis, list(targets)).start()
        updates_start = time.monotonic()
        for _ in range(run.sizes.fanout_updates):
            PollCounter.objects.filter(poll_id=poll.id).update(seq=F("seq") + 1)
            seq = int(PollCounter.objects.get(poll_id=poll.id).seq)
            sent[seq] = time.monotonic()
            publish_now(poll.id, loop)
            # Wait long enough for a slow delivery to finish before the next update.
            time.sleep(3)
        updates_seconds = time.monotonic() - updates_start
        meter.stop()
        client_cpu = _cpu_of(clients) - client_cpu_before
        loop.close()
        profile_summary = profile.finish(spy) if spy else None
        rss_after = [t.rss()[0] for t in targets]
        arrivals = _collect(clients, set(sent))
        reported = True
    finally:
        _close(clients, reported)
    per_update = []
    all_delays: list[float] = []
    for seq, t0 in sent.items():
        delays = [t - t0 for t in arrivals[seq]]
        all_delays.extend(delays)
        per_update.append(
            {
                "seq": seq,
                "delivered": len(delays),
                "p50_ms": round(pct(delays, 50) * 1000, 1),
                "p99_ms": round(pct(delays, 99) * 1000, 1),
                "all_ms": round(max(delays, default=0.0) * 1000, 1),
            }
        )
    grown = sum(rss_connected) - sum(rss_before)
    result = {
        "viewers": viewers,
        "results_processes": len(targets),
        "connected": connected,
        "connect_seconds": round(connect_seconds, 1),
        "updates": len(sent),
        "delivered_fraction": round(len(all_delays) / (connected * len(sent)), 4)
        if connected
        else 0.0,
        "p50_ms": round(pct(all_delays, 50) * 1000, 1),
        "p99_ms": round(pct(all_delays, 99) * 1000, 1),
        "max_ms": round(max(all_delays, default=0.0) * 1000, 1),
        "per_update": per_update,
        "results_rss_mb_before": [mb(x) for x in rss_before],
        "results_rss_mb_connected": mb(max(rss_connected)),
        "results_rss_mb_after_updates": mb(max(rss_after)),
        "results_rss_mb_each": [mb(x) for x in rss_after],
        # What a connected viewer adds to its results process's resident memory.
        "kb_per_viewer": round(grown / 1024 / connected, 1) if connected else 0.0,
        "clients": n_clients,
        # The load generator's own CPU while the updates went out: it must stay well below
        # what the results processes used, or it is the bottleneck being measured.
        "client_cpu_seconds": round(client_cpu, 2),
        "client_cpu_cores_busy": round(client_cpu / updates_seconds, 3),
        "cost_per_message": meter.per(len(all_delays), "message delivered to a viewer"),
        "delays_ms": [round(d * 1000, 1) for d in all_delays],
    }
    if profile_summary:
        result["profile"] = profile_summary
    print(
        f"  {connected} viewers on {len(targets)} process(es): p50 {result['p50_ms']} ms,"
        f" p99 {result['p99_ms']} ms, all {result['max_ms']} ms,"
        f" delivered {result['delivered_fraction']:.2%}, results RSS"
        f" {result['results_rss_mb_each']} MB ({result['kb_per_viewer']} kB a viewer),"
        f" client CPU {client_cpu:.2f} s"
    )
    return result


# --- Live sessions: a presenter's action reaches every phone --------------------------

# Each action in turn, from the first poll: it always has somewhere to go.
SESSION_ACTIONS = ("next", "lock", "reveal", "hide", "unlock", "next")
AUDIENCE_WINDOW_SECONDS = 5.0


def sessions(run: Run) -> None:
    """N audience sockets of one live session on one results process: from the presenter's
    action (next, lock, reveal, ...) until every socket has the new state; and what the
    audience count costs in Redis (MONITOR: the commands on the count's key per second)."""
    _, results_role = run.web()
    from django.contrib.auth.models import User

    from polls import live_sessions
    from polls.models import Poll
    from results.sessions import audience_key

    owner = User.objects.create_user(f"bench-presenter-{time.monotonic_ns()}")
    out: dict[str, Any] = {}
    for viewers in run.sizes.session_viewers:
        run.set_phase(f"sessions-{viewers}")
        made = [run.poll(f"session-{viewers}-{n}") for n in range(3)]
        polls = list(Poll.objects.filter(pk__in=[p.id for p in made]).order_by("pk"))
        session = live_sessions.go_live(
            live_sessions.create_session(title=f"Bench {viewers}", owner=owner, polls=polls)
        )
        ws_url = results_role.url.replace("http://", "ws://") + f"/ws/s/{session.code}/"
        clients = _viewer_clients(
            [(ws_url, results_role.url)], viewers, run.sizes.fanout_clients, "session"
        )
        reported = False
        try:
            connected = _ready(clients)
            print(f"  {connected}/{viewers} audience sockets connected")
            time.sleep(2 * AUDIENCE_WINDOW_SECONDS / 5)  # every process has written its count
            counted = _audience_calls(audience_key(session.pk), AUDIENCE_WINDOW_SECONDS)
            in_redis = sum(int(n) for n in run.redis.hgetall(audience_key(session.pk)).values())
            sent: dict[int, tuple[str, float]] = {}
            for action in SESSION_ACTIONS[: run.sizes.session_actions]:
                began = time.monotonic()
                session = _act(live_sessions, session, action)
                sent[session.seq] = (action, began)
                time.sleep(3)  # a slow delivery finishes before the next action
            arrivals = _collect(clients, set(sent))
            reported = True
        finally:
            _close(clients, reported)
            live_sessions.end(session)
        delays_by_seq = {seq: [t - t0 for t in arrivals[seq]] for seq, (_, t0) in sent.items()}
        all_delays = [d for delays in delays_by_seq.values() for d in delays]
        result = {
            "viewers": viewers,
            "connected": connected,
            "actions": len(sent),
            "delivered_fraction": round(len(all_delays) / (connected * len(sent)), 4)
            if connected
            else 0.0,
            "p50_ms": round(pct(all_delays, 50) * 1000, 1),
            "p99_ms": round(pct(all_delays, 99) * 1000, 1),
            "max_ms": round(max(all_delays, default=0.0) * 1000, 1),
            "per_action": [
                {
                    "action": action,
                    "delivered": len(delays_by_seq[seq]),
                    "p50_ms": round(pct(delays_by_seq[seq], 50) * 1000, 1),
                    "p99_ms": round(pct(delays_by_seq[seq], 99) * 1000, 1),
                    "all_ms": round(max(delays_by_seq[seq], default=0.0) * 1000, 1),
                }
                for seq, (action, _) in sent.items()
            ],
            "audience_count_in_redis": in_redis,
            "audience_window_seconds": AUDIENCE_WINDOW_SECONDS,
            **counted,
            "delays_ms": [round(d * 1000, 1) for d in all_delays],
        }
        out[f"v{viewers}"] = result
        print(
            f"  {viewers} phones: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms,"
            f" all {result['max_ms']} ms, delivered {result['delivered_fraction']:.2%};"
            f" audience count {in_redis}, {result['audience_round_trips_per_second']:.2f}"
            " Redis round trips/s"
        )
    run.figures["sessions"] = out


def quiz(run: Run) -> None:
    """Issue 36: N phones, each with its audience socket, answer a quiz question within its
    20 s countdown; the leaderboard after the deadline, each phone's own rank after the
    reveal (bench/quiz_phase.py)."""
    from django.contrib.auth.models import User

    from . import quiz_phase

    _, results_role = run.web()
    run.start_worker()
    owner = User.objects.create_user(f"bench-quizmaster-{time.monotonic_ns()}")
    out: dict[str, Any] = {}
    for phones in run.sizes.quiz_phones:
        run.set_phase(f"quiz-{phones}")

        def clients(code: str, phones: int = phones) -> list[Any]:
            ws_url = results_role.url.replace("http://", "ws://") + f"/ws/s/{code}/"
            targets = [(ws_url, results_role.url)]
            return _viewer_clients(targets, phones, run.sizes.fanout_clients, "session")

        result = quiz_phase.run_one(phones, owner, clients, sys.modules[__name__])
        out[f"p{phones}"] = result
        print(
            f"  {phones} phones: {result['accepted_before_deadline']} accepted in time,"
            f" {result['late_refused_time_up']}/{result['late_sent']} late refused;"
            f" leaderboard {result['leaderboard_ready_after_deadline_ms']} ms after the"
            f" deadline; own rank p99 {result['own_rank_p99_ms']} ms after the reveal"
        )
    run.figures["quiz"] = out


def _act(live_sessions: Any, session: Any, action: str) -> Any:
    """What the presenter's control does (polls.session_views._ACTIONS), in this process."""
    if action in ("next", "previous"):
        return live_sessions.move(session, step=1 if action == "next" else -1)
    if action in ("lock", "unlock"):
        return live_sessions.lock(session, locked=action == "lock")
    return live_sessions.reveal(session, shown=action == "reveal")


def _audience_calls(key: str, seconds: float) -> dict[str, Any]:
    """Every command on the audience count's key for `seconds`, from Redis's MONITOR (it
    sees each command however it was sent): the count's writes are one pipeline per
    results process a second (HSET + EXPIRE, one round trip), whatever the audience."""
    db = int(roles.REDIS_URL.rsplit("/", 1)[1] or 0)
    client = redis.Redis.from_url(roles.REDIS_URL, socket_timeout=2)
    commands: dict[str, int] = {}
    writers: set[str] = set()
    deadline = time.monotonic() + seconds
    with client.monitor() as monitor:
        while time.monotonic() < deadline:
            try:
                seen = monitor.next_command()
            except redis.TimeoutError:
                continue  # a quiet Redis: no command in 2 s
            words = str(seen["command"]).split()
            if seen["db"] != db or len(words) < 2 or words[1] != key:
                continue
            commands[words[0].upper()] = commands.get(words[0].upper(), 0) + 1
            writers.add(f"{seen['client_address']}:{seen['client_port']}")
    client.close()
    round_trips = commands.get("HSET", 0)  # each of the count's pipelines starts with one
    return {
        "audience_commands": commands,
        "audience_writer_connections": len(writers),
        "audience_round_trips_per_second": round(round_trips / seconds, 2),
    }


def _viewer_clients(
    targets: list[tuple[str, str]], viewers: int, n_clients: int, only_type: str = ""
) -> list[Any]:
    """`n_clients` client processes holding `viewers` sockets between them, spread over
    the (WebSocket URL, page origin) targets in turn."""
    clients = []
    for c in range(n_clients):
        url, origin = targets[c % len(targets)]
        share = viewers // n_clients + (1 if c < viewers % n_clients else 0)
        only = ["--only-type", only_type] if only_type else []
        clients.append(
            subprocess.Popen(
                [sys.executable, "-m", "bench.wsclient", "--url", url, "--origin", origin,
                 "--count", str(share), *only],
                cwd=roles.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                start_new_session=True,
            )
        )  # fmt: skip
    return clients


def _ready(clients: list[Any]) -> int:
    connected = 0
    for client in clients:
        line = roles.pipe(client.stdout).readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError(f"fan-out client failed: {line}")
        connected += int(line[1])
    return connected


def _collect(clients: list[Any], seqs: set[int]) -> dict[int, list[float]]:
    arrivals: dict[int, list[float]] = {seq: [] for seq in seqs}
    for client in clients:
        roles.pipe(client.stdin).write("REPORT\n")
        roles.pipe(client.stdin).flush()
        report = json.loads(roles.pipe(client.stdout).readline())
        for seq, times in report["arrivals"].items():
            if int(seq) in arrivals:
                arrivals[int(seq)].extend(times)
    return arrivals


def _close(clients: list[Any], reported: bool) -> None:
    for client in clients:
        try:
            client.wait(10 if reported else 0.1)  # they exit by themselves after REPORT
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait(5)


# --- 7. Cost follows the work -----------------------------------------------------------


def _insert_history(poll: db.BenchPoll, count: int) -> None:
    """Stored votes written straight into the tables, with tallies and counter to match."""
    from django.db import connection, transaction

    from votingsite.database import answer_within

    c0, c1 = poll.choice_ids[:2]
    # The site's deadline on every Postgres call is for requests, not a million-row insert.
    with answer_within(600), transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            # No receipts: as ballots stored before receipts existed.
            "INSERT INTO polls_vote"
            " (poll_id, voter_key, choice_id, ballot, cast_at, vote_id, stored_at, nonce, receipt)"
            " SELECT %s, 'anon:hist' || g, c, ARRAY[c], now(), gen_random_uuid(), now(), '', ''"
            " FROM (SELECT g, CASE WHEN g %% 3 = 0 THEN %s ELSE %s END AS c"
            "       FROM generate_series(1, %s) g) s",
            [poll.id, c0, c1, count],
        )
        cur.execute(
            "UPDATE polls_tally t SET votes = (SELECT count(*) FROM polls_vote v"
            " WHERE v.choice_id = t.choice_id) WHERE t.poll_id = %s",
            [poll.id],
        )
        cur.execute(
            "UPDATE polls_pollcounter SET total = %s, seq = seq + 1 WHERE poll_id = %s",
            [count, poll.id],
        )
    with answer_within(600), connection.cursor() as cur:
        cur.execute("ANALYZE polls_vote")


def _time_api(url: str, samples: int) -> list[float]:
    import http.client

    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        times.append(time.perf_counter() - start)
        if resp.status != 200:
            raise RuntimeError(f"GET {url}: {resp.status}")
    conn.close()
    return times


async def _time_ws_snapshot(ws_url: str, origin: str, samples: int) -> list[float]:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    times = []
    for _ in range(samples):
        start = time.perf_counter()
        async with connect(
            ws_url, origin=Origin(origin), ping_interval=None, compression=None
        ) as ws:
            await ws.recv()
            times.append(time.perf_counter() - start)
    return times


def history(run: Run) -> None:
    """Results API and WS snapshot timings with few and with very many stored votes."""
    voting, results_role = run.web()
    run.set_phase("history")
    out = {}
    for count in run.sizes.history_votes:
        poll = run.poll(f"history-{count}")
        start = time.monotonic()
        _insert_history(poll, count)
        insert_seconds = time.monotonic() - start
        n = run.sizes.history_samples
        _time_api(f"{voting.url}/api/polls/{poll.slug}/results", 5)  # warm up
        api = _time_api(f"{voting.url}/api/polls/{poll.slug}/results", n)
        ws_url = results_role.url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/"
        ws = asyncio.run(_time_ws_snapshot(ws_url, results_role.url, max(10, n // 4)))
        got = db.stored(poll.id)
        out[f"votes_{count}"] = {
            "stored_votes": got["votes"],
            "insert_seconds": round(insert_seconds, 1),
            "api_p50_ms": round(pct(api, 50) * 1000, 2),
            "api_p99_ms": round(pct(api, 99) * 1000, 2),
            "ws_snapshot_p50_ms": round(pct(ws, 50) * 1000, 2),
            "ws_snapshot_p99_ms": round(pct(ws, 99) * 1000, 2),
        }
        print(
            f"  {count} votes: API p50 {out[f'votes_{count}']['api_p50_ms']} ms,"
            f" WS snapshot p50 {out[f'votes_{count}']['ws_snapshot_p50_ms']} ms"
        )
    run.figures["history"] = out


# --- 8. Question kinds: persistence of multiple and ranked ballots; flat ranked results ---


def kinds(run: Run) -> None:
    """Ballots/s the worker stores for multiple- and ranked-choice polls of 8 choices and
    for a word cloud (3 words a voter), and the results API and snapshot at few and at very
    many ballots (a word cloud's and open answers': entries)."""
    out: dict[str, Any] = {}
    # BENCH_KINDS=text: the text kinds' part only (issue 33), for a look at it alone.
    text_only = os.environ.get("BENCH_KINDS", "") == "text"
    for kind in ("wordcloud",) if text_only else ("multiple", "ranked", "wordcloud"):
        out[f"persistence_{kind}"] = _kind_persistence(run, kind)
    for kind in () if text_only else ("multiple", "scale", "ranked"):
        out[f"{kind}_history"] = _kind_history(run, kind)
    for kind in ("wordcloud", "openanswer"):
        out[f"{kind}_history"] = _text_history(run, kind)
    run.figures["kinds"] = out


EIGHT = tuple(f"Choice {n}" for n in range(1, 9))


def _kind_persistence(run: Run, kind: str) -> dict[str, Any]:
    from bench.cast import ballot_for
    from polls import organising
    from polls.models import Poll

    run.stop_worker()
    run.set_phase(f"kinds-{kind}")
    run.polls_made += 1
    text = kind == "wordcloud"  # its ballots are entries, counted per term
    created = organising.create_poll(
        slug=f"bench-{kind}-{run.polls_made}", question=f"Bench {kind}?",
        labels=() if text else EIGHT, open_now=True, kind=kind,
    )  # fmt: skip
    choices = [c.pk for c in created.choices.all()]
    # A word cloud: text_voters voters, a tenth of them answering twice.
    count = run.sizes.text_voters * 10 // 9 if text else run.sizes.kinds_votes
    changed = count // 10
    voters = count - changed
    procs = run.sizes.cast_processes
    share = voters // procs
    ranges = []
    for p in range(procs):
        first = p * share
        n = voters - first if p == procs - 1 else share
        n_changed = changed // procs if p < procs - 1 else changed - changed // procs * (procs - 1)
        ranges.append((first, n, n_changed))
    argvs = [
        [sys.executable, "-m", "bench.cast", "--slug", created.slug, "--prefix", "k",
         "--first", str(first), "--count", str(n), "--changed", str(n_changed), "--kind", kind]
        for first, n, n_changed in ranges
    ]  # fmt: skip
    final: dict[int, list[int]] = {}
    for first, n, n_changed in ranges:
        for i in range(first, first + n):
            final[i] = ballot_for(kind, choices, i, changed=i < first + n_changed)
    env = roles.role_env()
    start = time.monotonic()
    children = [
        subprocess.Popen(argv, cwd=roles.ROOT, env=env, stdout=subprocess.PIPE) for argv in argvs
    ]
    for child in children:
        child.communicate(timeout=600)
    cast_seconds = time.monotonic() - start
    run.set_phase(f"kinds-{kind}-store")
    worker = roles.WorkerRole()
    worker.start()
    run.worker = worker
    worker.wait_ready()
    ready = time.monotonic()
    deadline = ready + run.sizes.persistence_timeout
    drained = False
    while time.monotonic() < deadline:
        if db.counter_total(created.pk) >= voters and db.queue_length(run.redis) == 0:
            drained = True
            break
        time.sleep(0.1)
    seconds = time.monotonic() - ready
    poll = Poll.objects.get(pk=created.pk)
    report = organising.recount_poll(poll, check=True)
    if text:
        exact = drained and report.matches and _text_counts(poll) == _expected_terms(final)
    else:
        stored = dict(poll.votes.values_list("voter_key", "ballot"))
        want = {f"anon:k{i}": b for i, b in final.items()}
        exact = drained and report.matches and stored == want
    result = {
        "ballots_cast": count,
        "changed": changed,
        "cast_seconds": round(cast_seconds, 1),
        "drain_seconds": round(seconds, 2),
        "drained": drained,
        "rate": round(count / seconds, 1) if drained else 0.0,
        "exact": exact,
        "distinct_rankings": poll.ranking_counts.filter(votes__gt=0).count(),
    }
    print(
        f"  {kind}: stored {count} ballots in {seconds:.1f}s: {result['rate']:.0f} ballots/s;"
        f" exact: {exact}"
    )
    return result


def _text_counts(poll: Any) -> dict[str, int]:
    from polls import text_entries

    return {t["key"]: t["count"] for t in text_entries.export_terms(poll.pk)}


def _expected_terms(final: dict[int, list[Any]]) -> dict[str, int]:
    """Each key's count from the voters' last ballots, normalised as the web side does."""
    from collections import Counter

    from polls.counting import text as engine

    counts: Counter[str] = Counter()
    for words in final.values():
        counts.update(e.key for e in engine.entries(words, engine.cloud_limits()))
    return dict(counts)


def _text_history(run: Run, kind: str) -> dict[str, Any]:
    """A word cloud (3 entries a voter, 1 in 10 entries a new term) or open answers (1 in
    2 a new answer) with N entries, the terms' counts skewed as people's are (the first
    terms far more often), written straight into the tables with the counts to match;
    then each size's snapshot, results API, WebSocket snapshot and second page of terms
    timed in turn, round by round: the figure is a ratio, and on a shared machine a busy
    moment then falls on every size alike."""
    from django.db import connection, transaction

    from polls import organising, text_entries
    from polls.counting import text as engine
    from votingsite.database import answer_within

    voting, results_role = run.web()
    run.set_phase(f"kinds-{kind}-history")
    out: dict[str, Any] = {}
    cloud = kind == "wordcloud"
    built = []
    for count in run.sizes.text_history:
        run.polls_made += 1
        poll = organising.create_poll(
            slug=f"bench-{kind}-history-{run.polls_made}", question="History?", labels=(),
            open_now=True, kind=kind,
        )  # fmt: skip
        distinct = max(10, count // (10 if cloud else 2))
        per_voter = 3 if cloud else 1
        texts = [
            f"word{n}" if cloud else f"An answer about the day, number {n}, in a few words"
            for n in range(distinct)
        ]
        rows = [(n, t, engine.key_of(t), text_entries.digest(engine.key_of(t)),
                 text_entries.digest(t)) for n, t in enumerate(texts)]  # fmt: skip
        started = time.monotonic()
        with answer_within(900), transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE bench_terms (n int, shown text, key text, digest text,"
                " spelling text) ON COMMIT DROP"
            )
            cur.executemany("INSERT INTO bench_terms VALUES (%s, %s, %s, %s, %s)", rows)
            cur.execute("SELECT setseed(0.33)")
            cur.execute(
                "INSERT INTO polls_textentry (poll_id, voter_key, vote_id, position, shown, key,"
                " digest, state, flagged, cast_at, stored_at) SELECT %s, 'anon:th' || (g / %s),"
                " gen_random_uuid(), g %% %s, t.shown, t.key, t.digest, 'shown', false, now(),"
                " now() FROM (SELECT g, floor(power(random(), 3) * %s)::int AS i FROM"
                " generate_series(0, %s - 1) g) r JOIN bench_terms t ON t.n = r.i",
                [poll.pk, per_voter, per_voter, distinct, count],
            )
            cur.execute(
                # No receipts: as ballots stored before receipts existed.
                "INSERT INTO polls_vote (poll_id, voter_key, choice_id, ballot, cast_at, vote_id,"
                " stored_at, nonce, receipt) SELECT %s, 'anon:th' || g, NULL, '{}', now(),"
                " gen_random_uuid(), now(), '', '' FROM generate_series(0, (%s - 1) / %s) g",
                [poll.pk, count, per_voter],
            )
            cur.execute(
                "INSERT INTO polls_termcount (poll_id, digest, key, shown, votes, newest) SELECT"
                " %s, digest, min(key), min(shown), count(*), max(id) FROM polls_textentry"
                " WHERE poll_id = %s GROUP BY digest",
                [poll.pk, poll.pk],
            )
            cur.execute(
                "INSERT INTO polls_spellingcount (poll_id, digest, term, shown, votes) SELECT"
                " %s, t.spelling, t.digest, t.shown, c.votes FROM polls_termcount c JOIN"
                " bench_terms t ON t.digest = c.digest WHERE c.poll_id = %s",
                [poll.pk, poll.pk],
            )
            cur.execute(
                "INSERT INTO polls_entrycounter (poll_id, entries, distinct_terms, pending,"
                " hidden) SELECT %s, %s, count(*), 0, 0 FROM polls_termcount WHERE poll_id = %s",
                [poll.pk, count, poll.pk],
            )
            cur.execute(
                "UPDATE polls_pollcounter SET total = (%s - 1) / %s + 1, seq = seq + 1"
                " WHERE poll_id = %s",
                [count, per_voter, poll.pk],
            )
        with answer_within(600), connection.cursor() as cur:
            cur.execute("ANALYZE polls_textentry, polls_termcount, polls_spellingcount")
        insert_seconds = time.monotonic() - started
        built.append((count, poll, distinct, insert_seconds))
    from polls.selectors import poll_results

    rounds = 10
    n = run.sizes.history_samples
    samples: dict[int, dict[str, list[float]]] = {
        count: {"computed": [], "api": [], "terms": [], "ws": []} for count, *_ in built
    }
    for _ in range(rounds):
        for count, poll, _distinct, _seconds in built:
            took = samples[count]
            # The snapshot's own computation (the readers then share it from Redis).
            for _ in range(max(10, n // 4) // rounds):
                begun = time.perf_counter()
                poll_results(poll=poll)
                took["computed"].append(time.perf_counter() - begun)
            url = f"{voting.url}/api/polls/{poll.slug}/results"
            _time_api(url, 1)
            took["api"] += _time_api(url, n // rounds)
            terms_url = f"{voting.url}/api/polls/{poll.slug}/terms?page=2"
            _time_api(terms_url, 1)
            took["terms"] += _time_api(terms_url, max(10, n // 4) // rounds)
            ws_url = results_role.url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/"
            took["ws"] += asyncio.run(
                _time_ws_snapshot(ws_url, results_role.url, max(10, n // 4) // rounds)
            )
    import requests

    for count, poll, distinct, insert_seconds in built:
        took = samples[count]
        size = len(requests.get(f"{voting.url}/api/polls/{poll.slug}/results", timeout=30).content)
        key = f"entries_{count}"
        out[key] = {
            "entries": count,
            "distinct": distinct,
            "insert_seconds": round(insert_seconds, 1),
            "snapshot_bytes": size,
            "compute_p50_ms": round(pct(took["computed"], 50) * 1000, 2),
            "compute_p99_ms": round(pct(took["computed"], 99) * 1000, 2),
            "api_p50_ms": round(pct(took["api"], 50) * 1000, 2),
            "api_p99_ms": round(pct(took["api"], 99) * 1000, 2),
            "ws_snapshot_p50_ms": round(pct(took["ws"], 50) * 1000, 2),
            "ws_snapshot_p99_ms": round(pct(took["ws"], 99) * 1000, 2),
            "terms_page_p50_ms": round(pct(took["terms"], 50) * 1000, 2),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        print(
            f"  {kind}, {count} entries, {distinct} terms: snapshot computed p50"
            f" {out[key]['compute_p50_ms']} ms, API p50 {out[key]['api_p50_ms']} ms,"
            f" WS snapshot p50 {out[key]['ws_snapshot_p50_ms']} ms, terms page p50"
            f" {out[key]['terms_page_p50_ms']} ms, snapshot {size} bytes"
        )
    return out


def _kind_history(run: Run, kind: str) -> dict[str, Any]:
    """A poll of the kind with N stored ballots (multiple, ranked: over 2,000 distinct
    ballots of 8 choices; scale: values 1-10), written straight into the tables with its
    aggregates to match, then its results API and WebSocket snapshot timed."""
    import random

    from django.db import connection, transaction

    from polls import organising
    from votingsite.database import answer_within

    voting, results_role = run.web()
    run.set_phase("kinds-history")
    rng = random.Random(8)
    out: dict[str, Any] = {}
    for count in run.sizes.kinds_history:
        run.polls_made += 1
        extra: dict[str, Any] = {"scale_min": 1, "scale_max": 10} if kind == "scale" else {}
        poll = organising.create_poll(
            slug=f"bench-{kind}-history-{run.polls_made}", question="History?",
            labels=() if kind == "scale" else EIGHT, open_now=True, kind=kind, **extra,
        )  # fmt: skip
        choices = [c.pk for c in poll.choices.all()]
        if kind == "ranked":
            found = {tuple(rng.sample(choices, rng.randint(1, 8))) for _ in range(2500)}
        elif kind == "multiple":
            found = {tuple(sorted(rng.sample(choices, rng.randint(1, 8)))) for _ in range(2500)}
        else:
            found = {(v,) for v in range(1, 11)}
        table = [list(b) for b in sorted(found)][:2000]
        started = time.monotonic()
        # The site's deadline on every Postgres call is for requests, not a bulk insert.
        with answer_within(600), transaction.atomic(), connection.cursor() as cur:
            cur.execute("CREATE TEMP TABLE bench_ballots (n int, ballot bigint[]) ON COMMIT DROP")
            cur.executemany("INSERT INTO bench_ballots VALUES (%s, %s)", list(enumerate(table)))
            cur.execute(
                "INSERT INTO polls_vote (poll_id, voter_key, choice_id, ballot, cast_at, vote_id,"
                " stored_at, nonce, receipt) SELECT %s, 'anon:kh' || g, NULL, b.ballot, now(),"
                " gen_random_uuid(), now(), '', '' FROM generate_series(1, %s) g"
                " JOIN bench_ballots b ON b.n = g %% %s",
                [poll.pk, count, len(table)],
            )
            if kind == "ranked":
                cur.execute(
                    "INSERT INTO polls_rankingcount (poll_id, ranking, votes) SELECT %s, ballot,"
                    " count(*) FROM polls_vote WHERE poll_id = %s GROUP BY ballot",
                    [poll.pk, poll.pk],
                )
            if kind == "scale":
                cur.execute(
                    "INSERT INTO polls_valuecount (poll_id, value, votes) SELECT %s, ballot[1],"
                    " count(*) FROM polls_vote WHERE poll_id = %s GROUP BY 2"
                    " ON CONFLICT (poll_id, value) DO UPDATE SET votes = EXCLUDED.votes",
                    [poll.pk, poll.pk],
                )
            else:
                # First preferences (ranked), or every choice picked (multiple).
                counted = "ballot[1]" if kind == "ranked" else "unnest(ballot)"
                cur.execute(
                    f"UPDATE polls_tally t SET votes = s.n FROM (SELECT {counted} AS c,"  # noqa: S608 (one of two fixed expressions)
                    " count(*) AS n FROM polls_vote WHERE poll_id = %s GROUP BY 1) s"
                    " WHERE t.choice_id = s.c",
                    [poll.pk],
                )
            cur.execute(
                "UPDATE polls_pollcounter SET total = %s, seq = seq + 1 WHERE poll_id = %s",
                [count, poll.pk],
            )
        with answer_within(600), connection.cursor() as cur:
            cur.execute("ANALYZE polls_vote")
        insert_seconds = time.monotonic() - started
        n = run.sizes.history_samples
        url = f"{voting.url}/api/polls/{poll.slug}/results"
        _time_api(url, 5)
        api = _time_api(url, n)
        ws_url = results_role.url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/"
        ws = asyncio.run(_time_ws_snapshot(ws_url, results_role.url, max(10, n // 4)))
        out[f"ballots_{count}"] = {
            "ballots": count,
            "distinct_ballots": len(table),
            "insert_seconds": round(insert_seconds, 1),
            "api_p50_ms": round(pct(api, 50) * 1000, 2),
            "api_p99_ms": round(pct(api, 99) * 1000, 2),
            "ws_snapshot_p50_ms": round(pct(ws, 50) * 1000, 2),
            "ws_snapshot_p99_ms": round(pct(ws, 99) * 1000, 2),
        }
        print(
            f"  {kind}, {count} ballots, {len(table)} distinct: API p50"
            f" {out[f'ballots_{count}']['api_p50_ms']} ms, WS snapshot p50"
            f" {out[f'ballots_{count}']['ws_snapshot_p50_ms']} ms"
        )
    return out


# --- 9. Reads: results computed once per change -----------------------------------------


def _ranked_poll(run: Run, name: str, rankings: int) -> db.BenchPoll:
    """A 12-choice ranked poll holding `rankings` distinct rankings, inserted directly."""
    import itertools
    from collections import Counter

    from django.db.models import F

    from polls import snapshots
    from polls.models import Poll, PollCounter, RankingCount, Tally

    poll = db.make_poll(f"bench-{name}-{rankings}", labels=tuple(f"Option {n}" for n in range(12)))
    Poll.objects.filter(pk=poll.id).update(kind=Poll.Kind.RANKED)
    chosen = list(itertools.islice(itertools.permutations(poll.choice_ids, 5), rankings))
    RankingCount.objects.bulk_create(
        RankingCount(poll_id=poll.id, ranking=list(r), votes=1) for r in chosen
    )
    for choice_id, votes in Counter(r[0] for r in chosen).items():
        Tally.objects.filter(choice_id=choice_id).update(votes=votes)
    PollCounter.objects.filter(poll_id=poll.id).update(total=len(chosen), seq=F("seq") + 1)
    snapshots.forget(poll.id)
    return poll


def _vote_times(base: str, poll: db.BenchPoll, count: int) -> list[float]:
    """Each vote a new voter's API POST (its CSRF cookie fetched first, not timed)."""
    import requests

    times = []
    for _ in range(count):
        with requests.Session() as http:
            # Sent by hand: the site's cookies are Secure, and this is plain HTTP.
            token = str(http.get(f"{base}/api/polls/{poll.slug}", timeout=10).cookies["csrftoken"])
            start = time.perf_counter()
            answer = http.post(
                f"{base}/api/polls/{poll.slug}/vote",
                json={"choice": poll.choice_ids[0]},
                headers={"X-CSRFToken": token, "Cookie": f"csrftoken={token}"},
                timeout=30,
            )
            times.append(time.perf_counter() - start)
            if answer.status_code != 202:
                raise RuntimeError(f"vote: {answer.status_code} {answer.text[:100]}")
    return times


async def _syncing_then_new_viewers(
    ws_url: str, origin: str, syncing: int, samples: int
) -> list[float]:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    stop = asyncio.Event()

    async def sync_every_half_second() -> None:
        async with connect(ws_url, origin=Origin(origin), ping_interval=None) as ws:
            await ws.recv()
            while not stop.is_set():
                await ws.send('{"type": "sync"}')  # the allowed rate: 2 a second
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ws.recv(), 0.5)

    tasks = [asyncio.create_task(sync_every_half_second()) for _ in range(syncing)]
    await asyncio.sleep(1)
    try:
        return await _time_ws_snapshot(ws_url, origin, samples)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


def reads(run: Run) -> None:
    """What reading a big ranked poll costs everyone else: the results API at 100 and at
    20,000 distinct rankings, ordinary votes with 8 readers hammering the big poll, and a
    new viewer's first snapshot while 30 sockets sync at the allowed rate."""
    import requests

    voting, results_role = run.web()
    run.start_worker()
    run.set_phase("reads")
    samples = run.sizes.history_samples
    api = {}
    for rankings in (100, 20_000):
        poll = _ranked_poll(run, "reads", rankings)
        url = f"{voting.url}/api/polls/{poll.slug}/results"
        _time_api(url, 5)
        api[rankings] = _time_api(url, samples)
    big = _ranked_poll(run, "reads-big", 20_000)
    small = run.poll("reads-votes")
    idle = _vote_times(voting.url, small, samples // 2)
    stop = threading.Event()

    def reader() -> None:
        with requests.Session() as http:
            while not stop.is_set():
                http.get(f"{voting.url}/api/polls/{big.slug}/results", timeout=30)

    readers = [threading.Thread(target=reader, daemon=True) for _ in range(8)]
    for thread in readers:
        thread.start()
    try:
        busy = _vote_times(voting.url, small, samples // 2)
    finally:
        stop.set()
        for thread in readers:
            thread.join(30)
    out: dict[str, Any] = {
        "api_p50_ms_100_rankings": round(pct(api[100], 50) * 1000, 2),
        "api_p50_ms_20000_rankings": round(pct(api[20_000], 50) * 1000, 2),
        "api_ratio_20000_to_100": round(pct(api[20_000], 50) / pct(api[100], 50), 2),
        "vote_p50_ms_idle": round(pct(idle, 50) * 1000, 2),
        "vote_p50_ms_8_readers": round(pct(busy, 50) * 1000, 2),
        "vote_ratio_readers_to_idle": round(pct(busy, 50) / pct(idle, 50), 2),
    }
    run.figures["reads"] = out
    ws_url = results_role.url.replace("http://", "ws://") + f"/ws/polls/{big.slug}/"
    try:
        new_viewers = asyncio.run(_syncing_then_new_viewers(ws_url, results_role.url, 30, 40))
    except Exception as exc:  # new viewers refused under syncing load: that is the figure
        out["new_viewer_snapshot_failed"] = repr(exc)[:120]
    else:
        out["new_viewer_snapshot_p50_ms_30_syncing"] = round(pct(new_viewers, 50) * 1000, 2)
        out["new_viewer_snapshot_p99_ms_30_syncing"] = round(pct(new_viewers, 99) * 1000, 2)
    for name, value in out.items():
        print(f"  {name}: {value}")
