"""Settings for the test run: the project's settings on a Redis database of their own.

Tests start real workers and servers; they get REDIS_URL and DATABASE_URL from the
fixtures, so the test queue never mixes with a developer's running site.
"""

import os

_redis = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
os.environ["REDIS_URL"] = _redis
# A developer's run: debug unless said otherwise (the served roles default to off).
os.environ.setdefault("DJANGO_DEBUG", "1")

from votingsite.settings import *  # noqa: E402, F403
