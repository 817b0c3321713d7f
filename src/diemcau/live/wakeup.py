"""Waking the live runtime when the programme changes, instead of waiting for its next look.

A switch (``programme.switch_source``: the director's click, a floor granted or taken back) calls
:func:`notify` inside its transaction: PostgreSQL delivers ``NOTIFY`` only when the transaction
commits (never when it rolls back), to every runtime that listens on :data:`CHANNEL`, active or
standby, on any host. The runtime's :class:`Listener` wakes its programme loop at once; its tick
stays as the fallback (a lost connection, SQLite, where ``notify`` does nothing).

The payload is the conference id, and for a switch the programme as it commits
(``<conference>:<version>:<source>:<point id>``): one runtime serving several conferences wakes for
any of them, and the one that follows the conference can re-point at once from that announcement
(:func:`announced`) instead of reading the programme back first (a hop to its database thread and five
queries, tens of milliseconds on a busy machine). What may be forwarded is still what the runtime last
read of the floor's grant: it reads the database again right after such a switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import NamedTuple

from django.db import connections

log = logging.getLogger("diemcau.live.wakeup")

CHANNEL = "diemcau_live_programme"
RETRY_EVERY = 2.0  # seconds before a listener whose connection broke connects again


class Announced(NamedTuple):
    """A programme as a switch committed it (the NOTIFY's payload)."""

    version: int
    source: str
    point_id: int | None
    heard_at: float  # time.monotonic() when this process heard it


_announced: dict[int, Announced] = {}  # conference id -> its last announced programme (this process)


def notify(conference_id: int, using: str = "default", programme=None) -> None:
    """Tell the runtimes that ``conference_id``'s programme changed (delivered on commit; PostgreSQL only);
    ``programme``: the row as saved, announced with it."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    payload = str(conference_id)
    if programme is not None:
        payload += f":{programme.version}:{programme.source}:{programme.point_id or ''}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


def announced(conference_id: int) -> Announced | None:
    """The last programme announced for ``conference_id`` to this process's listeners, if any."""
    return _announced.get(conference_id)


def _heard(payload: str) -> int:
    """Note what a payload announces; the conference id it names."""
    cid, *rest = payload.split(":")
    conference_id = int(cid)
    if len(rest) == 3:
        version, source, point = rest
        _announced[conference_id] = Announced(int(version), source, int(point) if point else None, time.monotonic())
    return conference_id


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
                    self.wake(_heard(note.payload))
        finally:
            with contextlib.suppress(Exception):  # cancelled mid-wait: close what can be closed
                await conn.close()
