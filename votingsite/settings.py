"""Settings for all three roles, read from the environment (see docs/operations.md).

Secure by default for what is served: debug is off unless DJANGO_DEBUG=1 says otherwise,
so gunicorn (votingsite.wsgi), daphne (votingsite.asgi) and celery (votingsite.celery)
never run with it by omission, and without debug DJANGO_SECRET_KEY must be given. A
developer's tools default to debug: manage.py and the tests (tests/settings.py) set
DJANGO_DEBUG=1 when it is unset, and mypy reads the tests' settings.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _secret_file(path: str) -> str:
    """A secret mounted as a file (Kubernetes: a Secret volume), so it is in no process's
    environment; the trailing newline an editor or `echo` leaves is not part of it."""
    return Path(path).read_text(encoding="utf-8").rstrip("\r\n")


DEBUG = env.bool("DJANGO_DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
# Each secret setting X may come as X_FILE, a file holding it, in place of X.
_SECRET_KEY_FILE = env.str("DJANGO_SECRET_KEY_FILE", default="")
SECRET_KEY = (
    _secret_file(_SECRET_KEY_FILE)
    if _SECRET_KEY_FILE
    else env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
)
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The origins (scheme://host[:port]) the site is served from, as a browser's Origin header
# names them: a WebSocket opened from any other, another port included, is refused
# (votingsite/asgi.py). Locally that is the front door, http://127.0.0.1:8000.
PUBLIC_ORIGINS = env.list(
    "DJANGO_PUBLIC_ORIGINS", default=["http://127.0.0.1:8000", "http://localhost:8000"]
)
for _origin in PUBLIC_ORIGINS:
    _parts = urlsplit(_origin)
    if _parts.scheme not in ("http", "https") or not _parts.hostname or _parts.path:
        raise ImproperlyConfigured(
            f"DJANGO_PUBLIC_ORIGINS: {_origin!r} is not an origin like https://votes.example.org"
            " or http://127.0.0.1:8000 (a scheme, a host, an optional port, nothing more)"
        )

# Not "daphne": as an app it only serves runserver, and it would load Twisted (~25 MB)
# into the voting and worker processes; the results role runs the daphne command.
INSTALLED_APPS = [
    "votingsite.apps.SiteConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "statici18n",
    "django.contrib.postgres",
    "channels",
    "polls",
    "results",
    "django_prometheus",
]

MIDDLEWARE = [
    # Prometheus metrics (/metrics): first and last, so they time the whole stack.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before any middleware that may answer early (413, 503): every answer, errors
    # included, carries the same security headers.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "polls.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "polls.middleware.BodySizeLimitMiddleware",
    "polls.middleware.StoreUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before anything that renders text (Django's documented place).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "polls.voters.VoterMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "votingsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "votingsite.context_processors.role_links",
            ],
        },
    },
]

WSGI_APPLICATION = "votingsite.wsgi.application"
ASGI_APPLICATION = "votingsite.asgi.application"

_DATABASE_URL_FILE = env.str("DATABASE_URL_FILE", default="")
DATABASES = {
    "default": environ.Env.db_url_config(_secret_file(_DATABASE_URL_FILE))
    if _DATABASE_URL_FILE
    else env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/votingsite"),
}
# The password alone as a file (the URL then names none): DATABASE_PASSWORD_FILE.
_DATABASE_PASSWORD_FILE = env.str("DATABASE_PASSWORD_FILE", default="")
if _DATABASE_PASSWORD_FILE:
    DATABASES["default"]["PASSWORD"] = _secret_file(_DATABASE_PASSWORD_FILE)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Every Postgres call has a deadline kept by the client (votingsite/database.py): a server
# that hangs must not hang a role. Connecting, and then each query, get at most:
DATABASE_CONNECT_TIMEOUT = env.float("DATABASE_CONNECT_TIMEOUT", default=3)
DATABASE_QUERY_TIMEOUT = env.float("DATABASE_QUERY_TIMEOUT", default=5)
# Lets parallel test runs (or parallel developers) use separate test databases.
DATABASES["default"]["TEST"] = {"NAME": env.str("DJANGO_TEST_DATABASE_NAME", default=None)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Stores whose outage makes /readyz answer 503 for this role (voting needs only Redis).
READYZ_REQUIRES = env.list("READYZ_REQUIRES", default=["postgres", "redis"])

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Voters log in on the site's own page (Django's LoginView, votingsite/urls.py), not the
# admin's, which takes staff only; logging in or out comes back to "next", else the index.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# English plus German, French and Spanish: LocaleMiddleware picks one from the visitor's
# choice (the switcher, Django's set_language: a cookie) or else Accept-Language. The
# catalogues are in locale/ (compiled by scripts/setup.sh and the Dockerfile); the admin
# uses Django's own. Poll content stays as organisers write it.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# The scripts' translations as static files, one per language (django-statici18n),
# instead of Django's per-request JavaScriptCatalog view: written by compilejsi18n (run by
# collectstatic, votingsite/management/commands/collectstatic.py; scripts/setup.sh for a
# checkout) into .jsi18n/polls/jsi18n/<language>/djangojs.js, then collected, hashed and
# compressed like any script. A hidden folder: makemessages does not read it back.
STATICI18N_ROOT = BASE_DIR / ".jsi18n"
STATICI18N_OUTPUT_DIR = "polls/jsi18n"
STATICFILES_DIRS = [STATICI18N_ROOT]
# Only the site's own words (LOCALE_PATHS), not the admin's date pickers' (django.conf):
# a phone loads this catalogue, so it stays small.
STATICI18N_PACKAGES = "polls"

# Sessions live in Postgres, so that logging out (or changing the password) ends them:
# a signed cookie stays valid until it expires whatever the server says. Only a log-in
# makes one (CSRF and messages keep to cookies), so an anonymous voter's vote touches no
# session store; expired rows are removed by `manage.py clearsessions` (docs/operations.md).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_SECONDS", default=14 * 24 * 3600)
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

# Votes bigger than this are not votes.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_MAX_BODY_BYTES", default=64 * 1024)
CSRF_FAILURE_VIEW = "polls.views.csrf_failure"

# Base URLs of the two web roles for links between them; empty when one host serves
# both (an Ingress routes by path), set when they run on different ports (local run).
# What join links and QR codes carry: the address phones in the room can open (servers
# bind loopback by default, which no phone can reach). Empty: links stay relative.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=PUBLIC_ORIGINS[0]).rstrip("/")
# Sites that may frame the embeddable results pages (CSP frame-ancestors), e.g.
# "https://slides.example.org https://obs.example.net"; empty: none.
EMBED_FRAME_ANCESTORS = env.list("EMBED_FRAME_ANCESTORS", default=[])
VOTING_BASE_URL = env.str("VOTING_BASE_URL", default="").rstrip("/")
RESULTS_BASE_URL = env.str("RESULTS_BASE_URL", default="").rstrip("/")

# --- Security. Production (DJANGO_DEBUG=0) sits behind TLS: the proxy sets
# X-Forwarded-Proto, cookies are secure, HSTS is on. Each can be set from the env.
_PROD = not DEBUG
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=_PROD):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=_PROD)
# Probes and scrapes come over plain HTTP from inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=_PROD)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000 if _PROD else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=_PROD)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=_PROD)
X_FRAME_OPTIONS = "DENY"
# Scripts only from our own static files; inline styles are allowed for the admin's widgets.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # The voting role serves the scripts' catalogue (jsi18n): its origin, when apart.
        "script-src": ["'self'", *([VOTING_BASE_URL] if VOTING_BASE_URL else [])],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Voter identity ---------------------------------------------------------------
VOTER_COOKIE_NAME = "voter"
VOTER_COOKIE_MAX_AGE = 365 * 24 * 3600

# --- Rate limits (django-ratelimit, counted in Redis; RATELIMIT_ENABLE=0 turns them off)
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_IP_META_KEY = "polls.ratelimits.client_ip"
VOTE_RATE_PER_VOTER = env.str("VOTE_RATE_PER_VOTER", default="30/m")
VOTE_RATE_PER_IP = env.str("VOTE_RATE_PER_IP", default="1200/m")
# A live session's room puts hundreds of phones behind one address.
VOTE_RATE_PER_IP_IN_SESSION = env.str("VOTE_RATE_PER_IP_IN_SESSION", default="30000/m")
# Q&A (issue 35): generous for a person, small for a script; per address the venue rule.
QNA_QUESTION_RATE_PER_VOTER = env.str("QNA_QUESTION_RATE_PER_VOTER", default="3/m")
QNA_UPVOTE_RATE_PER_VOTER = env.str("QNA_UPVOTE_RATE_PER_VOTER", default="5/s")
ADMIN_LOGIN_RATE = env.str("ADMIN_LOGIN_RATE", default="10/m")
# Guesses at one account's password from one address: a slow-down, never a lock-out.
LOGIN_RATE_PER_ACCOUNT_ADDRESS = env.str("LOGIN_RATE_PER_ACCOUNT_ADDRESS", default="5/5m")
# Wrong join codes (misses; a right code never counts) per address, per IPv6 /64 and for
# the whole site, before lookups are refused with 429 (docs/security.md, the arithmetic).
# A venue puts its whole room behind one address: 100 misses in 10 minutes is a room of
# 1,000 typists with 10% typos.
JOIN_MISS_RATE_PER_ADDRESS = env.str("JOIN_MISS_RATE_PER_ADDRESS", default="100/10m")
JOIN_MISS_RATE_PER_NETWORK = env.str("JOIN_MISS_RATE_PER_NETWORK", default="100/10m")
JOIN_MISS_RATE_SITE = env.str("JOIN_MISS_RATE_SITE", default="300/10m")
# Receipt checks that find nothing (a found receipt never counts), per address and per
# voter, before checks are refused with 429: a guesser of codes gets little, a room
# checking its receipts after the close is never held up (docs/verification.md).
RECEIPT_MISS_RATE_PER_ADDRESS = env.str("RECEIPT_MISS_RATE_PER_ADDRESS", default="100/10m")
RECEIPT_MISS_RATE_PER_VOTER = env.str("RECEIPT_MISS_RATE_PER_VOTER", default="20/10m")
# An IPv6 client counts against the per-address vote limit by its network of this many
# bits (a subscriber is given a whole /64); django-ratelimit's admin log-in limit too.
VOTE_IPV6_PREFIX = env.int("VOTE_IPV6_PREFIX", default=64)
RATELIMIT_IPV6_MASK = VOTE_IPV6_PREFIX
# How many reverse proxies in front of us append to X-Forwarded-For (0: trust none).
TRUSTED_PROXY_HOPS = env.int("DJANGO_TRUSTED_PROXY_HOPS", default=0)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    },
}
# The front page lists polls closed within this many days (their final results).
INDEX_CLOSED_DAYS = env.int("INDEX_CLOSED_DAYS", default=14)
# How long a web process may use its copy of a poll before reading it again.
POLL_CACHE_SECONDS = env.float("POLL_CACHE_SECONDS", default=2)

# --- Celery (votes travel web -> Redis -> worker) ---------------------------------
# Always REDIS_URL: the web role's admission script pushes task messages onto the queue,
# and the ledger sweeper reads it, through REDIS_URL.
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# Late acks + redelivery on a lost worker are safe because vote recording is idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=512)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_DEFAULT_QUEUE = "votes"
# Only the ledger sweeper publishes through apply_async (votes go in the admission
# script); a short retry, so a sweep does not hang on a Redis outage.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A killed worker's unacknowledged votes come back after this many seconds.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=30),
    # ...looked for every few seconds (kombu's default sweep is every ~100 s).
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
    # Off: kombu's bookkeeping of unacknowledged messages costs the worker's main process
    # two Redis round trips per message, which under load capped storing below the
    # arrival rate (docs/performance.md). A message a killed worker had taken is then
    # gone from Redis, and the ledger below queues its votes again.
    "ack_emulation": env.bool("CELERY_ACK_EMULATION", default=False),
    # Message bodies as plain JSON, not base64: the admission script stamps Redis's time
    # and the poll version into them (polls/pipeline/message.py).
    "body_encoding": None,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "retry_on_timeout": True,
}

# The ledger of queued votes (polls/ledger.py): a vote the queue passed over this long
# ago is queued again; the sweep runs this often in each worker.
# Without ack emulation the grace only covers a vote's wait in a worker's prefetch
# buffer and pool (about a second under load); with it, also the visibility timeout.
VOTE_LEDGER_GRACE_SECONDS = env.int(
    "VOTE_LEDGER_GRACE_SECONDS",
    default=CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + 10
    if CELERY_BROKER_TRANSPORT_OPTIONS["ack_emulation"]
    else 10,
)
VOTE_LEDGER_SWEEP_SECONDS = env.float("VOTE_LEDGER_SWEEP_SECONDS", default=5)
# Every worker node compares Redis's copy of what is open with Postgres this often and
# mends it (polls/openness.py): a change that rolled back refuses votes at most this long
# plus one Postgres lock wait.
ADMISSION_RECONCILE_SECONDS = env.float("ADMISSION_RECONCILE_SECONDS", default=2)

# A web process sends the votes it takes at the same moment as one message, of at most:
VOTE_SEND_MAX_BATCH = env.int("VOTE_SEND_MAX_BATCH", default=100)
# A vote Redis has not admitted this long after the web side took it is refused by the
# admission script with nothing written (Redis's clock decides). The web side waits that
# long plus the margin before it answers 503 "nothing was recorded": the margin must
# exceed any lag of Redis's clock behind the web hosts' (polls/pipeline/admission.py).
VOTE_ADMISSION_DEADLINE_SECONDS = env.float("VOTE_ADMISSION_DEADLINE_SECONDS", default=3)
VOTE_ADMISSION_CLOCK_MARGIN_SECONDS = env.float("VOTE_ADMISSION_CLOCK_MARGIN_SECONDS", default=2)
# The voter's pending ballot (polls/pipeline/ballots.py): kept at most this long before the
# worker stores it (a backstop), and this long after it was stored or refused.
VOTE_BALLOT_PENDING_SECONDS = env.int("VOTE_BALLOT_PENDING_SECONDS", default=86_400)
VOTE_BALLOT_SETTLED_SECONDS = env.int("VOTE_BALLOT_SETTLED_SECONDS", default=15)
if (
    VOTE_BALLOT_SETTLED_SECONDS
    < VOTE_ADMISSION_DEADLINE_SECONDS + VOTE_ADMISSION_CLOCK_MARGIN_SECONDS
):
    # A web process that read no stored vote just before the worker's commit must still
    # find the settled ballot when its admission runs.
    raise ImproperlyConfigured(
        "VOTE_BALLOT_SETTLED_SECONDS must be at least VOTE_ADMISSION_DEADLINE_SECONDS + "
        "VOTE_ADMISSION_CLOCK_MARGIN_SECONDS"
    )
# Celery's Django fix-up closes the database connection around every task unless told
# to reuse it; a new connection per batch was a large share of the worker's time.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)

# Vote batches: how many queued votes a worker stores in one transaction, and how long
# it waits to fill a batch.
VOTE_BATCH_SIZE = env.int("VOTE_BATCH_SIZE", default=500)
VOTE_BATCH_FLUSH_SECONDS = env.float("VOTE_BATCH_FLUSH_SECONDS", default=0.02)
# While every pool process is storing a batch, the next one waits (and grows) this long
# at most (polls.tasks.VoteBatches).
VOTE_BATCH_MAX_HOLD_SECONDS = env.float("VOTE_BATCH_MAX_HOLD_SECONDS", default=1.0)
# Most votes stored in one transaction (a batch holds up to VOTE_BATCH_SIZE messages of
# up to VOTE_SEND_MAX_BATCH votes each).
VOTE_STORE_CHUNK = env.int("VOTE_STORE_CHUNK", default=1000)

# --- Channels (live results) ------------------------------------------------------
# The pub/sub layer sends one Redis message per group per results process, which then
# fans out in memory: the cost of an update grows with processes, not with viewers.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    },
}
# WebSocket limits per results process (results/guard.py): sockets one address may hold
# (a venue's whole room may share one), and messages a socket may send (pages send one
# now and then).
WS_SOCKETS_PER_ADDRESS = env.int("WS_SOCKETS_PER_ADDRESS", default=1500)
WS_MESSAGES_PER_SECOND = env.float("WS_MESSAGES_PER_SECOND", default=2)
WS_MESSAGES_BURST = env.int("WS_MESSAGES_BURST", default=20)
# Live pushes per poll are coalesced to at most one per this many seconds.
RESULTS_PUSH_INTERVAL = env.float("RESULTS_PUSH_INTERVAL", default=0.03)
# Each poll's snapshot is computed once per change and kept in Redis this long for every
# reader (polls/snapshots.py); a reader computes it again only when the one kept is behind
# the stored votes by more than this many seconds (its push was lost).
RESULTS_SNAPSHOT_TTL = env.int("RESULTS_SNAPSHOT_TTL", default=600)
RESULTS_SNAPSHOT_STALE_SECONDS = env.float("RESULTS_SNAPSHOT_STALE_SECONDS", default=5)
# A results socket's {"type": "sync"} may have its snapshot brought up to the stored votes
# (computed if behind) once per this many seconds; its other syncs get what is kept.
RESULTS_SYNC_SECONDS = env.float("RESULTS_SYNC_SECONDS", default=10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}
