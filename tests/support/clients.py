"""Clients the tests use to talk to the running roles like a person (or a page) would."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import requests
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

# The headers every answer of the site carries, a page or an error (the front door adds
# the same ones to its own errors: tests/deploy/test_front_door.py).
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)


class Browser:
    """A cookie-keeping HTTP client that votes like a person with a form would."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()

    def open_poll(self, slug: str) -> str:
        page = self.http.get(f"{self.base}/polls/{slug}/", timeout=10)
        assert page.status_code == 200
        return page.text

    def vote_form(self, slug: str, choice_id: int) -> requests.Response:
        page = self.open_poll(slug)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, "the poll page has no CSRF token"
        return self.http.post(
            f"{self.base}/polls/{slug}/vote/",
            data={"csrfmiddlewaretoken": match.group(1), "choice": choice_id},
            headers={"Referer": f"{self.base}/polls/{slug}/"},
            allow_redirects=False,
            timeout=10,
        )

    def vote_api(self, slug: str, choice_id: Any) -> requests.Response:
        return self.vote_body(slug, {"choice": choice_id})

    def vote_body(self, slug: str, body: dict[str, Any]) -> requests.Response:
        """A vote of any kind's body ({"entries": [...]}, {"answer": "..."}...) by the API."""
        if "csrftoken" not in self.http.cookies:
            self.http.get(f"{self.base}/api/polls/{slug}", timeout=10)
        return self.http.post(
            f"{self.base}/api/polls/{slug}/vote",
            json=body,
            headers={"X-CSRFToken": self.http.cookies.get("csrftoken") or ""},
            timeout=10,
        )


def results_of(base: str, slug: str) -> dict[str, Any]:
    data: dict[str, Any] = requests.get(f"{base}/api/polls/{slug}/results", timeout=10).json()
    return data


def results_socket(base: str, slug: str, origin: str | None = None) -> ClientConnection:
    """A WebSocket on the results role, opened as the results page's own script would
    (its Origin the page's: `base`, unless a page elsewhere is named)."""
    ws_url = base.replace("http://", "ws://", 1) + f"/ws/polls/{slug}/"
    return connect(ws_url, origin=Origin(origin or base), open_timeout=10)


def next_results(ws: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return message


def results_until(
    ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    """The first results message `wanted` accepts, skipping earlier ones (an update for a
    change made before may still be on its way); fails with the last one seen."""
    deadline = time.monotonic() + timeout
    latest: dict[str, Any] = {}
    while (left := deadline - time.monotonic()) > 0:
        try:
            latest = next_results(ws, timeout=left)
        except TimeoutError:
            break
        if wanted(latest):
            return latest
    raise AssertionError(f"no wanted results message within {timeout} s; the last: {latest}")


def same_value(name: str, one: str, other: str) -> bool:
    """Equal headers; a policy's directives in any order (django-csp's order varies)."""
    if name == "Content-Security-Policy":
        return {d.strip() for d in one.split(";")} == {d.strip() for d in other.split(";")}
    return one == other
