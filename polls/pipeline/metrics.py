"""Prometheus metrics of the worker role, served by the worker's main process.

- votes_stored_total{outcome}: votes a batch stored (created, changed, unchanged, ignored)
- votes_rejected_total{reason}: votes a batch refused (unknown poll, closed poll, ...)
- votes_refused_after_admission_total{reason}: of those, votes Redis had admitted (a 202)
  refused for a reason the admission decides (open, closed, live session): each is a bug
- vote_batch_seconds: time to store one batch, waits for the database included
- votes_queue_depth: votes waiting in the Redis queue, read from Redis on each scrape

Batches run in the pool's child processes while the HTTP server lives in the main one.
With PROMETHEUS_MULTIPROC_DIR set (as in deploy/k8s) the children's counts are shared
through files there; without it (a local run) only counts made in the serving process
show. The server starts when the worker is ready, on CELERY_METRICS_ADDR (default
127.0.0.1) and CELERY_METRICS_PORT (default 9808); CELERY_METRICS_PORT=0 turns it off.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from celery.signals import worker_init, worker_ready
from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from votingsite.redis_client import redis_client

from .store import STATE_REASONS, RecordOutcome

logger = logging.getLogger(__name__)


def _multiprocess_dir() -> Path | None:
    name = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(name) if name else None


# Each metric opens its file there as it is created (below): a fresh emptyDir has no
# such folder yet.
if (_directory := _multiprocess_dir()) is not None:
    _directory.mkdir(parents=True, exist_ok=True)

VOTES_STORED = Counter(
    "votes_stored", "Votes stored by the worker, by what storing did.", ["outcome"]
)
VOTES_REJECTED = Counter("votes_rejected", "Votes the worker refused, by reason.", ["reason"])
REFUSED_AFTER_ADMISSION = Counter(
    "votes_refused_after_admission",
    "Votes admitted (202) and then refused for a state the admission decides: bugs.",
    ["reason"],
)
BATCH_SECONDS = Histogram(
    "vote_batch_seconds",
    "Time to store one batch of votes (database retries included).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def batch_stored(outcome: RecordOutcome, *, seconds: float) -> None:
    """Count one stored batch (called by polls.tasks.record_votes)."""
    BATCH_SECONDS.observe(seconds)
    for name in ("created", "changed", "unchanged", "ignored"):
        count = getattr(outcome, name)
        if count:
            VOTES_STORED.labels(outcome=name).inc(count)
    for reason, count in outcome.rejected.items():
        VOTES_REJECTED.labels(reason=reason).inc(count)
        if reason in STATE_REASONS:
            REFUSED_AFTER_ADMISSION.labels(reason=reason).inc(count)


class QueueDepthCollector(Collector):
    """Reads the queue's length from Redis when Prometheus scrapes, not on a timer."""

    def __init__(self, queue: str) -> None:
        self.queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            depth = redis_client().llen(self.queue)  # the broker is always REDIS_URL
        except redis.RedisError as exc:
            # No sample rather than a wrong one: an absent series is what alerts on.
            logger.warning("queue depth unavailable: %s", exc)
            return
        gauge = GaugeMetricFamily(
            "votes_queue_depth", "Votes waiting in the Redis queue.", labels=["queue"]
        )
        gauge.add_metric([self.queue], float(depth))
        yield gauge


@worker_init.connect
def _clear_stale_files(**kwargs: Any) -> None:
    # A restarted container keeps its emptyDir: counts of the dead processes would be
    # added to the new ones. Cleared before the pool forks any child.
    directory = _multiprocess_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def metrics_registry(queue: str) -> CollectorRegistry:
    if _multiprocess_dir() is None:
        registry = REGISTRY
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    registry.register(QueueDepthCollector(queue))
    return registry


@worker_ready.connect
def _start_server(sender: Any = None, **kwargs: Any) -> None:
    port = int(os.environ.get("CELERY_METRICS_PORT", "9808"))
    if port == 0:
        return
    address = os.environ.get("CELERY_METRICS_ADDR", "127.0.0.1")
    registry = metrics_registry(settings.CELERY_TASK_DEFAULT_QUEUE)
    try:
        start_http_server(port, addr=address, registry=registry)
    except OSError as exc:  # votes are still stored; only the metrics are missing
        logger.error(
            "worker metrics not served on %s:%d (%s); set CELERY_METRICS_PORT to a free port",
            address, port, exc.strerror,
        )  # fmt: skip
        return
    logger.info("worker metrics on http://%s:%d/metrics", address, port)
