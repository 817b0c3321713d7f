"""Prometheus metrics of web, task and media processes, through ``prometheus_client``.

Every process of a host writes its figures to ``PROMETHEUS_MULTIPROC_DIR`` when that is set (the
systemd units give each service a fresh one), so the several ASGI workers behind one port add up in
one scrape. ``/metrics`` answers only ``DIEMCAU_METRICS_ALLOW`` addresses or a request carrying
``Authorization: Bearer $DIEMCAU_METRICS_TOKEN``. Processes without a web server (the Celery worker,
the live runtime, a media node) expose their own port with :func:`serve_port`
(``DIEMCAU_METRICS_PORT``).
"""

import atexit
import hmac
import ipaddress
import logging
import os
import time

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

logger = logging.getLogger("diemcau.metrics")

HTTP_REQUESTS = Counter("diemcau_http_requests", "HTTP requests answered, by route and status",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("diemcau_http_request_duration_seconds", "Time to answer an HTTP request, by route",
                         ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
CHECKINS_STORED = Counter("diemcau_checkins_stored", "Check-in rows written (committed)")
WEBSOCKETS = Gauge("diemcau_websocket_connections", "Open websocket connections", multiprocess_mode="livesum")
TASK_RUNS = Counter("diemcau_task_runs", "Background task runs, by task and outcome", ["task", "outcome"])
TASK_DURATION = Histogram("diemcau_task_duration_seconds", "Duration of a background task run", ["task"],
                          buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600))
JANUS_NODES_UP = Gauge("diemcau_janus_nodes_up", "Janus nodes this runtime supervises that answer",
                       multiprocess_mode="livesum")
LIVE_VIEWERS = Gauge("diemcau_live_viewers", "Programme viewers seen on this runtime's Janus nodes",
                     multiprocess_mode="livesum")


def _registry() -> CollectorRegistry:
    """What a scrape reads: every process of the host in multiprocess mode, else this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@atexit.register
def _process_gone():  # its live gauges (websockets, nodes up) leave the sum with it
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        try:
            multiprocess.mark_process_dead(os.getpid())
        except OSError:
            pass


# --- who may read them ------------------------------------------------------------------------
def _allowed_networks() -> list:
    networks = []
    for entry in settings.METRICS_ALLOW:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            logger.warning("DIEMCAU_METRICS_ALLOW: %r is not an address or network; ignored", entry)
    return networks


def may_read(request) -> bool:
    """A scraper at an allowed address (the TCP peer, not a forwarded header) or with the token."""
    token = settings.METRICS_TOKEN
    auth = request.headers.get("Authorization", "")
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), token.encode()):
        return True
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in _allowed_networks())


def metrics_view(request):
    """``/metrics``: Prometheus' text format, for allowed scrapers only (403 otherwise)."""
    if not may_read(request):
        raise PermissionDenied
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


# --- web requests -----------------------------------------------------------------------------
class RequestMetricsMiddleware:
    """Count each request by its URL pattern (not its path: ids would make a series per object)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = ("/" + match.route) if match is not None and match.route else "unmatched"
        HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)
        return response


def count_websockets(app):
    """ASGI wrapper: the open websocket connections gauge follows accept and close."""

    async def counted(scope, receive, send):
        opened = False

        async def sending(message):
            nonlocal opened
            if message["type"] == "websocket.accept" and not opened:
                opened = True
                WEBSOCKETS.inc()
            elif message["type"] == "websocket.close" and opened:
                opened = False
                WEBSOCKETS.dec()
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            if opened:
                WEBSOCKETS.dec()

    return counted


# --- processes without a web server -------------------------------------------------------------
def serve_port(what: str):
    """Expose this process's (or, in multiprocess mode, its host's) metrics on ``DIEMCAU_METRICS_PORT``.

    Binds ``DIEMCAU_METRICS_ADDR`` (default: the loopback address; a host's private address for a
    Prometheus elsewhere). Returns the HTTP server (``shutdown()`` stops it), or None when no port is
    configured.
    """
    port = settings.METRICS_PORT
    if not port:
        return None
    server, _thread = start_http_server(port, addr=settings.METRICS_ADDR, registry=_registry())
    logger.info("%s metrics on http://%s:%d/metrics", what, settings.METRICS_ADDR, port)
    return server


# --- Celery tasks -------------------------------------------------------------------------------
_task_started: dict[str, float] = {}


def connect_task_signals() -> bool:
    """Count task runs, failures and durations through Celery's signals (when Celery is installed)."""
    try:
        from celery import signals
    except ImportError:
        return False
    signals.task_prerun.connect(_task_prerun, weak=False, dispatch_uid="diemcau.metrics.prerun")
    signals.task_postrun.connect(_task_postrun, weak=False, dispatch_uid="diemcau.metrics.postrun")
    signals.task_failure.connect(_task_failure, weak=False, dispatch_uid="diemcau.metrics.failure")
    signals.task_retry.connect(_task_retry, weak=False, dispatch_uid="diemcau.metrics.retry")
    signals.worker_init.connect(_worker_init, weak=False, dispatch_uid="diemcau.metrics.worker")
    return True


def _task_prerun(task_id=None, task=None, **kwargs):
    _task_started[task_id] = time.perf_counter()


def _task_postrun(task_id=None, task=None, state=None, **kwargs):
    started = _task_started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    if started is not None:
        TASK_DURATION.labels(name).observe(time.perf_counter() - started)
    if state == "SUCCESS":
        TASK_RUNS.labels(name, "success").inc()


def _task_failure(task_id=None, sender=None, **kwargs):
    TASK_RUNS.labels(getattr(sender, "name", "unknown"), "failure").inc()


def _task_retry(request=None, sender=None, **kwargs):
    TASK_RUNS.labels(getattr(sender, "name", "unknown"), "retry").inc()


def _worker_init(**kwargs):
    serve_port("celery worker")
