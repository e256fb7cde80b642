"""One Redis client (and connection pool) per process for the app's own keys.

Celery (broker), the cache and the channel layer keep their own connections; this is
for the vote ledger, rate-limit counters and the results push gate.
"""

from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    # redis-py resets a pool inherited through fork, so this is safe in prefork workers.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)
