"""The running counts agree with the check-ins after a random burst with retries, duplicates,
other-point check-ins and a SIGKILL of the server mid-burst: the repair finds nothing to repair. So do
the arrivals per minute (the board's chart): the devices' scan times are spread over 20 minutes.

The real stack (``tests.servers.start_asgi``) serves the API in a child process on the test
database. Threads send a shuffled burst as the Ba Vì organiser: each person once, some twice with a
new client id (a duplicate), some at THPT Ba Vì's point (another point than assigned), and some
requests sent twice (a retry: same client id), singly and in batches. The server is SIGKILLed
mid-burst, started again, and the whole burst is sent once more.
"""

import datetime
import os
import random
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.test import Client

from diemcau.attendance import board, counts, rollup
from diemcau.attendance.models import CheckIn
from diemcau.orgs.models import Person
from tests.servers import child_env, free_port, start_asgi

ROOT = Path(__file__).resolve().parents[2]
PEOPLE, THREADS, KILL_AFTER = 150, 4, 60
CSRF = "c" * 32


def burst_items(world, people, rng):
    """The burst: every person once, 20 % again (a duplicate), 15 % at the other point; shuffled; each
    scanned in one of the last 20 minutes (a kiosk's queue sent late)."""
    session, bavi, thpt = world["session"].pk, world["bavi_point"].pk, world["thpt_point"].pk
    now = datetime.datetime.now(datetime.UTC)

    def item(person, point):
        scanned = now - datetime.timedelta(seconds=rng.uniform(30, 1200))
        return {"client_id": str(uuid.uuid4()), "session_id": session, "point_id": point, "person_id": person.pk,
                "method": "roll_call", "device": "counts-test", "scanned_at": scanned.isoformat()}

    items = [item(p, thpt if rng.random() < 0.15 else bavi) for p in people]
    items += [item(p, rng.choice((bavi, thpt))) for p in rng.sample(people, len(people) // 5)]
    rng.shuffle(items)
    return items


@pytest.mark.django_db(transaction=True)
def test_counts_agree_with_the_check_ins_after_a_burst_and_a_sigkill(world, organiser_bavi, capsys):
    rng = random.Random(14)
    school = world["t"]["school_a"]
    people = Person.objects.bulk_create([
        Person(unit=school, code=f"AG{n:05d}", full_name=f"Người Đếm {n}",
               category=rng.choice(list(Person.Category.values))) for n in range(PEOPLE)])
    items = burst_items(world, people, rng)
    client = Client()
    client.force_login(organiser_bavi)
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}
    headers = {"X-CSRFToken": CSRF, "Content-Type": "application/json"}
    env, port = child_env(), free_port()
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"counts-agree-{port}.log", "wb")
    proc = start_asgi(env, port, log)
    base = f"http://127.0.0.1:{port}"
    acked, lock = [], threading.Lock()

    def send(share, size):
        with httpx.Client(base_url=base, cookies=cookies, headers=headers, timeout=10) as http:
            for i in range(0, len(share), size):
                chunk = share[i:i + size]
                for _attempt in range(2 if rng.random() < 0.2 else 1):  # a retry: the same client ids again
                    try:
                        r = (http.post("/api/attendance/checkins/", json=chunk[0]) if size == 1 else
                             http.post("/api/attendance/checkins/batch/", json={"items": chunk}))
                    except httpx.HTTPError:
                        return  # the server is gone
                    assert r.status_code == 200, r.text[:300]
                    with lock:
                        acked.extend(x["client_id"] for x in chunk)

    threads = [threading.Thread(target=send, args=(items[k::THREADS], 1 if k % 2 else 4)) for k in range(THREADS)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < KILL_AFTER and time.monotonic() < deadline and any(t.is_alive() for t in threads):
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)  # requests in flight
        proc.wait(10)
        for t in threads:
            t.join(20)
        assert KILL_AFTER <= len(acked), "the kill came before the burst was under way"
        assert not counts.differences([world["session"].pk])  # what committed before the kill agrees
        proc = start_asgi(env, port, log)
        with httpx.Client(base_url=base, cookies=cookies, headers=headers, timeout=30) as http:
            for i in range(0, len(items), 100):
                r = http.post("/api/attendance/checkins/batch/", json={"items": items[i:i + 100]})
                assert r.status_code == 200, r.text[:300]
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()

    session = world["session"]
    assert CheckIn.objects.filter(session=session).count() == len(items)
    assert counts.differences([session.pk]) == []
    call_command("repair_attendance_counts", "--session", str(session.pk), "--check")
    assert "0 differences found" in capsys.readouterr().out
    present = CheckIn.objects.filter(session=session, person__isnull=False).values("person").distinct().count()
    assert present == PEOPLE and rollup.rollup(session, world["t"]["bavi"])["present"] == PEOPLE
    # The chart's arrivals per minute, from the running counts, are what a scan of the rows says.
    scan: dict = {}
    for (_unit, minute), n in counts.recomputed_arrivals(session.pk).items():
        scan[minute] = scan.get(minute, 0) + n
    chart = board.arrivals(session, world["t"]["bavi"])
    assert chart == sorted(scan.items()) and sum(n for _m, n in chart) == PEOPLE and len(chart) >= 15
