"""The runtime's lease: one active live runtime, standbys waiting to take over.

The day's runtime (``run_live``: every conference of the day) holds :data:`LEASE_KEY`; a standby that
takes it over adopts every conference (``runtime_day.py``, ``runtime_adopt.py``). ``run_live
--conference N`` (one conference alone) holds a key of that conference's.

A PostgreSQL session-level advisory lock held on a connection of the lease's own (not Django's, which
is closed and reopened between requests). PostgreSQL releases it the moment the holder's connection
ends — a runtime killed, its host gone (once TCP keepalives notice) — and a standby polling every
``POLL_EVERY`` seconds takes it over. On SQLite (one machine, the demo) the lease is always granted.

    lease = RuntimeLease()
    lease.wait(stop)       # blocks until this process holds the lease (or ``stop`` is set)
    ...                    # run the runtime; lease.held() tells whether it still does
    lease.release()
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import connections

log = logging.getLogger("diemcau.live.lease")

LEASE_KEY = 0x6469656D  # "diem": the one lock id of the live runtime
POLL_EVERY = 1.0  # seconds between a standby's attempts
# The holder's connection is dropped by the server within seconds of its host going silent.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 2, "keepalives_interval": 1, "keepalives_count": 3}


class RuntimeLease:
    """The live runtime's advisory lock on the default database."""

    def __init__(self, alias: str = "default", key: int = LEASE_KEY) -> None:
        self.alias, self.key = alias, key
        self._conn = None
        self.acquired_at: float | None = None

    @property
    def postgres(self) -> bool:
        return connections[self.alias].vendor == "postgresql"

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True if this process holds it now."""
        if not self.postgres:
            self.acquired_at = self.acquired_at or time.monotonic()
            return True
        import psycopg

        if self._conn is None or self._conn.closed:
            params = connections[self.alias].get_connection_params()
            self._conn = psycopg.connect(**{**params, **KEEPALIVE}, autocommit=True)
        got = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]
        if got and self.acquired_at is None:
            self.acquired_at = time.monotonic()
            log.info("this runtime holds the lease")
        return bool(got)

    def wait(self, stop: threading.Event | None = None, every: float = POLL_EVERY) -> bool:
        """Block until the lease is ours (True) or ``stop`` is set (False)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                if self.try_acquire():
                    return True
            except Exception as exc:  # the database away: a standby keeps trying
                log.warning("lease: %s", exc)
                self._close()
            stop.wait(every)
        return False

    def held(self) -> bool:
        """Whether this process still holds the lease (its connection is alive)."""
        if not self.postgres:
            return self.acquired_at is not None
        if self._conn is None or self._conn.closed or self.acquired_at is None:
            return False
        try:
            self._conn.execute("SELECT 1")
        except Exception:
            self._close()
            return False
        return True

    def release(self) -> None:
        self._close()

    def _close(self) -> None:
        self.acquired_at = None
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
