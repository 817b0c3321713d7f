"""The switch as the director's NOTIFY announces it: the live runtime acts on it before reading the database.

A mixin of :class:`diemcau.live.runtime.LiveRuntime` (its ``conference_id``, ``applied_version``,
``_wake``, ``_orm``, ``_desired`` and ``_last_read``): the NOTIFY of a switch carries
``<conference>:<version>:<source>:<point>`` (:mod:`.wakeup`); the runtime re-points the programme from
it and the grants it last read, then reads the database at once, so a switch costs no database round
trip on its path and a grant taken back is still dropped milliseconds later.
"""

from __future__ import annotations

import asyncio
import time

from . import wakeup


class AnnouncedSwitch:
    """The runtime's reading of what to show, announced or read (see the module docstring)."""

    async def _read_desired(self) -> tuple[dict, bool]:
        """Read the programme and the grants (``_desired``); (what to show, announced). A switch
        announced while the database is slow to answer is acted on at once (the look every ``tick``
        must not hold it back); the read then finishes on its own and counts for the next look."""
        read_at = time.monotonic()

        def done(read: asyncio.Future) -> None:
            if not read.cancelled() and read.exception() is None:
                self._last_read = (read_at, read.result())

        reading = asyncio.ensure_future(self._orm(self._desired))
        reading.add_done_callback(done)
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({reading, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
        if not reading.done():
            desired = self._announced_switch()
            if desired is not None:
                return desired, True
        return await reading, False

    def _announcement(self) -> wakeup.Announced | None:
        """The switch announced by its NOTIFY since the runtime last read the programme, if it is newer."""
        hint = wakeup.announced(self.conference_id)
        if hint is None or self._last_read is None:
            return None
        read_at, last = self._last_read
        if hint.heard_at < read_at or hint.version <= max(last["version"], self.applied_version or 0):
            return None
        return hint

    def _announced_switch(self) -> dict | None:
        """What to show from the switch's announcement (``wakeup.announced``) with the grants last read,
        or None to read the database: when none is newer, or it names a point other than the one the
        runtime last saw granted the floor. The database is read again right after (``_wake``), so a
        grant taken back with this switch stops being forwarded (and its publisher kicked) at once."""
        hint = self._announcement()
        if hint is None:
            return None
        last = self._last_read[1]
        if hint.point_id is not None and hint.point_id != last["floor_point"]:
            return None
        self._wake.set()
        return {**last, "version": hint.version, "source": hint.source, "point_id": hint.point_id,
                "point_pub": last["floor_pub"] if hint.point_id is not None else None}
