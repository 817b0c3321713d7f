"""Prometheus metrics: /metrics only for allowed addresses or the bearer token; requests by route
and status; check-ins stored; Celery task runs; several processes adding up (multiprocess mode);
the metrics port of processes without a web server."""

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from celery import Celery
from prometheus_client import CollectorRegistry, generate_latest, multiprocess

from diemcau.core import metrics
from tests.servers import free_port

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parents[2]


def _value(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


def test_metrics_are_refused_to_other_addresses_and_wrong_tokens(client, settings):
    settings.METRICS_ALLOW = ["127.0.0.1", "10.20.0.0/24"]
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    outsider = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/metrics", **outsider).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token", **outsider).status_code == 403
    # A forwarded header does not make an outsider local.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1", **outsider).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scraper-token", **outsider).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.20.0.31").status_code == 200
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", **outsider).status_code == 403


def test_requests_are_counted_by_route_and_status(client):
    before = generate_latest().decode()
    client.get("/healthz")
    client.get("/no/such/page/")
    after = client.get("/metrics").content.decode()
    ok = 'diemcau_http_requests_total{method="GET",route="/healthz",status="200"}'
    missing = 'diemcau_http_requests_total{method="GET",route="unmatched",status="404"}'
    assert _value(after, ok) == _value(before, ok) + 1
    assert _value(after, missing) == _value(before, missing) + 1
    assert 'diemcau_http_request_duration_seconds_bucket{le="0.005",route="/healthz"}' in after


def test_celery_task_runs_failures_and_durations_are_counted():
    assert metrics.connect_task_signals()
    app = Celery("diemcau-metrics-test", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(name="test.metrics.ok")
    def ok():
        return 1

    @app.task(name="test.metrics.broken")
    def broken():
        raise ValueError("broken on purpose")

    before = generate_latest().decode()
    ok.delay()
    ok.delay()
    broken.delay()
    after = generate_latest().decode()
    for line, more in [('diemcau_task_runs_total{outcome="success",task="test.metrics.ok"}', 2),
                       ('diemcau_task_runs_total{outcome="failure",task="test.metrics.broken"}', 1),
                       ('diemcau_task_duration_seconds_count{task="test.metrics.ok"}', 2)]:
        assert _value(after, line) == _value(before, line) + more, line


def test_worker_processes_add_up_and_a_closed_process_leaves_the_live_gauges(tmp_path):
    code = ("from diemcau.core import metrics; metrics.CHECKINS_STORED.inc({n}); metrics.WEBSOCKETS.inc({n})\n"
            "import sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.readline()")
    env = {"PYTHONPATH": str(ROOT / "src"), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code.format(n=n)], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for n in (2, 3)]
    try:
        for p in procs:
            assert p.stdout.readline() == "ready\n"
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
        text = generate_latest(registry).decode()
        assert _value(text, "diemcau_checkins_stored_total") == 5
        assert _value(text, "diemcau_websocket_connections") == 5
        procs[0].stdin.write("\n")
        procs[0].stdin.flush()
        procs[0].wait(30)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
        text = generate_latest(registry).decode()
        assert _value(text, "diemcau_checkins_stored_total") == 5  # what happened stays counted
        assert _value(text, "diemcau_websocket_connections") == 3  # the closed process's sockets are gone
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_a_process_without_a_web_server_serves_its_metrics_port(settings):
    settings.METRICS_PORT = free_port()
    settings.METRICS_ADDR = "127.0.0.1"
    metrics.JANUS_NODES_UP.set(2)
    server = metrics.serve_port("test")
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{settings.METRICS_PORT}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert _value(text, "diemcau_janus_nodes_up") == 2
    settings.METRICS_PORT = 0
    assert metrics.serve_port("test") is None
