"""Settings for diemcau, read from the environment.

With nothing set, diemcau runs on its embedded default: SQLite in WAL mode under ``var/``, an
in-memory channel layer, and background jobs on a private redis-server under ``var/`` read by one
Celery worker (``make demo`` starts both, with ``REDIS_URL`` on that socket so pages hear the worker).
Production sets ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (channel layer and task broker).

Every setting diemcau's code reads is declared here, with its default and what it means; code reads
``settings.X`` and never supplies a default of its own. Importing this module creates nothing
(folders and file modes are seen to at start-up, ``core.apps``), except the embedded default's
secret key on an installation's very first start (``paths.installation_secret_key``).
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from diemcau import paths

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = paths.PROJECT_DIR
# The installation's data (database, secret key, imports, HLS, Janus nodes, thumbnails, backups):
# $DIEMCAU_VAR, or var/ in the checkout. The rule lives in diemcau/paths.py (no Django needed).
VAR_DIR = paths.var_dir()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Django's debug pages and settings; never on in production.
DEBUG = env_bool("DJANGO_DEBUG", False)

# Production sets DJANGO_SECRET_KEY; the embedded default keeps one random key per installation in
# var/secret_key (mode 0600), so sessions survive a restart.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "") or paths.installation_secret_key(VAR_DIR)

def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated variable as a list (spaces around items and empty items are dropped)."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# The site's public address as people reach it through the proxy (https://hop.moet.gov.vn); empty
# on a machine of its own. When set, the host names, the CSRF origin, secure cookies and the absolute
# links in QR codes and e-mails derive from it unless the explicit variables below are set.
PUBLIC_URL = os.environ.get("DIEMCAU_PUBLIC_URL", "").strip().rstrip("/")
_public = urlsplit(PUBLIC_URL) if PUBLIC_URL else None
if _public is not None and (_public.scheme not in ("http", "https") or not _public.hostname):
    raise ImproperlyConfigured(f"DIEMCAU_PUBLIC_URL must be http(s)://host[:port], not {PUBLIC_URL!r}")

# The host names this site answers to (comma-separated); default: DIEMCAU_PUBLIC_URL's host, or
# loopback for the embedded default on one machine.
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", _public.hostname if _public else "127.0.0.1,localhost")
# The reverse proxies (addresses or CIDR networks) whose X-Forwarded-For / -Proto are believed.
DIEMCAU_TRUSTED_PROXIES = env_list("DIEMCAU_TRUSTED_PROXIES")
# Origins (scheme://host[:port]) whose forms may POST here besides the site's own, e.g. a second
# public name in front of the same proxy. Comma-separated; spaces are ignored. Default: the public URL's
# origin (which is what a browser sends behind a proxy that rewrites the port or scheme).
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS",
                                f"{_public.scheme}://{_public.netloc}" if _public else "")
# The media hosts (Janus websockets) pages may connect to, as origins (wss://media1.example.vn);
# empty: the live nodes' own URLs (live/models.LiveNode.ws_url).
DIEMCAU_MEDIA_HOSTS = env_list("DIEMCAU_MEDIA_HOSTS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "ninja",
    "diemcau.core",
    "diemcau.orgs",
    "diemcau.events",
    "diemcau.points",
    "diemcau.attendance",
    "diemcau.voice",
    "diemcau.live",
    "diemcau.convocations",
    "diemcau.reports",
    "diemcau.site",
    "diemcau.demo",
]

MIDDLEWARE = [
    "diemcau.core.metrics.RequestMetricsMiddleware",
    "diemcau.core.health.DatabaseUnavailableMiddleware",
    "diemcau.core.middleware.TrustedProxyMiddleware",
    "diemcau.core.bodylimit.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "diemcau.core.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "diemcau.points.devices.DeviceTokenMiddleware",
    "diemcau.orgs.scoping.ScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "diemcau.core.errorpages.ErrorPageMiddleware",
    "diemcau.core.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "diemcau.core.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "diemcau.urls"
WSGI_APPLICATION = "diemcau.wsgi.application"
ASGI_APPLICATION = "diemcau.asgi.application"

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
                "django.template.context_processors.i18n",
                "diemcau.core.context_processors.scope",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# PostgreSQL in production (postgres://user:password@host:port/name); empty: the embedded SQLite.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# A streaming replica of that PostgreSQL (same form); when set, the boards and the reports read
# from it inside core.dbrouter.reading_replica() (a `replica` alias); writes always go to the
# primary. Empty: everything reads from `default`.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
# Connections from the pool (psycopg_pool) per process and database; 0: no pool.
DB_POOL_SIZE = int(os.environ.get("DIEMCAU_DB_POOL", "8"))
# Seconds a request waits for a pooled connection (or a new one) before it fails: with PostgreSQL
# down, the answer is a 503 after this long (core.health.DatabaseUnavailableMiddleware).
DB_CONNECT_TIMEOUT = int(os.environ.get("DIEMCAU_DB_CONNECT_TIMEOUT", "5"))


def _postgres(url: str) -> dict:
    """One PostgreSQL alias from its URL: pooled, health-checked, failing fast when the server is down.

    No persistent connections: under ASGI Django runs each request's database work in a thread of its
    own, so a kept connection is never reused by the next request and only piles up until PostgreSQL
    refuses new ones (bench/checkin.py met "remaining connection slots are reserved" at 12 requests in
    flight). Connections come from a pool shared by the request threads instead. CONN_HEALTH_CHECKS
    makes the pool test a connection before lending it, so the first request after PostgreSQL comes
    back gets a fresh one rather than one its restart broke.
    """
    db = dj_database_url.parse(url, conn_max_age=0, conn_health_checks=True)
    if db["ENGINE"].endswith("postgresql"):
        options = db.setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
        if DB_POOL_SIZE:
            options["pool"] = {"min_size": 1, "max_size": DB_POOL_SIZE, "timeout": DB_CONNECT_TIMEOUT}
    return db


if DATABASE_URL:
    DATABASES = {"default": _postgres(DATABASE_URL)}
    if DATABASE_REPLICA_URL:
        # The test suite creates no database for it: in tests it is the test database itself.
        DATABASES["replica"] = {**_postgres(DATABASE_REPLICA_URL), "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["diemcau.core.dbrouter.ReplicaRouter"]
# The embedded default's SQLite file (with no DATABASE_URL); core.apps makes it and its -wal and
# -shm files private (0600) at start-up.
SQLITE_PATH = Path(os.environ.get("DIEMCAU_SQLITE", str(VAR_DIR / "diemcau.sqlite3")))
if not DATABASE_URL:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # WAL lets readers run beside the writer; synchronous=FULL makes every commit
                # durable before it is acknowledged; IMMEDIATE avoids upgrade deadlocks.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                    " PRAGMA busy_timeout=10000; PRAGMA cache_size=-65536;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": os.environ.get("DIEMCAU_SQLITE_TEST", "")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels --------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")


def redis_channel_layer(url: str) -> dict:
    """The channel layer on the Redis at ``url``.

    channels_redis waits for messages with BZPOPMIN and a 5 s server-side timeout, and redis-py's
    own read timeout was 5 s too: on a busy machine the client gave up first, the consumer died with
    ``redis.exceptions.TimeoutError`` (a websocket closed, a kiosk's floor request lost) or a popped
    notice was never read. Both margins are kept: the layer waits 2 s (core/channel_layer.py) and
    the socket's read timeout is well above that.
    """
    return {"BACKEND": "diemcau.core.channel_layer.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": 20, "socket_connect_timeout": 5}]}}


if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Background tasks (Celery; core/tasks.py) -------------------------------------------------
# The broker: CELERY_BROKER_URL, else REDIS_URL, else the embedded default's private redis-server on
# a unix socket under var/ (`make demo` starts it beside the web server and one worker).
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or (
    "redis+socket://" + REDIS_URL.removeprefix("unix://") if REDIS_URL.startswith("unix://") else REDIS_URL
) or f"redis+socket://{EMBEDDED_REDIS_SOCKET}"
# 1: run jobs inline in the process that sends them (the test suite's default; no worker needed).
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "0") == "1"
# Acknowledge a message after its run, give it back if the worker's process is lost, take one at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = int(os.environ.get("CELERY_WORKER_CONCURRENCY", "2"))  # processes per worker
CELERY_TASK_IGNORE_RESULT = True  # results are on the Job row; no result backend
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Seconds after which the broker delivers again a message that was taken and never acknowledged
# (its worker was killed). Keep it above the back-off of retries; a run longer than it is not run
# twice (the Job row's claim), its second delivery is a no-op.
CELERY_VISIBILITY_TIMEOUT = float(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "300"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # How often a worker looks for such messages (kombu scans every interval × throttle seconds).
    "unacked_restore_interval": max(1, min(10, int(CELERY_VISIBILITY_TIMEOUT / 6))),
    "unacked_restore_throttle": 1,
}
# A running job holds a lease that its worker renews every TASKS_HEARTBEAT_SECONDS; a lease left to
# expire means the run was cut off (killed worker, power cut). Such a job runs again if its kind is
# retryable and it has had fewer than TASKS_MAX_ATTEMPTS runs, else it fails with a message that asks
# its owner to run it again. Every TASKS_RECOVER_SECONDS the periodic task (beat) sends again the
# jobs a lost message would strand.
TASKS_LEASE_SECONDS = float(os.environ.get("DIEMCAU_TASK_LEASE_SECONDS", "60"))
TASKS_HEARTBEAT_SECONDS = float(os.environ.get("DIEMCAU_TASK_HEARTBEAT_SECONDS", "10"))
TASKS_MAX_ATTEMPTS = int(os.environ.get("DIEMCAU_TASK_MAX_ATTEMPTS", "3"))
TASKS_RECOVER_SECONDS = float(os.environ.get("DIEMCAU_TASK_RECOVER_SECONDS", "30"))
# The stored summary for policy and opinion groups are recomputed at most once per this many seconds
# per conference while items and votes arrive (voice/stored.py).
VOICE_REFRESH_SECONDS = float(os.environ.get("DIEMCAU_VOICE_REFRESH_SECONDS", "30"))
CELERY_BEAT_SCHEDULE = {
    "recover-stranded-jobs": {"task": "diemcau.recover_jobs", "schedule": TASKS_RECOVER_SECONDS},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if env_bool("DIEMCAU_FAST_HASHER", False):
    # Tests and the demo loader create thousands of accounts; production keeps PBKDF2.
    PASSWORD_HASHERS.insert(0, "django.contrib.auth.hashers.MD5PasswordHasher")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Progressive back-off after failed sign-ins (orgs/lockout.py): free failures per (account,
# address), per address and per account within the window; then each failure doubles the wait.
LOGIN_FAILURE_LIMIT = int(os.environ.get("DIEMCAU_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FREE_FAILURES = int(os.environ.get("DIEMCAU_LOGIN_ADDRESS_FREE_FAILURES", "100"))
LOGIN_ACCOUNT_FREE_FAILURES = int(os.environ.get("DIEMCAU_LOGIN_ACCOUNT_FREE_FAILURES", "50"))
LOGIN_FAILURE_WINDOW_HOURS = int(os.environ.get("DIEMCAU_LOGIN_FAILURE_WINDOW_HOURS", "24"))
LOGIN_BACKOFF_BASE_SECONDS = int(os.environ.get("DIEMCAU_LOGIN_BACKOFF_BASE_SECONDS", "1"))
LOGIN_BACKOFF_MAX_SECONDS = int(os.environ.get("DIEMCAU_LOGIN_BACKOFF_MAX_SECONDS", "300"))
LOGIN_KNOWN_ADDRESS_DAYS = int(os.environ.get("DIEMCAU_LOGIN_KNOWN_ADDRESS_DAYS", "30"))

# Sessions (docs/SECURITY.md, "Sessions off the database"): read from the cache, written through to the
# database (``cached_db``). The cache is Redis when REDIS_URL is set, shared by every process, so a
# sign-out in one ends the session in all at once. Without Redis, each process would keep its own copy
# (a session ended in one would live on in another's), so sessions stay in the database unless
# DIEMCAU_SESSION_CACHE=locmem says the site runs one process.
_SESSION_CACHE = os.environ.get("DIEMCAU_SESSION_CACHE", "redis" if REDIS_URL else "")
if _SESSION_CACHE == "redis" and REDIS_URL:
    # Redis away or hung costs a request at most a second's wait, then the database answers (core/cache.py).
    CACHES = {"default": {"BACKEND": "diemcau.core.cache.TolerantRedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "diemcau",
                          "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = ("django.contrib.sessions.backends.cached_db" if _SESSION_CACHE in ("redis", "locmem")
                  else "django.contrib.sessions.backends.db")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- TLS (docs/OPERATIONS.md, "Deployment behind a TLS proxy") -------------------------------
# DIEMCAU_TLS=1: the site is served over https (by a proxy in front, or by Daphne itself).
TLS = env_bool("DIEMCAU_TLS", False)
# Secure cookies: with TLS, or when the public URL is https (the proxy in front speaks TLS).
SESSION_COOKIE_SECURE = env_bool("DIEMCAU_SECURE_COOKIES", TLS or (_public is not None and _public.scheme == "https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if DIEMCAU_TRUSTED_PROXIES:
    # Believed only from the trusted proxies: core.middleware.TrustedProxyMiddleware drops the
    # header from anyone else before Django reads it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if TLS:
    SECURE_HSTS_SECONDS = int(os.environ.get("DIEMCAU_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DIEMCAU_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DIEMCAU_HSTS_PRELOAD", False)
    SECURE_SSL_REDIRECT = env_bool("DIEMCAU_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # local probes and scrapers speak plain http
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole domain to https in browsers for months, and anyone can
        # submit a domain whose header asks for it: an operator's choice (DIEMCAU_HSTS_PRELOAD=1).
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Uploads --------------------------------------------------------------------------------
# Imports larger than this are refused with a clear message before they are read.
IMPORT_MAX_BYTES = int(os.environ.get("DIEMCAU_IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
# What an uploaded workbook may unpack to and hold (core/excel.py; docs/SECURITY.md, items 11-12).
IMPORT_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("DIEMCAU_IMPORT_MAX_UNCOMPRESSED_BYTES", str(100 * 1024 * 1024)))
IMPORT_MAX_COMPRESSION_RATIO = int(os.environ.get("DIEMCAU_IMPORT_MAX_COMPRESSION_RATIO", "100"))
IMPORT_MAX_ROWS = int(os.environ.get("DIEMCAU_IMPORT_MAX_ROWS", "200000"))
IMPORT_MAX_COLUMNS = int(os.environ.get("DIEMCAU_IMPORT_MAX_COLUMNS", "200"))
IMPORT_MAX_CELLS = int(os.environ.get("DIEMCAU_IMPORT_MAX_CELLS", "5000000"))
# Files that unpack to more than this are read by a background job, not within the request.
IMPORT_SYNC_UNCOMPRESSED_BYTES = int(os.environ.get("DIEMCAU_IMPORT_SYNC_UNCOMPRESSED_BYTES", str(2 * 1024 * 1024)))
# Request bodies larger than this are refused (413) before they are read (core/bodylimit.py);
# the import pages below may send an import file and its form.
REQUEST_MAX_BYTES = int(os.environ.get("DIEMCAU_REQUEST_MAX_BYTES", str(2 * 1024 * 1024)))
REQUEST_IMPORT_OVERHEAD_BYTES = 1024 * 1024
REQUEST_IMPORT_PATHS = [
    r"^/orgs/import/$",
    r"^/points/sessions/\d+/import/$",
    r"^/points/sessions/\d+/plan/distances/$",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# --- Check-ins (attendance) -----------------------------------------------------------------
# A session takes check-ins from this long before its start until this long after its end
# (the server's clock); outside that, a check-in is refused ("outside_session_window").
CHECKIN_MARGIN_BEFORE_MINUTES = int(os.environ.get("DIEMCAU_CHECKIN_MARGIN_BEFORE_MINUTES", "120"))
CHECKIN_MARGIN_AFTER_MINUTES = int(os.environ.get("DIEMCAU_CHECKIN_MARGIN_AFTER_MINUTES", "60"))
# A device's scan time older than this (an offline queue's oldest plausible item), in the future,
# or outside the window is replaced by the server's time and the row flagged.
CHECKIN_SCAN_MAX_AGE_MINUTES = int(os.environ.get("DIEMCAU_CHECKIN_SCAN_MAX_AGE_MINUTES", "240"))
# How often (seconds) the attendance board recomputes a unit's figures and pushes the changed rows to its
# viewers. During a burst a check-in waits up to a tick for the next round: 0.5 s keeps the lag under 1 s.
ATTENDANCE_BOARD_TICK = float(os.environ.get("DIEMCAU_BOARD_TICK", "0.5"))
# A watched board is also recomputed when its figures are this old (seconds), notice or not: a check-in
# whose notice was lost (a Redis connection cut as it was sent) shows within this bound.
ATTENDANCE_BOARD_REFRESH = float(os.environ.get("DIEMCAU_BOARD_REFRESH", "15"))
# The roll-call screen's offline copy of a point's people is dropped after this many hours.
ROLLCALL_LIST_MAX_AGE_HOURS = int(os.environ.get("DIEMCAU_ROLLCALL_LIST_MAX_AGE_HOURS", "12"))

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# The one time zone of diemcau: times are stored in UTC and shown, counted by hour and printed in
# this zone (templates, reports, the summary, the synthetic studio's clock, the pages' scripts through
# <html data-time-zone>). Nothing else in src/ names a zone.
TIME_ZONE = "Asia/Ho_Chi_Minh"
FORMAT_MODULE_PATH = ["diemcau.formats"]
LANGUAGE_COOKIE_NAME = "diemcau_language"

# --- Static ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic's target; WhiteNoise serves it (made at start-up); nginx may serve it from a copy too.
STATIC_ROOT = Path(os.environ.get("DIEMCAU_STATIC_ROOT", "") or VAR_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"  # uploaded files (kept in backups)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A refusal the product expects (403, 404, a service's DomainError) is one line, not a traceback;
    # a request answered 503 for a database outage is logged once by core.health, not with a traceback.
    "filters": {"expected_refusals": {"()": "diemcau.core.logfilters.ExpectedRefusalFilter"},
                "database_down": {"()": "diemcau.core.health.DatabaseDownLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DIEMCAU_LOG_LEVEL", "WARNING")},
    "loggers": {"diemcau": {"level": os.environ.get("DIEMCAU_LOG_LEVEL", "INFO")},
                "django.request": {"filters": ["expected_refusals", "database_down"]}},
}

# --- Health and metrics (core/health.py, core/metrics.py; docs/OPERATIONS.md) -------------------
# Who may read /metrics: these addresses or networks (the TCP peer) ...
METRICS_ALLOW = env_list("DIEMCAU_METRICS_ALLOW", "127.0.0.1,::1")
# ... or a request with "Authorization: Bearer <this token>" (empty: no token accepted).
METRICS_TOKEN = os.environ.get("DIEMCAU_METRICS_TOKEN", "")
# Processes without a web server (Celery worker, live runtime, media node) serve their metrics on
# this port (0: none) and address. prometheus_client itself reads PROMETHEUS_MULTIPROC_DIR: set, the
# processes of a host write their figures there and one scrape adds them up.
METRICS_PORT = int(os.environ.get("DIEMCAU_METRICS_PORT", "0"))
METRICS_ADDR = os.environ.get("DIEMCAU_METRICS_ADDR", "127.0.0.1")
METRICS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

# --- The live conference's credentials (docs/SECURITY.md, "The broadcast") -----------------
# Janus tokens last this long; live pages renew them while the person still has the right.
LIVE_TOKEN_MINUTES = float(os.environ.get("DIEMCAU_LIVE_TOKEN_MINUTES", "15"))
# A renewed token keeps working this long while the page moves its open sessions to the new one.
LIVE_TOKEN_GRACE_SECONDS = int(os.environ.get("DIEMCAU_LIVE_TOKEN_GRACE_SECONDS", "60"))
# Signed HLS links: their lifetime and the secret nginx's secure_link shares (default: from SECRET_KEY).
LIVE_HLS_LINK_MINUTES = int(os.environ.get("DIEMCAU_LIVE_HLS_LINK_MINUTES", "120"))
LIVE_HLS_SECRET = os.environ.get("DIEMCAU_LIVE_HLS_SECRET", "")
# The key media hosts' agents (manage.py media_node) present as a bearer token to register their
# nodes and send heartbeats; empty: no agent may register.
LIVE_MEDIA_NODE_KEY = os.environ.get("DIEMCAU_MEDIA_NODE_KEY", "")

# Device tokens (kiosks, scanners, scripts; points.devices) last at most this many hours.
DEVICE_TOKEN_HOURS = float(os.environ.get("DIEMCAU_DEVICE_TOKEN_HOURS", "24"))
# A rotated device token keeps working this many minutes while the device switches to the new one.
DEVICE_TOKEN_OVERLAP_MINUTES = float(os.environ.get("DIEMCAU_DEVICE_TOKEN_OVERLAP_MINUTES", "10"))
# Every open websocket's session, account, token and right are checked again this often (core/ws_auth.py),
# besides the at-once close a revocation sends.
WS_AUTH_RECHECK_SECONDS = float(os.environ.get("DIEMCAU_WS_RECHECK_SECONDS", "30"))
# The kiosks' thumbnails (live/thumbs.py); empty: VAR_DIR/live/thumbs of the running process.
LIVE_THUMBS_DIR = os.environ.get("DIEMCAU_LIVE_THUMBS_DIR", "")
# TURN (coturn, `use-auth-secret`): the secret shared with coturn's `static-auth-secret`, and the
# URLs offered to browsers, comma-separated, e.g. "turn:turn.example.vn:3478?transport=udp,
# turn:turn.example.vn:3478?transport=tcp,turns:turn.example.vn:443?transport=tcp" (empty: no TURN).
LIVE_TURN_SECRET = os.environ.get("DIEMCAU_LIVE_TURN_SECRET", "")
LIVE_TURN_URLS = env_list("DIEMCAU_LIVE_TURN_URLS", "")
# The programme's low (360p ≈ 300 kbit/s) and audio-only (Opus 32 kbit/s) renditions, encoded at the
# root by the live runtime (live/renditions.py): on in production, off by default (costs a core's fifth).
LIVE_RENDITIONS = os.environ.get("DIEMCAU_LIVE_RENDITIONS", "0") == "1"
# The SIP gateway for room systems (live/sip_gateway.py, `run_live --sip ADDRESS`): the realm halls
# authenticate in (changing it invalidates every stored HA1), the name shown to hall technicians, the
# SIP ports (UDP/TCP and TLS) and the media ports rtpengine offers (shown on the room-system page).
LIVE_SIP_REALM = os.environ.get("DIEMCAU_SIP_REALM", "diemcau")
LIVE_SIP_PUBLIC_HOST = os.environ.get("DIEMCAU_SIP_PUBLIC_HOST", "")
LIVE_SIP_PORT = int(os.environ.get("DIEMCAU_SIP_PORT", "5060"))
LIVE_SIP_TLS_PORT = int(os.environ.get("DIEMCAU_SIP_TLS_PORT", "5061"))

# --- Before the day: convocations by e-mail, rehearsals (docs/ARCHITECTURE.md, "Convocations and rehearsals")
# Outgoing mail over SMTP. With no EMAIL_HOST (the embedded default) mail is written to files under
# var/mail/ instead of being sent, so the demo never writes to anyone.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "diemcau@localhost")
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
# A convocation's "đã nhận" link works this many days after it was sent.
CONVOCATION_LINK_DAYS = int(os.environ.get("DIEMCAU_CONVOCATION_LINK_DAYS", "30"))
# A point's technical check is due this many minutes before its first session starts.
TECHNICAL_CHECK_DEADLINE_MINUTES = int(os.environ.get("DIEMCAU_TECHNICAL_CHECK_DEADLINE_MINUTES", "60"))
