"""The "room" phase (issue 42): a room of phones through the front door, as phones do it.

`python -m bench --only room` runs 1,000, 5,000 and 10,000 phones (10,000 on two results
processes); `--quick` the smallest. For each size: a live session of three questions, the
door (Debian's nginx with the shipped configuration, static files from disk) in front of
a voting and one or two results processes, and room clients (bench/roomclient.py) whose
phones each join from a loopback address of their own within the join window (the page,
every static file it names, the socket), vote by form in a burst, and follow the
presenter's next, lock, reveal, a step back and a hide. Reported: join p50/p99, vote p99
and errors, all stored after the last accepted vote, action → every phone p99, reveal →
every phone has the results p99, bytes per phone, CPU and memory per role and the load
generator's own CPU.

Then freshness while the room watches: the third question's results shown on every
phone, API votes cast straight to the voting role at the freshness rate (500/s) for
the freshness time (20 s; --quick 6 s), and cast → shown over every (vote, phone)
pair: from each vote's 202 until that phone's first results message counting it
(bench/shown.py), with each role's CPU meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil
import redis

from . import profile, roles, roomclient, shown
from .phases import QUICK, Run, pct


@dataclass(frozen=True)
class RoomSize:
    phones: int
    results_processes: int
    clients: int
    join_seconds: float
    vote_seconds: float


FULL: tuple[RoomSize, ...] = (
    RoomSize(1_000, 1, 2, 10, 10),
    RoomSize(5_000, 1, 4, 30, 10),
    RoomSize(10_000, 2, 4, 30, 10),
)
QUICK_SIZES: tuple[RoomSize, ...] = (RoomSize(1_000, 1, 2, 10, 10),)
ACTIONS = ("next", "lock", "reveal", "previous", "reveal", "hide")
SETTLE_SECONDS = 5.0  # between actions: a slow delivery finishes before the next
# BENCH_ROOM_RESTART=1: the reconnect storm. Halfway through the vote burst the (first)
# results process is restarted under the room; every phone on it opens its socket again
# as socket.js does. Reported: the time from the restart until each is back (its first
# session message again), and every accepted vote stored as ever. Adds ~30 s a size.
RESTART = os.environ.get("BENCH_ROOM_RESTART", "") == "1"
BACK_SECONDS = float(os.environ.get("BENCH_ROOM_BACK_SECONDS", "180"))
# BENCH_ROOM_PROCESSES: results processes for the other sizes of BENCH_ROOM_PHONES.
PROCESSES = int(os.environ.get("BENCH_ROOM_PROCESSES", "1"))
# BENCH_ROOM_FRESHNESS_SECONDS: the freshness part's casting time (0: left out).
FRESH_SECONDS = os.environ.get("BENCH_ROOM_FRESHNESS_SECONDS", "")
FRESH_STORED_SECONDS = 30.0  # at most, for every accepted vote to be stored after the cast


def room(run: Run) -> None:
    sizes = QUICK_SIZES if run.sizes is QUICK else FULL
    # BENCH_ROOM_PHONES=200,500: other sizes (one results process each, the full sizes
    # as above: 10000 on two), for a look.
    wanted = os.environ.get("BENCH_ROOM_PHONES", "")
    if wanted:
        full = {size.phones: size for size in FULL}
        sizes = tuple(
            full.get(int(n))
            or RoomSize(
                int(n), PROCESSES, 4 if int(n) >= 5_000 else 2, 30 if int(n) >= 5_000 else 10, 10
            )
            for n in wanted.split(",")
        )
    run.figures["room"] = {f"p{size.phones}": measure(run, size) for size in sizes}


class Door(roles.WebRole):
    """The front door as scripts/run runs it (votingsite.front_door), static files from
    the bench's collectstatic, in front of the given roles (every results process an
    upstream server of the door's, as a Service's endpoints are)."""

    def __init__(self, port: int, voting: roles.WebRole, results: list[roles.WebRole]) -> None:
        from votingsite import front_door

        directory = roles.OUT / f"door-{port}"
        front_door.prepare(
            directory,
            listen=f"127.0.0.1:{port}",
            voting=voting.url.removeprefix("http://"),
            results=results[0].url.removeprefix("http://"),
            static=roles.OUT / "static",
        )
        # max_fails=0: a Service's endpoints are never marked down by the door (one server
        # never is); with nginx's default, a restart's connect timeouts marked both down.
        servers = "".join(
            f"    server {r.url.removeprefix('http://')} max_fails=0;\n" for r in results
        )
        (directory / "upstreams.conf").write_text(
            f"upstream voting_role {{\n    server {voting.url.removeprefix('http://')};\n}}\n"
            f"upstream results_role {{\n{servers}}}\n",
            encoding="utf-8",
        )
        argv = ["/usr/sbin/nginx", "-p", f"{directory}/", "-c", str(directory / "nginx.conf"),
                "-e", "stderr", "-g", "daemon off;"]  # fmt: skip
        super().__init__("door", argv, port, roles.role_env())


def _roles(size: RoomSize) -> tuple[roles.WebRole, list[roles.WebRole], Door]:
    # The door is the one proxy in front: the roles see each phone's own address, and
    # take sockets from pages of the door's origin.
    port = roles.free_port()
    env = {"DJANGO_TRUSTED_PROXY_HOPS": "1",
           "DJANGO_PUBLIC_ORIGINS": f"http://127.0.0.1:{port}"}  # fmt: skip
    voting = roles.voting(name="room-voting", **env)
    results = [
        roles.results(name=f"room-results-{n}", **env) for n in range(size.results_processes)
    ]
    for role in (voting, *results):
        role.start()
    for role in (voting, *results):
        role.wait_ready()
    door = Door(port, voting, results)
    door.start()
    door.wait_ready()
    return voting, results, door


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            for p in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    t = p.cpu_times()
                    total += t.user + t.system
    return total


def _read(client: subprocess.Popen[str]) -> dict[str, Any]:
    line = roles.pipe(client.stdout).readline()
    if not line:
        raise RuntimeError("a room client exited early (bench-results/logs/)")
    answer: dict[str, Any] = json.loads(line)
    return answer


def _tell(clients: list[subprocess.Popen[str]], line: str) -> list[dict[str, Any]]:
    for client in clients:
        roles.pipe(client.stdin).write(line + "\n")
        roles.pipe(client.stdin).flush()
    return [_read(client) for client in clients]


def start_clients(
    door_url: str, code: str, phones: int, n_clients: int, join_seconds: float
) -> list[subprocess.Popen[str]]:
    clients = []
    for c in range(n_clients):
        share = phones // n_clients + (1 if c < phones % n_clients else 0)
        first = c * (phones // n_clients + 1)
        clients.append(
            subprocess.Popen(
                [sys.executable, "-m", "bench.roomclient", "--door", door_url, "--code", code,
                 "--count", str(share), "--first", str(first), "--join-seconds", str(join_seconds)],
                cwd=roles.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                start_new_session=True,
            )
        )  # fmt: skip
    return clients


def measure(run: Run, size: RoomSize) -> dict[str, Any]:
    from django.contrib.auth.models import User

    from polls import live_sessions
    from polls.models import Poll, Vote

    from .phases import _act

    run.set_phase(f"room-{size.phones}")
    voting, results, door = _roles(size)
    owner = User.objects.create_user(f"bench-room-{time.monotonic_ns()}")
    made = [run.poll(f"room-{size.phones}-{n}") for n in range(3)]
    polls = list(Poll.objects.filter(pk__in=[p.id for p in made]).order_by("pk"))
    session = live_sessions.go_live(
        live_sessions.create_session(title=f"Room {size.phones}", owner=owner, polls=polls)
    )
    pages = [f"/s/{session.code}/", "/join", f"/polls/{polls[0].slug}/",
             f"/polls/{polls[0].slug}/results/", "/"]  # fmt: skip
    first_load = asyncio.run(roomclient.first_load(door.url, pages))
    print(f"  first load, bytes: {first_load}")
    role_pids = {"voting": [voting.pid], "results": [r.pid for r in results],
                 "door": [door.pid], "worker": [run.start_worker().pid]}  # fmt: skip
    cpu_before = {name: _cpu(pids) for name, pids in role_pids.items()}
    began = time.monotonic()
    spy = (
        profile.start(results[0], f"results-room-join-{size.phones}", size.join_seconds + 10)
        if run.profile
        else None
    )
    clients = start_clients(door.url, session.code, size.phones, size.clients, size.join_seconds)
    restart: dict[str, Any] = {}
    fresh: dict[str, Any] = {}
    try:
        joined = [_read(c) for c in clients]
        join_took = time.monotonic() - began
        joins = [j for answer in joined for j in answer["joins"]]
        failed = sum(a["failed"] for a in joined)
        print(f"  {len(joins)}/{size.phones} phones joined in {join_took:.1f} s ({failed} failed)"
              + (f": {joined[0]['failures'][:3]}" if failed else ""))  # fmt: skip

        # The vote burst on the first question, then every vote stored.
        ids = ",".join(str(c) for c in polls[0].choices.values_list("pk", flat=True))
        if RESTART:
            _tell(clients, "RECONNECT")
            for client in clients:
                roles.pipe(client.stdin).write(f"VOTE {size.vote_seconds} {ids}\n")
                roles.pipe(client.stdin).flush()
            time.sleep(size.vote_seconds / 2)
            restart = _restart(results[0], role_pids, cpu_before)
            voted = [_read(c) for c in clients]
            restart.update(_back(_tell(clients, f"BACK {BACK_SECONDS}"), restart["at"]))
            print(f"  restarted a results process: {restart}")
        else:
            voted = _tell(clients, f"VOTE {size.vote_seconds} {ids}")
        votes = [v for answer in voted for v in answer["votes"]]
        accepted = [v for v in votes if v[0] in (202, 303)]
        last_accept = max((v[2] for v in accepted), default=time.monotonic())
        deadline = time.monotonic() + 120
        while Vote.objects.filter(poll=polls[0]).count() < len(accepted):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        stored = Vote.objects.filter(poll=polls[0]).count()
        stored_after = time.monotonic() - last_accept
        failures: Counter[str] = Counter()
        for answer in voted:
            failures.update(answer.get("failures", {}))
        print(f"  {len(accepted)}/{len(votes)} votes accepted, vote p99"
              f" {pct([v[1] for v in votes], 99) * 1000:.0f} ms; {stored} stored"
              f" {stored_after:.1f} s after the last"
              + (f"; no answer: {dict(failures)}" if failures else ""))  # fmt: skip

        sent: dict[int, tuple[str, float]] = {}
        for action in ACTIONS:
            t0 = time.monotonic()
            if action == "hide":
                session = live_sessions.reveal(session, shown=False)
            else:
                session = _act(live_sessions, session, action)
            sent[session.seq] = (action, t0)
            time.sleep(SETTLE_SECONDS)
        cpu_after = {name: _cpu(pids) for name, pids in role_pids.items()}
        client_cpu = _cpu([c.pid for c in clients])
        seconds = float(FRESH_SECONDS or run.sizes.freshness_seconds)
        if seconds > 0:
            session, fresh = _freshness(run, size, session, polls[2], clients, voting,
                                        results, role_pids, seconds, door.url)  # fmt: skip
        reports = _tell(clients, "REPORT")
    finally:
        for client in clients:
            try:
                client.wait(15)
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait(5)
        live_sessions.end(session)
        for role in (door, *results, voting):
            role.stop()
    cpu = {n: round(cpu_after[n] - cpu_before[n], 1) for n in cpu_before}
    memory = run.memory.peaks.get(f"room-{size.phones}", {})
    figures = _figures(size, joins, failed, votes, accepted, stored, stored_after, sent, reports,
                       cpu, client_cpu, memory)  # fmt: skip
    if spy is not None:
        figures["profile_join"] = profile.finish(spy)
    if restart:
        figures["restart"] = restart
    if failures:
        figures["vote_failures"] = dict(failures)  # why the votes with no answer had none
    if fresh:
        figures["freshness"] = fresh
    return {"first_load_bytes_by_page": first_load, **figures}


def _freshness(  # noqa: PLR0917 (the room's parts, handed on)
    run: Run, size: RoomSize, session: Any, poll: Any, clients: list[subprocess.Popen[str]],
    voting: roles.WebRole, results: list[roles.WebRole], role_pids: dict[str, list[int]],
    seconds: float, origin: str,
) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    """Cast → shown on every phone while the room watches a question's results."""
    from polls import live_sessions
    from polls.models import Vote

    from .phases import _act, api_votes

    for _ in range(3):  # to `poll` (after the actions: the first question)
        if session.current_poll_id == poll.pk:
            break
        session = _act(live_sessions, session, "next")
    _tell(clients, f"WATCH {poll.slug}")
    session = _act(live_sessions, session, "reveal")
    time.sleep(SETTLE_SECONDS)  # every phone has the results it follows from here
    base = Vote.objects.filter(poll=poll).count()
    rate = run.sizes.freshness_rate
    choice = poll.choices.values_list("pk", flat=True).first()
    requests = api_votes(run, voting, poll.slug, choice, int(rate * seconds))
    load_before = os.getloadavg()
    cpu_before = {name: _cpu(pids) for name, pids in role_pids.items()}
    clients_before, own_before = _cpu([c.pid for c in clients]), time.process_time()
    spies = (
        [profile.start(role, f"{role.name}-room-fresh-{size.phones}", seconds)
         for role in (results[0], voting, run.start_worker())]
        if run.profile else []
    )  # fmt: skip
    began = time.monotonic()
    stored_over_time = _Stored(poll.pk, base)
    observer: list[tuple[float, int]] = []
    ws_url = results[0].url.replace("http://", "ws://") + f"/ws/polls/{poll.slug}/"
    measured: dict[str, Any] = {}

    def cast_done() -> None:  # the CPU of the cast itself, before the wait for the last
        took = time.monotonic() - began
        measured["busy"] = {
            n: round((_cpu(pids) - cpu_before[n]) / took, 2) for n, pids in role_pids.items()
        }
        measured["generator"] = (_cpu([c.pid for c in clients]) - clients_before) / took
        measured["caster"] = (time.process_time() - own_before) / took
        measured["load_after"] = os.getloadavg()

    def all_stored(accepted: int) -> None:  # in a thread of its own
        from django.db import connection

        deadline = time.monotonic() + FRESH_STORED_SECONDS
        try:
            while Vote.objects.filter(poll=poll).count() < base + accepted:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        finally:
            connection.close()

    cast = asyncio.run(
        _cast_observed(voting.url, requests, rate, ws_url, origin, observer,
                       cast_done, all_stored)
    )  # fmt: skip
    busy, generator, caster = measured["busy"], measured["generator"], measured["caster"]
    load_after = measured["load_after"]
    accepted: list[float] = cast["accepted"]
    stored_over_time.stop()
    answers = _tell(clients, f"FRESH {base} {json.dumps(accepted, separators=(',', ':'))}")
    everyone = shown.Histogram.merged(a["histogram"] for a in answers)
    earliest: dict[int, float] = {}
    latest: dict[int, float] = {}
    for answer in answers:
        for total, at in answer["first"].items():
            earliest[int(total)] = min(at, earliest.get(int(total), at))
        for total, at in answer["last"].items():
            latest[int(total)] = max(at, latest.get(int(total), at))
    first = shown.Histogram()
    first.add(accepted, base, shown.first_shown(earliest))
    stored = shown.Histogram()  # sampled every 0.1 s: ~50 ms too late on average
    stored.add(accepted, 0, stored_over_time.samples)
    published = shown.Histogram()  # likewise
    published.add(accepted, 0, stored_over_time.published)
    sent = shown.Histogram()
    sent.add(accepted, 0, stored_over_time.sent)
    direct = shown.Histogram()
    direct.add(accepted, base, observer)
    # Each results message from its first phone to its last, and the time between two
    # such starts: one round of the hand-out each while a round hands out one total (a
    # round may now switch to a newer total half-way: "a phone's results every" is the
    # round as a phone sees it).
    rounds = [latest[t] - earliest[t] for t in earliest]
    every = [e for answer in answers for e in answer["every"]]
    starts = sorted(earliest.values())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    messages = [n for a in answers for n in a["messages"]]
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    figures = {
        "target_rate": rate, "seconds": seconds, "votes": len(requests),
        "accepted": len(accepted), "statuses": cast["statuses"],
        "achieved_rate": round((len(accepted) - 1) / span, 1) if span else 0.0,
        "max_send_lateness_ms": round(cast["max_lateness"] * 1000, 1),
        "watching": len(messages),
        **everyone.figures(),
        # The same from each vote to the first phone that showed it: the worker's and the
        # publisher's part; the rest of the figure above is the fan-out's.
        "first_phone": first.figures(),
        "stored": stored.figures(),
        "published": published.figures(),
        # Each push as Redis hands it to a subscriber of the poll's group: from here on
        # the time is the results process's (receiving, the hand-out) and the door's.
        "sent": sent.figures(),
        "pushes": len(stored_over_time.sent),
        # One more viewer of the poll in the same hub, straight to the results process
        # (no door), in the caster's process: the results process's part without the
        # door's and the room clients'.
        "direct_viewer": direct.figures(),
        # The median time between a phone's results messages, p50 over the phones.
        "phone_every_ms_p50": round(pct(every, 50) * 1000, 1),
        "round_ms_p50": round(pct(rounds, 50) * 1000, 1),
        "round_ms_max": round(max(rounds, default=0.0) * 1000, 1),
        "between_rounds_ms_p50": round(pct(gaps, 50) * 1000, 1),
        "between_rounds_ms_max": round(max(gaps, default=0.0) * 1000, 1),
        "results_totals_sent": len(earliest),
        "messages_per_phone_p50": pct([float(n) for n in messages], 50),
        "messages_per_phone_min": min(messages, default=0),
        "cores_busy": busy, "load_generator_cores_busy": round(generator, 2),
        "caster_cores_busy": round(caster, 2),
        "load_average": [round(x, 2) for x in (*load_before, *load_after)],
        # Where the time goes, from the cast's start (s): votes accepted, stored (the
        # worker's part) and first shown on a phone (the publisher's and the fan-out's).
        "timeline": {
            "accepted": [[round(t - began, 3), k] for k, t in enumerate(accepted, 1)][::100],
            "stored": [[round(t - began, 3), n] for t, n in stored_over_time.samples],
            "published": [[round(t - began, 3), n] for t, n in stored_over_time.published],
            "sent": [[round(t - began, 3), n] for t, n in stored_over_time.sent],
            "first_shown": sorted([round(at - began, 3), total - base]
                                  for total, at in earliest.items()),
        },
    }  # fmt: skip
    if spies:
        figures["profiles"] = {spy.name: profile.finish(spy) for spy in spies}
    print(f"  freshness while {len(messages)} phones watch: {figures['achieved_rate']:.0f}"
          f" votes/s ({len(accepted)} accepted), cast → shown p50 {figures['p50_ms']:.0f} ms,"
          f" p99 {figures['p99_ms']:.0f} ms, max {figures['max_ms']:.0f} ms, never shown"
          f" {figures['never_shown']}; stored p50 {stored.percentile(50):.0f}, p99"
          f" {stored.percentile(99):.0f} ms; published p50 {published.percentile(50):.0f},"
          f" p99 {published.percentile(99):.0f} ms; sent p50 {sent.percentile(50):.0f}, p99"
          f" {sent.percentile(99):.0f} ms ({len(stored_over_time.sent)} pushes);"
          f" a direct viewer p50 {direct.percentile(50):.0f}, p99"
          f" {direct.percentile(99):.0f} ms; to the first phone p50"
          f" {first.percentile(50):.0f},"
          f" p99 {first.percentile(99):.0f} ms; a phone's results every"
          f" {figures['phone_every_ms_p50']:.0f} ms (p50); a total from first to last phone"
          f" p50 {figures['round_ms_p50']:.0f} ms, one every"
          f" {figures['between_rounds_ms_p50']:.0f} ms;"
          f" {figures['messages_per_phone_p50']:.0f} of"
          f" {len(earliest)} totals a phone; cores busy {busy}, load generator"
          f" {generator:.2f} + caster {caster:.2f}; load {figures['load_average']}")  # fmt: skip
    return session, figures


