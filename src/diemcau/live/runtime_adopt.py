"""A takeover that keeps what is right: a runtime that takes the lease adopts the nodes' state.

A mixin of :class:`diemcau.live.runtime.LiveRuntime`. The runtime that died left the root's room,
the programme mountpoints on every node and the room's forwarders running; kiosks are watching.
The runtime that takes over (a standby on another host, or the same one restarted) knows the same
secrets (:func:`runtime_secret`, derived from ``SECRET_KEY`` and the conference) and the same lane
(``Programme.lane``: the conference's mountpoint ids and ports on the shared nodes; the day's runtime
does this for every conference of the day), so at its first look at a node it

- keeps the room and the mountpoints it finds (instead of destroying and creating them, which
  hangs up every viewer): :meth:`Adoption._adopt`;
- reads the root's ``listforwarders`` once and, for each programme slot whose wanted source already
  has a forwarder to every target's ports, takes those forwarders as its own (same stream ids: the
  kiosks see nothing): :meth:`Adoption._adopt_slot`; forwarders to the programme's ports that are
  not what is wanted now are stopped with the slot's own when it is re-pointed.

A node that lost its state (restarted) is provisioned from scratch as before.
"""

from __future__ import annotations

import contextlib
import logging

from django.utils.crypto import salted_hmac

from .janus_client import JanusError, JanusUnreachable

log = logging.getLogger("diemcau.live.runtime")


def runtime_secret(purpose: str, conference_id: int) -> str:
    """A secret of the conference's runtime (the room's, the mountpoints', its pass into the room).

    The same in every runtime of the deployment (from ``SECRET_KEY``), so a standby can manage what
    the active one made; nobody else needs it.
    """
    return salted_hmac(f"diemcau.live.runtime.{purpose}", str(conference_id)).hexdigest()[:32]


class Adoption:
    """Adopting the nodes' state at a takeover (see the module docstring)."""

    _adoptable: list[dict] | None = None  # the root's listforwarders at adoption, until the slots are applied

    async def _adopt(self, node) -> bool:
        """Keep the node's room (root) and mountpoints if they are there; True if adopted."""
        from . import layout as live_layout

        try:
            if node is self.root:
                listed = await node.room.list_forwarders(live_layout.room_id(self.conference_id),
                                                         secret=self.room_secret)
            for mp in self.mountpoints.values():  # the conference's lane's (layout.py)
                await node.streaming.info(mp, secret=self.mount_secret)
        except (JanusError, JanusUnreachable, OSError):
            return False  # nothing (or not ours) to keep: provisioned from scratch
        if node is self.root:
            self._adoptable = listed
            self._allowed = None  # unknown: the wanted tokens are added at the next look
        log.info("node %s adopted as it is (%s forwarders on the root)", node.spec.name,
                 sum(len(p.get("forwarders", [])) for p in self._adoptable or []))
        return True

    def _adopt_slot(self, slot, slot_name: str, want: tuple | None, up_nodes: tuple) -> bool:
        """Take the root's forwarders that already carry ``want`` to every target of the slot; True if so.

        Otherwise, forwarders found at adoption that aim at this slot's ports join the slot's own, to be
        stopped before it is re-pointed.
        """
        if self._adoptable is None:
            return False
        targets = self._targets(slot_name)
        ports = {port for _host, v, a in targets for port in (v, a)}
        found = [(int(p["publisher_id"]), int(f["stream_id"]), str(f.get("host", "")), int(f.get("port", 0)))
                 for p in self._adoptable for f in p.get("forwarders", [])]
        mine = [f for f in found if f[3] in ports]
        if want is not None and want[0] == "pub":
            carried = {(host, port) for pub, _sid, host, port in mine if pub == want[1]}
            if targets and all((h, v) in carried or (h, a) in carried for h, v, a in targets):
                slot.source, slot.targets = want, up_nodes
                slot.forwarders = [(pub, sid) for pub, sid, _h, _p in mine if pub == want[1]]
                stale = [(pub, sid) for pub, sid, _h, _p in mine if pub != want[1]]
                slot.stale = stale
                log.info("slot %s: %s forwarders of %s adopted", slot_name, len(slot.forwarders), want[1])
                return True
        slot.forwarders = [*slot.forwarders, *((pub, sid) for pub, sid, _h, _p in mine)]
        return False

    def _adopted(self) -> None:
        """The slots were applied once: what was found at adoption is the slots' own now."""
        self._adoptable = None

    async def _stop_stale(self, room: int, slot) -> None:
        for pub_id, stream_id in slot.stale:
            with contextlib.suppress(JanusError, JanusUnreachable):
                await self.root.room.stop_rtp_forward(room, pub_id, stream_id, secret=self.room_secret)
        slot.stale = []
