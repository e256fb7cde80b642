"""An undeclared method on a GET-only API path answers 405 with Allow, as
polls/openapi.json lists, even without a CSRF token (CSRF's 403 came first before)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_unsafe_methods_on_get_only_api_paths_answer_405_not_403(make_poll, method) -> None:
    poll = make_poll(slug=f"m-{uuid.uuid4().hex[:8]}")
    client = Client(enforce_csrf_checks=True)
    for path in [
        f"/api/polls/{poll.slug}",
        f"/api/polls/{poll.slug}/results",
        f"/api/polls/{poll.slug}/votes/{uuid.uuid4()}",
        "/api/openapi.json",
    ]:
        response = getattr(client, method)(path, "{}", content_type="application/json")
        assert response.status_code == 405, (path, response.status_code)
        assert "GET" in response["Allow"]
    # Nothing else is let through by it: a vote still needs its token.
    vote = client.post(f"/api/polls/{poll.slug}/vote", "{}", content_type="application/json")
    assert vote.status_code == 403
