"""Waking the live runtime when the programme changes, instead of waiting for its next look.

A switch (``programme.switch_source``: the director's click, a floor granted or taken back) calls
:func:`notify` inside its transaction: PostgreSQL delivers ``NOTIFY`` only when the transaction
commits (never when it rolls back), to every runtime that listens on :data:`CHANNEL`, active or
standby, on any host. The runtime's :class:`Listener` wakes its programme loop at once; its tick
stays as the fallback (a lost connection, SQLite, where ``notify`` does nothing).

The payload is the conference id: one runtime serving several conferences wakes for any of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from django.db import connections

log = logging.getLogger("diemcau.live.wakeup")

CHANNEL = "diemcau_live_programme"
RETRY_EVERY = 2.0  # seconds before a listener whose connection broke connects again


def notify(conference_id: int, using: str = "default") -> None:
    """Tell the runtimes that ``conference_id``'s programme changed (delivered on commit; PostgreSQL only)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(conference_id)])


class Listener:
    """Listens on :data:`CHANNEL` on a connection of its own and calls ``wake(conference_id)``.

    :meth:`run` is a task of the runtime's event loop; it connects again after an error. ``ready``
    is set while it listens (tests wait for it).
    """

    def __init__(self, wake: Callable[[int], None], alias: str = "default") -> None:
        self.wake, self.alias = wake, alias
        self.ready = asyncio.Event()

    @property
    def postgres(self) -> bool:
        return connections[self.alias].vendor == "postgresql"

    async def run(self) -> None:
        if not self.postgres:
            return
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarted, the connection was cut: listen again
                log.warning("runtime wake-up listener: %s", exc)
            self.ready.clear()
            await asyncio.sleep(RETRY_EVERY)

    async def _listen(self) -> None:
        import psycopg

        from .lease import KEEPALIVE

        params = {k: v for k, v in connections[self.alias].get_connection_params().items()
                  if k not in ("cursor_factory", "context", "prepare_threshold")}  # Django's sync classes
        conn = await psycopg.AsyncConnection.connect(**params, **KEEPALIVE, autocommit=True)
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            async for note in conn.notifies():
                with contextlib.suppress(ValueError):
                    self.wake(int(note.payload))
        finally:
            with contextlib.suppress(Exception):  # cancelled mid-wait: close what can be closed
                await conn.close()
