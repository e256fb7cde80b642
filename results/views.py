"""Results role: the live results page (correct without JavaScript, live with it)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from polls.selectors import (
    poll_for_voting,
    poll_results,
    result_rows,
    results_hidden_reason,
    results_visible,
)


@require_GET
def results_page(request: HttpRequest, slug: str) -> HttpResponse:
    poll = poll_for_voting(slug=slug, fresh=True)  # results read the database anyway
    if not results_visible(
        poll=poll,
        voter_key=request.voter_key,  # type: ignore[attr-defined]
        is_staff=request.user.is_staff,
    ):
        context = {"poll": poll, "reason": results_hidden_reason(poll)}
        return render(request, "polls/results_hidden.html", context, status=403)
    snapshot = poll_results(poll=poll)
    rows = result_rows(snapshot)
    return render(request, "results/page.html", {"poll": poll, "snapshot": snapshot, "rows": rows})
