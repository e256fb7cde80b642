"""Text answers on the real roles (gunicorn, Redis, the Celery worker, Postgres): entries
stream through the front door's API while a worker is killed; every 202 is stored and
counted once per term, nothing is lost or doubled, and `manage.py recount --check` agrees.
Bounded for CI (a few hundred voters); `--slow` streams ten times as many."""

from __future__ import annotations

import random
import secrets
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from django.conf import settings

from polls import organising, text_entries
from polls.counting import text as engine
from polls.models import Poll, PollCounter, TextEntry, Vote
from polls.voters import signed_voter_cookie
from tests.support import processes
from tests.support.stores import PrivateRedis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

NO_LIMITS = {"RATELIMIT_ENABLE": "0"}  # one loopback address sends everything
CSRF = "b" * 32
WORDS = [
    "Python", "python", "PYTHON", "Django", "Redis", "Celery", "Postgres", "nginx", "Straße",
    "STRASSE", "Kraków", "emoji \U0001f389", "live", "fast", "kind words", "\uff30ython",
]  # fmt: skip


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    store = PrivateRedis().start()
    yield store
    store.cleanup()


@dataclass
class EntryStream:
    """Voters each sending up to three words; every tenth sends a second, different ballot
    after all first ones (the last one counts)."""

    base_url: str
    slug: str
    voters: int
    threads: int = 8
    sent: list[tuple[str, list[str], int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self) -> list[tuple[str, list[str]]]:
        rng = random.Random(33)
        ids = [secrets.token_urlsafe(12) for _ in range(self.voters)]
        firsts = [(voter, rng.sample(WORDS, rng.randint(1, 3))) for voter in ids]
        seconds = [(voter, rng.sample(WORDS, 2)) for n, voter in enumerate(ids) if n % 10 == 0]
        return firsts + seconds

    def run(self, progress: threading.Event, at: int) -> None:
        queue = iter(self.plan())

        def loop() -> None:
            http = requests.Session()
            while True:
                with self._lock:
                    item = next(queue, None)
                if item is None:
                    return
                voter, words = item
                voter_cookie = signed_voter_cookie(voter)
                cookies = f"{settings.VOTER_COOKIE_NAME}={voter_cookie}; csrftoken={CSRF}"
                try:
                    status = http.post(
                        f"{self.base_url}/api/polls/{self.slug}/vote",
                        json={"entries": words},
                        headers={"Cookie": cookies, "X-CSRFToken": CSRF},
                        timeout=15,
                    ).status_code
                except requests.RequestException:
                    status = 0
                with self._lock:
                    self.sent.append((voter, words, status))
                    if len(self.sent) >= at:
                        progress.set()

        workers = [threading.Thread(target=loop) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def expected(self) -> tuple[Counter[str], int]:
        """Per key, the entries of each voter's last accepted ballot; and the voters."""
        last: dict[str, list[str]] = {}
        for voter, words, status in self.sent:
            if status == 202:
                last[voter] = words
        counts: Counter[str] = Counter()
        for words in last.values():
            counts.update({entry.key for entry in engine.entries(words, engine.cloud_limits())})
        return counts, len(last)


def counted(poll: Poll) -> Counter[str]:
    return Counter({t["key"]: t["count"] for t in text_entries.export_terms(poll.pk)})


def test_a_worker_killed_while_entries_stream_loses_and_doubles_nothing(
    private_redis: PrivateRedis, slow: bool
) -> None:
    poll = organising.create_poll(slug=f"words-{secrets.token_hex(3)}", question="Words?",
                                  labels=[], kind="wordcloud", open_now=True)  # fmt: skip
    Poll.objects.filter(pk=poll.pk).update(opens_at=None)
    env = {**NO_LIMITS, "REDIS_URL": private_redis.url}
    voting = processes.voting_server(env=env).start().wait_ready()
    worker = processes.Worker(env=env).start().wait_ready()
    replacement: processes.Worker | None = None
    try:
        stream = EntryStream(voting.url, poll.slug, voters=3000 if slow else 300)
        a_third = threading.Event()
        sender = threading.Thread(target=stream.run, args=(a_third, stream.voters // 3))
        sender.start()
        a_third.wait(120)
        worker.kill(signal.SIGKILL)  # mid-stream: its batch in flight rolls back
        replacement = processes.Worker(env=env).start()
        replacement.wait_ready()
        sender.join()

        assert Counter(status for _, _, status in stream.sent) == Counter({202: len(stream.sent)})
        want, voters = stream.expected()
        processes.wait_for(
            lambda: counted(poll) == want,
            timeout=90,
            interval=0.5,
            what=lambda: f"every accepted entry counted once: {counted(poll)} != {want}",
        )
        assert Vote.objects.filter(poll=poll).count() == voters
        assert PollCounter.objects.get(poll=poll).total == voters
        assert TextEntry.objects.filter(poll=poll).count() == sum(want.values())
        assert text_entries.totals(poll.pk).entries == sum(want.values())
        check = processes.manage("recount", poll.slug, "--check", env=processes.role_env(**env))
        assert check.returncode == 0, check.stdout + check.stderr
        print(f"{len(stream.sent)} ballots of {voters} voters, {sum(want.values())} entries")
    finally:
        voting.stop()
        worker.stop()
        if replacement:
            replacement.stop()
