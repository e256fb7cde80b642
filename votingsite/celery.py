"""The Celery app of the worker role, configured from Django settings (CELERY_*)."""

import os
import threading
import time
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "votingsite.settings")

app = Celery("votingsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Probe files instead of `celery inspect ping`, which costs seconds of CPU per call.
# CELERY_READY_FILE exists while the worker consumes; CELERY_HEARTBEAT_FILE is touched
# every few seconds while the process lives (a thread: it must not stop during a Redis
# outage, or liveness would restart every worker when the broker blinks).
_READY_FILE = os.environ.get("CELERY_READY_FILE", "")
_HEARTBEAT_FILE = os.environ.get("CELERY_HEARTBEAT_FILE", "")
_HEARTBEAT_SECONDS = 5


def _beat(path: Path) -> None:
    while True:
        path.touch()
        time.sleep(_HEARTBEAT_SECONDS)


@worker_ready.connect
def _on_worker_ready(**kwargs: Any) -> None:
    if _READY_FILE:
        Path(_READY_FILE).touch()
    if _HEARTBEAT_FILE:
        threading.Thread(target=_beat, args=(Path(_HEARTBEAT_FILE),), daemon=True).start()


@worker_shutdown.connect
def _on_worker_shutdown(**kwargs: Any) -> None:
    for name in (_READY_FILE, _HEARTBEAT_FILE):
        if name:
            Path(name).unlink(missing_ok=True)
