"""A bounded stream of votes from many distinct voters against a running voting role.

Each voter carries a signed voter cookie made with the site's own signer (the
roles run with the same development secret key) and a CSRF cookie and header, so each
vote is one POST to the JSON API, as a browser's script would send it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests
from django.conf import settings

from polls.voters import signed_voter_cookie

CSRF = "a" * 32  # any 32-character secret works as both cookie and header


@dataclass
class Sent:
    voter: str
    choice: int
    status: int
    body: str
    retry_after: str | None
    answered_at: float = 0.0  # time.monotonic() when the answer (or the failure) came


@dataclass
class VoteStream:
    base_url: str
    slug: str
    choice_ids: list[int]
    voters: int
    change_every: int = 10  # every Nth voter votes a second time, for another choice
    threads: int = 8
    rate: float | None = None  # votes per second in all, None for as fast as possible
    sent: list[Sent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self) -> list[tuple[str, int]]:
        votes = []
        ids = [secrets.token_urlsafe(12) for _ in range(self.voters)]
        for n, voter in enumerate(ids):
            votes.append((voter, self.choice_ids[n % len(self.choice_ids)]))
        for n, voter in enumerate(ids):
            if n % self.change_every == 0:
                votes.append((voter, self.choice_ids[(n + 1) % len(self.choice_ids)]))
        return votes

    def run(self, on_progress: threading.Event | None = None, progress_at: int = 0) -> None:
        """Send every planned vote; set on_progress once progress_at votes were sent.

        The second votes go once every first vote is answered: a first vote answered late
        (a slow reply) may have been cast after a second vote sent later, and the site
        keeps the one cast last, which the stream could not know."""
        queue = self.plan()
        started = time.monotonic()
        for wave in (range(self.voters), range(self.voters, len(queue))):
            cursor = iter(wave)

            def send_loop(cursor: Iterator[int] = cursor) -> None:
                http = requests.Session()
                while True:
                    with self._lock:
                        index = next(cursor, None)
                    if index is None:
                        return
                    if self.rate:
                        time.sleep(max(0.0, started + index / self.rate - time.monotonic()))
                    voter, choice = queue[index]
                    self._send(http, voter, choice)
                    if on_progress is not None and len(self.sent) >= progress_at:
                        on_progress.set()

            workers = [threading.Thread(target=send_loop) for _ in range(self.threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()

    def _send(self, http: requests.Session, voter: str, choice: int) -> None:
        cookies = f"{settings.VOTER_COOKIE_NAME}={signed_voter_cookie(voter)}; csrftoken={CSRF}"
        try:
            response = http.post(
                f"{self.base_url}/api/polls/{self.slug}/vote",
                json={"choice": choice},
                headers={"Cookie": cookies, "X-CSRFToken": CSRF},
                timeout=15,
            )
            result = Sent(voter, choice, response.status_code, response.text,
                          response.headers.get("Retry-After"))  # fmt: skip
        except requests.RequestException as exc:
            result = Sent(voter, choice, 0, repr(exc), None)
        result.answered_at = time.monotonic()
        with self._lock:
            self.sent.append(result)

    def statuses(self) -> Counter[int]:
        return Counter(s.status for s in self.sent)

    def expected_tallies(self) -> Counter[int]:
        """Per choice, the voters whose last *accepted* vote is that choice.

        A voter's second vote is sent after its first was answered (run's waves), so the
        vote sent last is the one cast last, which record_votes keeps.
        """
        last: dict[str, int] = {}
        for sent in self.sent:
            if sent.status == 202:
                last[sent.voter] = sent.choice
        return Counter(last.values())
