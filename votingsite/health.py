"""Probes for the two web roles.

/healthz: the process answers (liveness; touches no store, so an outage restarts nothing).
/readyz: Postgres and Redis answer (readiness), 503 naming what is down otherwise.
Written here rather than with django-health-check, whose database check writes a row
on every probe and whose liveness and readiness are not split this way.
"""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .database import answer_within

_PROBE_TIMEOUT_SECONDS = 2


def _postgres_error() -> str | None:
    try:
        # Bounded: a hung server must not make the probe itself time out.
        with answer_within(_PROBE_TIMEOUT_SECONDS), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        connection.close()
        return f"postgres: {exc.__class__.__name__}"
    return None


def _redis_error() -> str | None:
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=_PROBE_TIMEOUT_SECONDS,
        socket_connect_timeout=_PROBE_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except Exception as exc:
        return f"redis: {exc.__class__.__name__}"
    finally:
        client.close()
    return None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """503 when a store this role needs (READYZ_REQUIRES) is down; names every store down.

    The voting role takes votes without Postgres, so it requires only Redis: a Postgres
    outage must not take every voting pod out of its Service.
    """
    errors = [e for e in (_postgres_error(), _redis_error()) if e]
    down = [e.split(":", 1)[0] for e in errors]
    if any(store in settings.READYZ_REQUIRES for store in down):
        return JsonResponse(
            {"status": "unavailable", "down": down, "reason": "; ".join(errors)}, status=503
        )
    if down:
        return JsonResponse({"status": "degraded", "down": down, "reason": "; ".join(errors)})
    return JsonResponse({"status": "ok"})
