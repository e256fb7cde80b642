from typing import Any

from django.conf import settings
from django.http import HttpRequest


def role_links(request: HttpRequest) -> dict[str, Any]:
    """Where the other role lives, for links between voting and results pages."""
    return {
        "voting_base_url": settings.VOTING_BASE_URL,
        "results_base_url": settings.RESULTS_BASE_URL,
    }
