"""What the live runtime feeds beside the nodes: the HLS packager and the session's recording.

A mixin of :class:`diemcau.live.runtime.LiveRuntime` (its ``root``, ``hls_dir``, ``hls``, ``record``,
``recording``, ``slots``, ``conference_id`` and ``_orm``): both take the programme's RTP on the root's
own ports, so a slot's forwarders are re-pointed when a recording starts.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("diemcau.live.runtime")


def _finish_recording(row, packager):
    from . import recording  # its models need Django set up; the runtime module does not

    return recording.finish(row, packager)


class ProgrammeOutputs:
    """HLS and the recording of the programme (see the module docstring)."""

    # --- HLS ------------------------------------------------------------------------------------
    def _start_hls(self) -> None:
        if self.hls_dir is None:
            return
        try:
            from .media import HlsPackager
        except ImportError:
            log.warning("no HLS: live/media.py (HlsPackager) is not installed")
            return
        v, a = self.root.port("hls")
        self.hls = HlsPackager("programme", v, a, self.hls_dir)
        self.hls.start()

    async def _programme_source_changed(self) -> None:
        """The main slot carries another source: the packagers (HLS, the recording) follow it."""
        for packager in (self.hls, self.recording[1] if self.recording else None):
            # A new source is a new RTP stream (SSRC, sequence, timestamps): a packager already fed
            # starts again and continues its playlist after a discontinuity (HlsPackager.new_source);
            # one started since (a new recording) has seen no stream yet, and restarting it would
            # leave an empty first segment that the chapters are measured from.
            if packager is not None and packager.fed:
                await asyncio.to_thread(packager.new_source)
            elif packager is not None:
                packager.fed = True

    # --- the recording ------------------------------------------------------------------------------
    async def _follow_recording(self) -> None:
        """Record the session on now: a new recording when the session changes (its window), none between."""
        if not self.record:
            return
        session = await self._orm(self._session_on_now)
        current = self.recording[0].session_id if self.recording else None
        if session == current:
            return
        await self._end_recording()
        if session is not None:
            v, a = self.root.port("recording")
            self.recording = await self._orm(self._start_recording, session, v, a)
            for slot in self.slots.values():  # re-point the forwarders to include the recorder's ports
                slot.source = None

    async def _end_recording(self) -> None:
        """Close the recording under way, if any (its playlist becomes a VOD)."""
        if self.recording is not None:
            await self._orm(_finish_recording, *self.recording)
            self.recording = None

    def _session_on_now(self) -> int | None:
        from django.utils import timezone

        from diemcau.events.models import Session

        now = timezone.now()
        return Session.objects.filter(conference_id=self.conference_id, starts_at__lte=now, ends_at__gte=now) \
            .values_list("pk", flat=True).first()

    def _start_recording(self, session_id: int, v: int, a: int):
        from diemcau.events.models import Session

        from . import recording

        return recording.start(Session.objects.select_related("conference__host_unit").get(pk=session_id), v, a)
