"""The API's OpenAPI document: valid, served, and what the API really answers fits it."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client, override_settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from polls import kinds, organising
from polls.models import Poll
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes

pytestmark = pytest.mark.django_db


def schema() -> dict:
    document = json.loads(Client().get("/api/openapi.json").content)
    validate(document)
    return document


def fits(document: dict, name: str, value: object) -> None:
    """`value` is valid against components.schemas[name] (references resolved)."""
    wrapped = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    Draft202012Validator(wrapped).validate(value)


def test_the_document_is_served_and_valid_openapi_3_1() -> None:
    document = schema()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/polls/{slug}", "/api/polls/{slug}/vote", "/api/polls/{slug}/results",
        "/api/polls/{slug}/votes/{vote_id}", "/api/polls/{slug}/results/rctab.json",
        "/api/polls/{slug}/board", "/api/polls/{slug}/receipts/{code}",
        "/api/polls/{slug}/terms", "/api/polls/{slug}/entries",
        "/api/sessions/{join_code}/questions", "/api/sessions/{join_code}/questions/ask",
        "/api/sessions/{join_code}/questions/{question_id}/upvote",
    }  # fmt: skip


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
@pytest.mark.parametrize(
    "kind", ["single", "multiple", "ranked", "scale", "wordcloud", "openanswer"]
)
def test_every_kinds_poll_vote_and_results_answers_fit_the_document(kind) -> None:
    document = schema()
    labels = ["Red", "Green", "Blue"] if kinds.kind_for(kind).has_choices else []
    poll = organising.create_poll(
        slug=f"doc-{kind}", question="?", labels=labels, open_now=True, kind=kind
    )
    ids = [c.pk for c in poll.choices.all()]
    ballot = {"single": ids[:1], "multiple": ids[:2], "ranked": ids[::-1], "scale": [4],
              "wordcloud": ["Python", "Go"], "openanswer": ["Yes!"]}[kind]  # fmt: skip
    ballot = kinds.normalise(poll, ids, ballot)
    record_votes([QueuedVote(uuid.uuid4(), poll.pk, ids[0] if kind == "single" else None,
                             "anon:doc", poll.created_at, tuple(ballot))])  # fmt: skip
    Poll.objects.filter(pk=poll.pk).update(opens_at=None)
    client = Client()
    fits(document, "Poll", client.get(f"/api/polls/{poll.slug}").json())
    fits(document, "Results", client.get(f"/api/polls/{poll.slug}/results").json())
    rctab = client.get(f"/api/polls/{poll.slug}/results/rctab.json")
    if kind == "ranked":
        fits(document, "RCTabSummary", rctab.json())
    else:
        assert rctab.status_code == 404
        fits(document, "Error", rctab.json())
    body = {"single": {"choice": ids[0] if ids else 0}, "multiple": {"choices": ids[:1]},
            "ranked": {"ranking": ids[:2]}, "scale": {"value": 2},
            "wordcloud": {"entries": ["Rust"]}, "openanswer": {"answer": "No"}}[kind]  # fmt: skip
    fits(document, "Ballot", body)
    answer = client.post(f"/api/polls/{poll.slug}/vote", body, content_type="application/json")
    assert answer.status_code == 202, answer.content
    fits(document, "Queued", answer.json())
    status = client.get(f"/api/polls/{poll.slug}/votes/{answer.json()['vote_id']}")
    fits(document, "VoteStatus", status.json())
    refused = client.post(f"/api/polls/{poll.slug}/vote", {}, content_type="application/json")
    assert refused.status_code == 400
    fits(document, "Error", refused.json())
    if kinds.kind_for(poll).stores_entries:  # beyond the snapshot: the pages
        fits(document, "TermsPage", client.get(f"/api/polls/{poll.slug}/terms").json())
        fits(document, "EntriesPage", client.get(f"/api/polls/{poll.slug}/entries").json())


@pytest.mark.usefixtures("own_queue")
@override_settings(RATELIMIT_ENABLE=False)
def test_the_qna_answers_fit_the_document(django_user_model) -> None:
    from polls import live_sessions, qna, qna_reads

    document = schema()
    owner = django_user_model.objects.create_user("doc-qna")
    session = live_sessions.go_live(
        live_sessions.create_session(title="Doc", owner=owner, polls=[], qna=True)
    )
    board = qna_reads.board_of(session)
    assert board is not None
    qna.write_copy(board)
    client = Client()
    base = f"/api/sessions/{session.code}/questions"
    asked = client.post(f"{base}/ask", {"text": "Why?"}, content_type="application/json")
    assert asked.status_code == 202
    fits(document, "QnaQueued", asked.json())
    fits(document, "Ask", {"text": "Why?", "name": "Ann"})
    fits(document, "QuestionsPage", client.get(base).json())
    refused = client.post(f"{base}/ask", {"text": ""}, content_type="application/json")
    fits(document, "Error", refused.json())
    unknown = client.post(f"{base}/{uuid.uuid4()}/upvote", {"up": True},
                          content_type="application/json")  # fmt: skip
    assert unknown.status_code == 404
    fits(document, "Error", unknown.json())
