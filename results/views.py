"""Results role: the live results page (correct without JavaScript, live with it)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from polls.selectors import poll_for_voting

from .selectors import poll_results


@require_GET
def results_page(request: HttpRequest, slug: str) -> HttpResponse:
    poll = poll_for_voting(slug=slug)
    snapshot = poll_results(poll=poll)
    total = snapshot["total"]
    rows = [
        {**c, "percent": round(100 * c["votes"] / total, 1) if total else 0.0}
        for c in snapshot["choices"]
    ]
    return render(request, "results/page.html", {"poll": poll, "snapshot": snapshot, "rows": rows})
