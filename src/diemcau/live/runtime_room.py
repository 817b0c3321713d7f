"""What the live runtime does in the root's room: the forwarders, the keyframes (also the clock that asks
the sources on air for one every second), the room's guard.

A mixin of :class:`diemcau.live.runtime.LiveRuntime` (its ``root``, ``nodes``, ``slots``, ``conference_id``,
``room_secret``, ``room_token``, ``keyframes``, ``_trace`` and the guard's state): only ids diemcau
granted are forwarded, every other participant is kicked (``GUARD_EVERY``), the room's ``allowed`` list
holds only the tokens that may join now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from .janus_client import JanusError, JanusUnreachable

log = logging.getLogger("diemcau.live.runtime")

GUARD_EVERY = 0.1  # seconds between two looks at the root room's participants (squatters kicked)
KEYFRAME_EVERY = 1.0  # seconds between two keyframes asked of the sources on air (the room's fir_freq is 0)


class RootRoom:
    """The root's room as the runtime keeps it (see the module docstring)."""

    async def _set_allowed(self, tokens: set[str]) -> None:
        """Keep the root room's ``allowed`` list to ``tokens`` (checked by Janus when someone joins)."""
        from . import layout as live_layout

        room = live_layout.room_id(self.conference_id)
        if tokens != self._allowed:
            # A freshly provisioned room was created allowing the runtime's own token alone.
            current = self._allowed if self._allowed is not None else {self.room_token}
            if current - tokens:
                await self.root.room.allowed(room, "remove", sorted(current - tokens), secret=self.room_secret)
            if tokens - current:
                await self.root.room.allowed(room, "add", sorted(tokens - current), secret=self.room_secret)
            self._allowed = set(tokens)

    async def _guard(self) -> None:
        """Every ``GUARD_EVERY`` seconds, kick the root room's participants diemcau did not grant."""
        while True:
            await asyncio.sleep(GUARD_EVERY)
            if self._granted is None or not self.root.up or not self.root.provisioned:
                continue
            try:
                await self._kick_ungranted(self._granted)
            except (JanusError, JanusUnreachable, TimeoutError, OSError) as exc:
                log.debug("guard: %s", exc)

    async def _keyframe_clock(self) -> None:
        """Every ``KEYFRAME_EVERY``, ask the publishers on air for a keyframe unless one was asked since
        (the room's ``fir_freq`` did it for every publisher: see :mod:`.keyframes` for why not)."""
        from . import layout as live_layout

        while True:
            await asyncio.sleep(KEYFRAME_EVERY / 4)
            on_air = {s.source[1] for s in self.slots.values() if s.source and s.source[0] == "pub"}
            if self.keyframes is None or not on_air or not self.root.up:
                continue
            due = [p for p in on_air if time.monotonic() - self.keyframes.asked_at.get(p, 0.0) >= KEYFRAME_EVERY]
            for pub_id in due:
                with contextlib.suppress(JanusError, JanusUnreachable, TimeoutError, OSError):
                    await self.keyframes.ask(live_layout.room_id(self.conference_id), pub_id)

    async def _kick_ungranted(self, granted: set[int]) -> None:
        from . import layout as live_layout

        room = live_layout.room_id(self.conference_id)
        for participant in await self._guard_room.list_participants(room):
            pid = int(participant["id"])
            if pid in granted or pid in self._own_ids:
                continue
            with contextlib.suppress(JanusError):  # gone already (428)
                await self._guard_room.kick(room, pid, secret=self.room_secret)
                log.warning("kicked publisher %s (%r) from the root's room: not granted", pid,
                            str(participant.get("display", ""))[:40])
            self.kicked = [*self.kicked[-49:], (pid, asyncio.get_running_loop().time())]
            self._publishers_cache = None  # look again before forwarding anything

    async def _check_forwarders(self) -> None:
        """Forwarders vanish when their publisher leaves (a kiosk reconnecting): make them again."""
        from . import layout as live_layout

        expected = [s for s in self.slots.values() if s.forwarders]
        if not expected:
            return
        listed = await self.root.room.list_forwarders(live_layout.room_id(self.conference_id), secret=self.room_secret)
        alive = {(int(p["publisher_id"]), int(f["stream_id"])) for p in listed for f in p.get("forwarders", [])}
        for slot in expected:
            if not all(f in alive for f in slot.forwarders):
                slot.source = None

    async def _stop_forwarder(self, room: int, pub_id: int, stream_id: int) -> None:
        with contextlib.suppress(JanusError, JanusUnreachable):
            await self.root.room.stop_rtp_forward(room, pub_id, stream_id, secret=self.room_secret)

    async def _stop_forwarders(self, room: int, forwarders: list[tuple[int, int]]) -> None:
        """Stop forwarders all at once: one request per stream (Janus has no batch stop), sent together."""
        if forwarders:
            if self._trace is not None:
                self._trace["stopping_at"] = time.time()
                self._trace["cpu_at"] = time.thread_time()  # the re-pointing's CPU, for a loaded machine
            await asyncio.gather(*(self._stop_forwarder(room, *f) for f in forwarders))
        if self._trace is not None:
            self._trace["stopped_at"] = time.time()

    async def _swap_forwarders(self, room: int, old: list[tuple[int, int]], pub_id: int, mids: dict[str, str],
                               targets: list[tuple[str, int, int]]) -> list[tuple[int, int]] | None:
        """A switch's forwarders: the old ones stopped all at once, then the new source forwarded to every
        target in ONE ``rtp_forward`` (each stream names its own host); the new forwarders, or None if
        Janus refused.

        The old ones go first: a programme mountpoint fed by two sources at once would see their packets
        interleaved (Janus rewrites each change of SSRC as a new stream), garbling the picture.
        """
        await self._stop_forwarders(room, old)
        streams = []
        for host, vport, aport in targets:
            if "video" in mids:
                streams.append({"mid": mids["video"], "host": host, "port": vport, "pt": 96})
            if "audio" in mids:
                streams.append({"mid": mids["audio"], "host": host, "port": aport, "pt": 111})
        if not streams:
            return []
        try:
            made = await self.root.room.rtp_forward(room, pub_id, host=targets[0][0], streams=streams,
                                                    secret=self.room_secret)
        except (JanusError, JanusUnreachable) as exc:
            log.warning("rtp_forward of %s failed: %s", pub_id, exc)
            return None
        if self._trace is not None:
            self._trace["forwarded_at"] = time.time()
        return [(pub_id, int(f["stream_id"])) for f in made]

    async def _ask_keyframe(self, room: int, pub_id: int, after: float = 0.0) -> None:
        if after:
            await asyncio.sleep(after)
        with contextlib.suppress(JanusError, JanusUnreachable, TimeoutError, OSError):
            await self.keyframes.ask(room, pub_id)
        if self._trace is not None and not after:
            self._trace["keyframe_at"] = time.time()
            if "cpu_at" in self._trace:  # CPU of this thread from the first stop to the keyframe asked
                self._trace["repoint_cpu_ms"] = round((time.thread_time() - self._trace["cpu_at"]) * 1000, 2)

    def _targets(self, slot_name: str) -> list[tuple[str, int, int]]:
        targets = [(n.address, *n.port(slot_name)) for n in self.nodes if n.up]
        targets += self.extra_targets.get(slot_name, [])
        if slot_name == "main" and self.hls is not None:
            targets.append(("127.0.0.1", *self.root.port("hls")))
        if slot_name == "main" and self.record:
            targets.append(("127.0.0.1", *self.root.port("recording")))
        from . import renditions  # the hook of the low and audio-only renditions (live/renditions.py)
        targets += renditions.programme_targets(self, slot_name)
        return targets
