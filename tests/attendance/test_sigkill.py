"""Nothing acknowledged is lost: SIGKILL the server in the middle of a burst of check-ins.

The real stack (the product's ASGI server, ``tests.servers.asgi_command``) runs in a child process
on the test database. Several threads send check-ins over HTTP as a signed-in operator (session
cookie and CSRF header, as the roll-call screen does), one at a time and in batches, and record
every client id that got a 2xx reply. The server is killed with SIGKILL mid-burst and started
again: every acknowledged check-in is there exactly once. Then everything ever sent is sent
again: all accepted, nothing duplicated.
Runs on PostgreSQL and on a file SQLite database (``DIEMCAU_SQLITE_TEST=/tmp/x.sqlite3``).
"""

import collections
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.test import Client

from diemcau.attendance.models import CheckIn
from diemcau.orgs.models import Person
from tests.servers import child_env, free_port, start_asgi

ROOT = Path(__file__).resolve().parents[2]
PEOPLE, THREADS, KILL_AFTER_ACKS = 400, 4, 120
CSRF = "k" * 32  # a CSRF secret of our own, sent as cookie and header (what a browser does)




def _start(env, port, log):
    return start_asgi(env, port, log, timeout=30)


def _item(world, person):
    return {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk, "point_id": world["bavi_point"].pk,
            "person_id": person.pk, "method": "roll_call", "device": "sigkill-test"}


@pytest.mark.django_db(transaction=True)
def test_every_acknowledged_check_in_survives_sigkill(world, organiser_bavi):
    env = child_env()
    school = world["t"]["school_a"]
    people = [Person(unit=school, code=f"K{n:06d}", full_name=f"Người Thử {n}", category=Person.Category.TEACHER)
              for n in range(PEOPLE)]
    for p in people:
        p.refresh_search_key()
    people = Person.objects.bulk_create(people)
    items = [_item(world, p) for p in people]
    client = Client()
    client.force_login(organiser_bavi)
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}
    headers = {"X-CSRFToken": CSRF, "Content-Type": "application/json"}

    port = free_port()
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"sigkill-{port}.log", "wb")
    proc = _start(env, port, log)
    base = f"http://127.0.0.1:{port}"
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def burst(share, batch_size):
        with httpx.Client(base_url=base, cookies=cookies, headers=headers, timeout=10) as http:
            for i in range(0, len(share), batch_size):
                if stop.is_set():
                    return
                chunk = share[i:i + batch_size]
                try:
                    if batch_size == 1:
                        r = http.post("/api/attendance/checkins/", json=chunk[0])
                    else:
                        r = http.post("/api/attendance/checkins/batch/", json={"items": chunk})
                except httpx.HTTPError:
                    return  # the server is gone
                if 200 <= r.status_code < 300:
                    with lock:
                        acked.extend(x["client_id"] for x in chunk)
                else:
                    raise AssertionError(f"refused: {r.status_code} {r.text[:300]}")

    shares = [items[k::THREADS] for k in range(THREADS)]
    threads = [threading.Thread(target=burst, args=(share, 1 if k % 2 == 0 else 5))
               for k, share in enumerate(shares)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < KILL_AFTER_ACKS and time.monotonic() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)  # mid-burst: requests are in flight
    proc.wait(10)
    stop.set()
    for t in threads:
        t.join(20)
    killed_at = len(acked)
    assert KILL_AFTER_ACKS <= killed_at < PEOPLE, f"the kill was not mid-burst ({killed_at} of {PEOPLE} acked)"

    proc = _start(env, port, log)
    try:
        rows = collections.Counter(str(c) for c in CheckIn.objects.values_list("client_id", flat=True))
        lost = [c for c in acked if rows[c] != 1]
        assert not lost, f"{len(lost)} acknowledged check-ins lost or doubled after SIGKILL"
        assert len(rows) >= killed_at and all(n == 1 for n in rows.values())
        after_restart = len(rows)  # acknowledged, plus any committed whose reply the kill cut off

        # Resend everything, acknowledged or not: all accepted, each recorded exactly once.
        with httpx.Client(base_url=base, cookies=cookies, headers=headers, timeout=30) as http:
            for i in range(0, len(items), 100):
                r = http.post("/api/attendance/checkins/batch/", json={"items": items[i:i + 100]})
                assert r.status_code == 200, r.text[:300]
                for res, sent in zip(r.json()["results"], items[i:i + 100], strict=True):
                    assert res["client_id"] == sent["client_id"]
                    assert res["created"] is (sent["client_id"] not in rows)
        rows = collections.Counter(str(c) for c in CheckIn.objects.values_list("client_id", flat=True))
        assert set(rows) == {x["client_id"] for x in items} and set(rows.values()) == {1}
        assert CheckIn.objects.filter(duplicate_person=True).count() == 0
        print(f"\nSIGKILL after {killed_at} acknowledged of {PEOPLE}; {after_restart} rows after restart, "
              f"{len(rows)} after resending all ({connection.vendor})")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