async def _cast_observed(  # noqa: PLR0917 (the cast's, and the viewer's)
    voting_url: str, requests: list[bytes], rate: float, ws_url: str, origin: str,
    seen: list[tuple[float, int]], cast_done: Callable[[], None],
    all_stored: Callable[[int], None],
) -> dict[str, Any]:  # fmt: skip
    """The paced cast, while one viewer of the poll straight on the results process keeps
    each results message's arrival and total; after it, until every accepted vote is
    stored (bounded) and SETTLE_SECONDS more, for the last results message to reach
    every phone."""
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    from .phases import cast_paced

    async with connect(ws_url, origin=Origin(origin), ping_interval=None,
                       compression=None) as ws:  # fmt: skip

        async def listen() -> None:
            async for text in ws:
                now = time.monotonic()
                total = roomclient.TOTAL.search(text.encode() if isinstance(text, str) else text)
                if total is not None:
                    seen.append((now, int(total.group(1))))

        listener = asyncio.create_task(listen())
        try:
            cast = await cast_paced(voting_url, requests, rate)
            cast_done()
            await asyncio.to_thread(all_stored, len(cast["accepted"]))
            await asyncio.sleep(SETTLE_SECONDS)
            return cast
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


class _Stored:
    """The poll's stored votes, and the total of the snapshot its publisher last kept for
    readers (polls.snapshots: written with every push, before the send), sampled every
    0.1 s in a thread of its own; and each push as Redis hands it to a subscriber of the
    poll's group (as to a results process), in another. Until stopped (bounded by the
    caller: the cast and the wait after it)."""

    def __init__(self, poll_id: int, base: int) -> None:
        self.poll_id, self.base = poll_id, base
        self.samples: list[tuple[float, int]] = []
        self.published: list[tuple[float, int]] = []
        self.sent: list[tuple[float, int]] = []  # (arrival at the subscriber, total)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name="stored-sampler", daemon=True),
            threading.Thread(target=self._listen, name="push-listener", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _listen(self) -> None:
        from polls.live import events

        client = redis.Redis.from_url(roles.REDIS_URL)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.psubscribe(f"*__group__{events.group_name(self.poll_id)}")
        try:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.1)
                now = time.monotonic()
                if message is None:
                    continue
                total = roomclient.TOTAL.search(message["data"])  # msgpack, the text as is
                if total is not None:
                    self.sent.append((now, int(total.group(1)) - self.base))
        finally:
            pubsub.close()
            client.close()

    def _run(self) -> None:
        from django.db import connection

        from polls import snapshots
        from polls.models import Vote

        client = redis.Redis.from_url(roles.REDIS_URL)
        try:
            while not self._stop.wait(0.1):
                count = Vote.objects.filter(poll_id=self.poll_id).count()
                self.samples.append((time.monotonic(), count - self.base))
                kept = client.get(snapshots.key(self.poll_id))
                if isinstance(kept, bytes):
                    total = json.loads(kept.split(b"|", 2)[2])["total"]
                    self.published.append((time.monotonic(), total - self.base))
        finally:
            connection.close()
            client.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


