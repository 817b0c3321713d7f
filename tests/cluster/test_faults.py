"""Faults a nation's deployment must survive, on the cluster harness (issue 12).

Each test drives the real stack through nginx on the proxy host: uvicorn on app1 and app2,
PostgreSQL and Redis on db, the task worker on each app host.
"""

import os
import threading
import time

import pytest

from .conftest import BURST, PROXY, harness, imports, load, stored, take

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
    """PostgreSQL restarts under check-ins: the outage answers 503, kiosks retry, nothing acknowledged is lost."""
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
    # The outage is a clear 503 with Retry-After (core/health.py), never a 500; 502 only if nginx found
    # no app host at all, 0 a connection the client itself lost.
    assert 503 in errors and errors <= {0, 502, 503}, outcome.statuses


def test_task_worker_killed_mid_import(cluster):
    """The task worker dies while applying an import sent through nginx: the import completes exactly once.

    The worker is Celery's with late acknowledgement; the killed run's lease expires and beat sends the
    job again (or its unacknowledged message comes back), and the second run applies it.
    """
    rows = int(os.environ.get("DIEMCAU_CLUSTER_IMPORT_ROWS", "20000"))
    outcome = imports.import_with_worker_killed(cluster, cluster.world, rows)
    assert outcome["previewed"] == "ready", outcome
    assert outcome["killed_host"], f"no worker was seen running the apply job: {outcome}"
    assert outcome["killed_while_running"], "the import finished before its worker was killed: more rows"
    assert outcome["final"] == "applied", outcome
    assert outcome["job_status"] == "done" and outcome["job_attempts"] >= 2, outcome  # re-run, finished
    assert outcome["people"] == rows, outcome  # each person once: the killed run left nothing behind
    assert outcome["audit_entries"] == 1, outcome
    assert imports.completed_once(outcome)
