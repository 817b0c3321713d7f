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
import sys
import time

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from psycopg_pool import PoolTimeout

from .middleware import SecurityHeadersMiddleware

logger = logging.getLogger("diemcau.health")

# Seconds a client is asked to wait before it tries again.
RETRY_AFTER_SECONDS = 5
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
    """The 503 a request gets when the database cannot be reached (in the request's language)."""
    outage_log.refused_request(exc)
    with translation.override(translation.get_language_from_request(request)):
        return _unavailable(request)


def _unavailable(request) -> HttpResponse:
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
    # The headers SecurityHeadersMiddleware would have set (this answer replaces what passed through it).
    response["Content-Security-Policy"] = SecurityHeadersMiddleware.CSP % {"connect": "'self'"}
    response["Referrer-Policy"] = "same-origin"
    response["X-Frame-Options"] = "DENY"
    response._has_been_logged = True  # our one line above, not Django's per-request error log
    return response


def _connection_failed(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def _lost_connection(exc: BaseException) -> bool:
    """The error is the connection itself breaking (the server restarting or gone), not a query's:
    psycopg's own connection failures carry no SQLSTATE; the server's say 08xxx or 57P0x (shut down).
    Answered 503 even when the database is back by the time we look: the client should retry."""
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", "") if cause is not None else ""
    return isinstance(exc, InterfaceError) or state is None or str(state).startswith(("08", "57P"))


def _unreachable(exc: BaseException | None) -> bool:
    """A request's error means the database could not be used: lost connection or no answer now."""
    if not _connection_failed(exc):
        return False
    if isinstance(exc.__cause__, PoolTimeout):  # no connection to lend: busy, or reconnecting after an outage
        _renew_empty_pool()
        return True
    if _lost_connection(exc):
        connections["default"].close()  # the broken connection goes; the next request takes a new one
        return True
    return not _database_answers()


def _renew_empty_pool() -> None:
    """After an outage the pool holds no connection and backs off between attempts; a fresh pool
    connects at once when the database is back. A pool that is merely busy is left alone."""
    wrapper = connections["default"]
    pool = getattr(wrapper, "pool", None)
    if pool is None or pool.get_stats().get("pool_size", 0) > 0:
        return
    try:
        wrapper.close()
        wrapper.close_pool()
    except (KeyError, DatabaseError):  # another request renewed it first
        pass


def _database_answers() -> bool:
    """After an OperationalError: is the database itself gone (not a bad query's error)?"""
    connections["default"].close()
    return check_database()


class DatabaseUnavailableMiddleware:
    """A request that cannot reach the database gets a 503 with Retry-After, not a 500 and a traceback.

    Outermost but for the metrics: the database is touched anywhere inside (sessions, accounts, scope,
    the view, the session's save on the way out). An error in the view reaches :meth:`process_exception`;
    one raised by a middleware has become Django's 500 by the time it gets here, marked on the request
    by :func:`mark_database_down` (``got_request_exception``), and the 500 is replaced. Requests that
    never touch the database (static files, the service worker) are served as usual.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, "_database_unavailable", None)
        if exc is not None and response.status_code >= 500:
            return unavailable_response(request, exc)
        return response

    def process_exception(self, request, exception):
        if _unreachable(exception):
            return unavailable_response(request, exception)
        return None


@receiver(got_request_exception)
def mark_database_down(sender, request=None, **kwargs):
    """Mark a request whose uncaught exception is a lost database (Django is about to answer 500)."""
    exc = sys.exc_info()[1]
    if request is not None and _unreachable(exc):
        request._database_unavailable = exc


class DatabaseDownLogFilter(logging.Filter):
    """``django.request``: no traceback for a request answered 503 because the database is down."""

    def filter(self, record):
        request = getattr(record, "request", None)
        return getattr(request, "_database_unavailable", None) is None
