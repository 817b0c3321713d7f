"""Is this process able to serve: the ``/healthz`` probe, and a clear 503 when PostgreSQL is down.

``/healthz`` answers 200 ``{"status": "ok", ...}`` when the database (and Redis, when configured)
answer, 503 with which of them did not otherwise; no sign-in, no data. nginx's upstream checks and
the cluster's fault tests use it.

:class:`DatabaseUnavailableMiddleware` turns a refused or broken database connection into a 503 with
``Retry-After``: a Vietnamese page in the site's layout, or ``{"code": "database_unavailable"}``
under ``/api/``; it logs one line, not a traceback per request. The next request after PostgreSQL is
back works: the pool checks a connection before lending it (``CONN_HEALTH_CHECKS``).
"""

import logging
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger("diemcau.health")

# Seconds a client is asked to wait before it tries again.
RETRY_AFTER_SECONDS = 5
# Paths that never need the database (WhiteNoise serves /static/ before this middleware).
_NO_DATABASE = ("/healthz", "/metrics", "/static/")

_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return _redis_client


def check_database(alias: str = "default") -> bool:
    try:
        with connections[alias].cursor() as cur:
            cur.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def check_redis() -> bool | None:
    """True/False when Redis is configured (``REDIS_URL``), None when this installation has none."""
    if not settings.REDIS_URL:
        return None
    try:
        return bool(_redis().ping())
    except Exception:  # any failure to reach it (refused, timeout, auth) is "down" for a probe
        return False


def healthz(request):
    """200 when the database and Redis answer, else 503; which part is down, nothing else."""
    checks = {"database": check_database(), "redis": check_redis()}
    healthy = all(v is not False for v in checks.values())
    body = {"status": "ok" if healthy else "unavailable",
            **{k: ("ok" if v else "down") if v is not None else "not_configured" for k, v in checks.items()}}
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class _OutageLog:
    """One log line when requests start failing for want of the database, then one a minute at most."""

    def __init__(self):
        self.last, self.refused = 0.0, 0

    def refused_request(self, exc: Exception):
        self.refused += 1
        now = time.monotonic()
        if now - self.last >= 60:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            logger.error("database unavailable: %s (%d request(s) answered 503 since the last line)",
                         reason[:200], self.refused)
            self.last, self.refused = now, 0


outage_log = _OutageLog()


def unavailable_response(request, exc: Exception) -> HttpResponse:
    """The 503 a request gets when the database cannot be reached."""
    outage_log.refused_request(exc)
    message = _("The system's database is not reachable at the moment. Please try again in a few seconds.")
    if request.path_info.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response = JsonResponse({"code": "database_unavailable", "message": message, "detail": message,
                                 "retry_after": RETRY_AFTER_SECONDS}, status=503)
    else:
        # Rendered without the request: its context processors would ask the database for the user.
        page = render_to_string("core/database_unavailable.html",
                                {"message": message, "retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    response._has_been_logged = True  # our one line above, not Django's per-request error log
    return response


def _connection_failed(exc: Exception) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


class DatabaseUnavailableMiddleware:
    """A request that cannot reach the database gets a 503 with Retry-After, not a 500 and a traceback.

    Before the rest of the chain (sessions, accounts, scope all read the database) the request takes
    its connection; if that fails the 503 is answered at once. A connection lost during the view is
    caught by :meth:`process_exception`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(_NO_DATABASE):
            try:
                connections["default"].ensure_connection()
            except (OperationalError, InterfaceError) as exc:
                connections["default"].close()
                return unavailable_response(request, exc)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if _connection_failed(exception) and not _database_answers():
            return unavailable_response(request, exception)
        return None


def _database_answers() -> bool:
    """After an OperationalError in a view: is the database itself gone (not a bad query's error)?"""
    connections["default"].close()
    return check_database()
