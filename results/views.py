"""Results role: the live results page (correct without JavaScript, live with it).

The page is polls' (polls/results/page.html, drawn by polls.displays from the same snapshot
the WebSocket sends); polls' results.js draws the next ones the same way (the same markup,
the same words), so a reload shows what the live page showed.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from polls.displays import results_context
from polls.live.pages import kind_scripts
from polls.selectors import poll_for_voting, results_hidden_reason, results_visible
from polls.snapshots import results


@require_GET
def results_page(request: HttpRequest, slug: str) -> HttpResponse:
    poll = poll_for_voting(slug=slug, fresh=True)  # results read the database anyway
    if not results_visible(
        poll=poll,
        voter_key=request.voter_key,  # type: ignore[attr-defined]
        is_staff=request.user.is_staff,
    ):
        hidden = {"poll": poll, "reason": results_hidden_reason(poll)}
        return render(request, "polls/results_hidden.html", hidden, status=403)
    context = {
        "poll": poll,
        **results_context(poll, results(poll=poll)),
        **kind_scripts([poll.kind]),
    }
    return render(request, "polls/results/page.html", context)