def _restart(
    role: roles.WebRole, role_pids: dict[str, list[int]], cpu_before: dict[str, float]
) -> dict[str, Any]:
    """Stop the results process (SIGTERM: daphne closes its sockets) and start it again on
    its port; its CPU so far is carried over (the new process starts from 0)."""
    old = role.pid
    spent = _cpu([old])
    at = time.monotonic()
    role.stop()
    stopped = time.monotonic()
    role.start()
    role.wait_ready()
    up = time.monotonic()
    pids = role_pids["results"]
    pids[pids.index(old)] = role.pid
    cpu_before["results"] -= spent
    return {"at": at, "stop_s": round(stopped - at, 2), "up_s": round(up - at, 2)}


def _back(answers: list[dict[str, Any]], at: float) -> dict[str, Any]:
    back = sorted(t - at for a in answers for t in a["back_at"])
    return {
        "dropped": sum(len(a["dropped_at"]) for a in answers),
        "back": len(back),
        "not_back": sum(a["not_back"] for a in answers),
        "reconnect_attempts": sum(a["attempts"] for a in answers),
        "back_p50_s": round(pct(back, 50), 2),
        "back_p99_s": round(pct(back, 99), 2),
        "all_back_s": round(back[-1], 2) if back else None,
    }


def _figures(  # noqa: PLR0917 (the phase's figures, gathered in one place)
    size: RoomSize, joins: list[dict[str, Any]], failed: int, votes: list[Any],
    accepted: list[Any], stored: int, stored_after: float, sent: dict[int, tuple[str, float]],
    reports: list[dict[str, Any]], cpu: dict[str, float], client_cpu: float,
    memory: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    arrivals: dict[str, list[float]] = {}
    for report in reports:
        for key, times in report["arrivals"].items():
            arrivals.setdefault(key, []).extend(times)
    phones = len(joins)
    per_action = []
    reveal_results: list[float] = []
    results_times = [times for report in reports for times in report["results_times"]]
    for seq, (action, t0) in sent.items():
        delays = [t - t0 for t in arrivals.get(f"session:{seq}", [])]
        row = {"action": action, "delivered": len(delays),
               "p50_ms": round(pct(delays, 50) * 1000, 1),
               "p99_ms": round(pct(delays, 99) * 1000, 1),
               "all_ms": round(max(delays, default=0) * 1000, 1)}  # fmt: skip
        if action == "reveal":
            # Each phone's first results snapshot after the reveal (it follows the poll).
            got = [min(later) - t0 for times in results_times
                   if (later := [t for t in times if t0 <= t < t0 + SETTLE_SECONDS])]  # fmt: skip
            row["results_delivered"] = len(got)
            row["results_p99_ms"] = round(pct(got, 99) * 1000, 1)
            reveal_results += got
        per_action.append(row)
    all_delays = [
        t - t0 for seq, (_, t0) in sent.items() for t in arrivals.get(f"session:{seq}", [])
    ]
    http_bytes = sum(r["http_bytes"] for r in reports)
    socket_bytes = sum(r["socket_bytes"] for r in reports)
    figures = {
        "phones": size.phones, "joined": phones, "join_failed": failed,
        "results_processes": size.results_processes,
        "join_window_s": size.join_seconds,
        "join_p50_ms": round(pct([j["join"] for j in joins], 50) * 1000, 1),
        "join_p99_ms": round(pct([j["join"] for j in joins], 99) * 1000, 1),
        "page_p99_ms": round(pct([j["page"] for j in joins], 99) * 1000, 1),
        "socket_retries": sum(j["retries"] for j in joins),
        "votes": len(votes), "votes_accepted": len(accepted),
        "vote_errors": len(votes) - len(accepted),
        "vote_p50_ms": round(pct([v[1] for v in votes], 50) * 1000, 1),
        "vote_p99_ms": round(pct([v[1] for v in votes], 99) * 1000, 1),
        "stored": stored, "stored_after_last_s": round(stored_after, 2),
        "action_p50_ms": round(pct(all_delays, 50) * 1000, 1),
        "action_p99_ms": round(pct(all_delays, 99) * 1000, 1),
        "delivered_fraction": round(len(all_delays) / max(1, phones * len(sent)), 4),
        "reveal_results_p99_ms": round(pct(reveal_results, 99) * 1000, 1),
        "reveal_results_delivered": len(reveal_results),
        "results_messages_per_phone": round(
            sum(len(times) for times in results_times) / max(1, len(results_times)), 2
        ),
        "reveals": sum(1 for action, _ in sent.values() if action == "reveal"),
        "per_action": per_action,
        "first_load_bytes_per_phone": round(
            sum(j["http_bytes"] for j in joins) / max(1, phones)
        ),
        "http_bytes_per_phone": round(http_bytes / max(1, phones)),
        "socket_bytes_per_phone": round(socket_bytes / max(1, phones)),
        "sockets_closed": sum(r["closed"] for r in reports),
        "cpu_seconds": cpu, "load_generator_cpu_seconds": round(client_cpu, 1),
        "memory_mb": memory,
    }  # fmt: skip
    print(f"  action → every phone p50 {figures['action_p50_ms']} ms,"
          f" p99 {figures['action_p99_ms']} ms, delivered {figures['delivered_fraction']:.2%};"
          f" reveal → results p99 {figures['reveal_results_p99_ms']} ms"
          f" ({len(reveal_results)} of {phones} x reveals); join p99 {figures['join_p99_ms']} ms;"
          f" first load {figures['first_load_bytes_per_phone']} B/phone;"
          f" CPU s {cpu}, load generator {client_cpu:.1f}")  # fmt: skip
    return figures
