"""Faults a nation's deployment must survive, on the cluster harness (issue 12).

Each test drives the real stack through nginx on the proxy host: uvicorn on app1 and app2,
PostgreSQL and Redis on db, the task worker on each app host.
"""

import http.client
import os
import threading
import time

import pytest

from .conftest import BURST, PROXY, harness, load, stored, take

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(1200)]


def test_app_host_killed_during_a_burst(both_apps, board):
    """app1 dies mid-burst: every acknowledged check-in is stored once, retries land on app2, the board goes on."""
    c = both_apps
    people = take(c, BURST)
    assert board.wait_present(0, 60) is not None, "the board never showed its first figures"
    killed = threading.Event()
    acked = [0]

    def on_ack(_cid):
        acked[0] += 1
        if acked[0] == BURST // 4 and not killed.is_set():
            killed.set()
            threading.Thread(target=c.kill_host, args=("app1",), daemon=True).start()

    outcome = load.send_checkins(PROXY, c.world, people, threads=8, tag="a-kill-", on_ack=on_ack)
    kill_at = time.monotonic()
    assert killed.is_set()
    assert not outcome.unacked, f"{len(outcome.unacked)} check-ins never acknowledged: {outcome.statuses}"
    assert len(outcome.acked) == BURST
    assert stored(c, outcome.acked) == (BURST, BURST)  # each acknowledged check-in stored exactly once
    app2 = f"{harness.address('app2')}:{harness.APP_PORT}"
    # Check-ins that failed on the dying host (or that nginx sent on) were acknowledged by app2.
    assert outcome.failed_over > 0, outcome.statuses
    late = list(outcome.acked.values())[-BURST // 4:]
    assert set(late) == {app2}, "after the kill every check-in is answered by app2"
    # The board (its socket may have been on app1: it reconnects) shows the whole burst.
    total = int(c.psql(None, f"SELECT count(DISTINCT person_id) FROM attendance_checkin "
                             f"WHERE session_id = {c.world['session_id']}"))
    assert board.wait_present(total, 10) is not None, (board.present, total, board.closes)
    assert board.figures[-1][0] > kill_at - 60
    c.start_asgi("app1", wait=False)  # back for the tests after this one, which do not wait for it
    c.start_worker("app1")


def test_redis_restarted_boards_recover(cluster, board):
    """Redis restarts: the board's socket comes back and shows current figures within 5 s.

    The check-ins are acknowledged while Redis is down (they need PostgreSQL only): their live
    notices are lost, so the board must rebuild its figures from the database once Redis is back.
    """
    c = cluster
    assert board.wait_present(0, 60) is not None
    before = board.present
    people = take(c, 5)
    c.stop_service("redis")
    outcome = load.send_checkins(PROXY, c.world, people, threads=1, tag="b-redis-", deadline_s=30)
    assert len(outcome.acked) == 5, outcome.statuses
    c.start_service("db", "redis")
    back = time.monotonic()
    shown = board.wait_present(before + 5, 15)
    assert shown is not None, f"board stuck at {board.present} (wanted {before + 5}); closes {board.closes}"
    assert shown - back < 5.0, f"the board showed current figures {shown - back:.1f} s after Redis was back"


def test_postgres_restarted_nothing_acknowledged_lost(cluster):
    """PostgreSQL restarts under check-ins: the outage answers 5xx, kiosks retry, nothing acknowledged is lost."""
    c = cluster
    people = take(c, 300)
    result = {}
    sender = threading.Thread(target=lambda: result.update(outcome=load.send_checkins(
        PROXY, c.world, people, threads=4, tag="c-pg-", deadline_s=180, pace_s=0.05, retry_pause_s=0.5)))
    sender.start()
    time.sleep(2)
    c.restart("postgres", pause=3.0)
    sender.join()
    outcome = result["outcome"]
    assert not outcome.unacked, outcome.statuses
    assert stored(c, outcome.acked) == (len(people), len(people))
    errors = {s for s in outcome.statuses if s != 200}
    assert errors, "the outage went unnoticed: no request was refused while PostgreSQL was down"
    # TODO(merge, issue 12 part 2): the outage middleware answers a clear 503 with Retry-After;
    # once it lands this becomes `assert errors <= {503}` (502 only if nginx found no host at all).
    assert errors <= {0, 500, 502, 503}, outcome.statuses


def _multipart(fields: dict, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "diemcau-cluster-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _post_form(c, path: str, body: bytes, content_type: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection(PROXY, 80, timeout=120)
    try:
        conn.request("POST", path, body, {
            "Host": PROXY, "Content-Type": content_type, "X-CSRFToken": load.CSRF,
            "Cookie": f"csrftoken={load.CSRF}; sessionid={c.world['importer_cookie']}"})
        reply = conn.getresponse()
        reply.read()
        return reply.status, reply.getheader("Location", "")
    finally:
        conn.close()


def _wait_sql(c, sql: str, done, timeout: float) -> str:
    end = time.monotonic() + timeout
    while True:
        value = c.psql(None, sql).strip()
        if done(value) or time.monotonic() > end:
            return value
        time.sleep(0.1)


def test_task_worker_killed_mid_import(cluster):
    """The task worker dies while applying an import sent through nginx: the import completes exactly once.

    Today's worker is ``manage.py run_jobs`` (leases, re-queued by the other host's worker); issue 12's
    part 1 swaps it for Celery in ``harness.Cluster.worker_command`` and this test stays as it is.
    """
    c = cluster
    rows = int(os.environ.get("DIEMCAU_CLUSTER_IMPORT_ROWS", "20000"))
    units = c.world["import_units"]
    lines = ["Mã cá nhân,Họ và tên,Mã đơn vị,Nhóm"]
    lines += [f"CLT{i:06d},Nguyễn Thị Cụm {chr(65 + i % 26)},{units[i % len(units)]},Giáo viên" for i in range(rows)]
    body, content_type = _multipart({"kind": "people", "csrfmiddlewaretoken": load.CSRF}, "nguoi.csv",
                                    ("\n".join(lines) + "\n").encode())
    status, location = _post_form(c, "/orgs/import/", body, content_type)
    assert status == 302 and "/orgs/import/" in location, (status, location)
    batch = int(location.rstrip("/").rsplit("/", 1)[1])
    state = _wait_sql(c, f"SELECT status FROM orgs_importbatch WHERE id = {batch}",
                      lambda s: s not in ("pending", ""), 180)
    assert state == "ready", state
    status, _ = _post_form(c, f"/orgs/import/{batch}/confirm/", f"csrfmiddlewaretoken={load.CSRF}".encode(),
                           "application/x-www-form-urlencoded")
    assert status in (200, 302), status
    job_sql = (f"SELECT id, status, worker FROM core_job WHERE kind = 'orgs.import_apply' "
               f"AND params->>'batch_id' = '{batch}'")
    job = _wait_sql(c, job_sql, lambda s: "\trunning\t" in s and s.split("\t")[2], 120)
    job_id, job_status, worker = job.split("\t")
    assert job_status == "running", job
    pid = int(worker.rsplit(":", 1)[1])
    host = next(h for h in harness.APP_HOSTS if pid in harness.namespace_pids(h))
    c.kill_service(host, "worker")  # SIGKILL mid-apply: its transaction rolls back, its lease expires
    assert c.psql(None, f"SELECT status FROM orgs_importbatch WHERE id = {batch}").strip() != "applied", \
        "the import finished before the worker was killed: raise DIEMCAU_CLUSTER_IMPORT_ROWS"
    c.start_worker(host)
    state = _wait_sql(c, f"SELECT status FROM orgs_importbatch WHERE id = {batch}",
                      lambda s: s in ("applied", "failed"), 240)
    assert state == "applied", state
    done = c.psql(None, f"SELECT status, attempts FROM core_job WHERE id = {job_id}").split()
    assert done[0] == "done" and int(done[1]) >= 2, done  # re-run after the kill, and finished
    assert int(c.psql(None, "SELECT count(*) FROM orgs_person WHERE code LIKE 'CLT%'")) == rows
    assert int(c.psql(None, f"SELECT count(*) FROM core_auditentry WHERE action = 'import.applied' "
                            f"AND object_id = '{batch}'")) == 1
