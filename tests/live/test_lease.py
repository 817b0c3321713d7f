"""The live runtime's lease: one runtime holds a PostgreSQL advisory lock; a standby takes it over
within seconds of the holder's connection dying (its process killed, its backend terminated)."""

import threading
import time

import pytest
from django.db import connection

from diemcau.live.lease import RuntimeLease

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_standby_takes_the_lease_when_the_active_runtime_dies():
    if connection.vendor != "postgresql":
        pytest.skip("the lease is an advisory lock of PostgreSQL (on SQLite it is always granted)")
    key = 0x6C656173  # not the product's key: a runtime on this machine may hold that one
    active, standby = RuntimeLease(key=key), RuntimeLease(key=key)
    try:
        assert active.try_acquire() and active.held()
        assert not standby.try_acquire()  # held elsewhere: the standby waits
        taken = threading.Event()
        waiter = threading.Thread(target=lambda: standby.wait(every=0.2) and taken.set(), daemon=True)
        waiter.start()
        time.sleep(0.5)
        assert not taken.is_set()
        pid = active._conn.info.backend_pid
        died = time.monotonic()
        with connection.cursor() as cursor:  # the active runtime's connection dies as with its host
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert taken.wait(5), "the standby did not take the lease"
        failover_s = time.monotonic() - died
        print(f"lease failover {failover_s:.2f} s")
        assert failover_s < 2.0
        assert standby.held() and not active.held()
    finally:
        active.release()
        standby.release()
