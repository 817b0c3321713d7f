"""Keyframe requests: the new source of a switch is asked for a keyframe at once.

Janus 1.1.2 sends a publisher no keyframe request (PLI) when a forwarder is added, and a Streaming
viewer cannot ask an RTP source for one; without a request the kiosks wait for the source's next
keyframe (the room's ``fir_freq``, about 1.6–1.9 s measured from the director's click). So whenever
the runtime points forwarders at a publisher (a switch, an edge provisioned or re-pointed), it sends
VideoRoom ``configure`` with ``keyframe: true`` to the *publisher's own handle* — diemcau's api_secret
may address any session's handle.

The room asks no publisher for keyframes by itself (``fir_freq`` 0): Chromium obeys at most one keyframe
request per 300 ms (WebRTC's ``EncoderRtcpFeedback``, ``min_keyframe_send_interval``) and ignores the
others, so the room's periodic request to *every* publisher made the switch's own request to the next
source miss about one switch in three (the kiosks then waited for :data:`KEYFRAME_AGAIN`'s). The runtime
asks the sources *on air* every second instead (``RootRoom._keyframe_clock``: HLS and recordings cut
their segments on keyframes, a viewer that lost a packet recovers), and the next source is asked by
the switch alone.

The handle is found through the Admin API: ``list_sessions``, ``list_handles``, ``handle_info``
(whose ``plugin_specific`` names the VideoRoom participant's ``room`` and ``id``). The search runs when
a granted publisher first appears (:meth:`Keyframes.locate`, off the switch's path) and the answer is
kept until Janus says the session or handle is gone (458/459), when it is searched once more.
"""

from __future__ import annotations

import logging
import time

from .janus_client import VIDEOROOM, JanusAdmin, JanusClient, JanusError

log = logging.getLogger("diemcau.live.keyframes")

NO_SUCH_SESSION = 458
NO_SUCH_HANDLE = 459


class Keyframes:
    """Finds the VideoRoom handles of a room's publishers on one node and asks them for keyframes.

    :param client: the node's Janus API client (with the api_secret).
    :param admin_url: the node's Admin API; :param admin_secret: its secret.
    """

    def __init__(self, client: JanusClient, admin_url: str, admin_secret: str) -> None:
        self.client = client
        self.admin_url, self.admin_secret = admin_url, admin_secret
        self.handles: dict[int, tuple[int, int]] = {}  # publisher id -> (session id, handle id)
        self.asked: list[tuple[int, bool]] = []  # (publisher id, request accepted) of the last requests
        # publisher id -> time.monotonic() of the last request, accepted or not: the clock that asks the
        # sources on air once a second must not walk the Admin API four times a second for a publisher
        # it cannot locate (a SIP hall is a remote publisher: it has no handle to find)
        self.asked_at: dict[int, float] = {}

    async def locate(self, room: int, publishers: set[int]) -> None:
        """Find the handles of those ``publishers`` in ``room`` not found yet (one Admin API walk)."""
        wanted = set(publishers) - set(self.handles)
        if not wanted:
            return
        async with JanusAdmin(self.admin_url, self.admin_secret, timeout=3.0) as admin:
            for session_id in await admin.list_sessions():
                for handle_id in await _handles(admin, session_id):
                    info = await _handle_info(admin, session_id, handle_id)
                    mine = info.get("plugin_specific") or {}
                    if info.get("plugin") != VIDEOROOM or mine.get("type") != "publisher":
                        continue
                    pub_id = int(mine.get("id") or 0)
                    if int(mine.get("room") or 0) == room and pub_id in wanted:
                        self.handles[pub_id] = (session_id, handle_id)
                        wanted.discard(pub_id)
                    if not wanted:
                        return

    def forget(self, publishers: set[int]) -> None:
        """Drop the handles of publishers no longer in the room."""
        for pub_id in set(self.handles) - set(publishers):
            del self.handles[pub_id]
        for pub_id in set(self.asked_at) - set(publishers):
            del self.asked_at[pub_id]

    async def ask(self, room: int, pub_id: int) -> bool:
        """Ask ``pub_id`` for a keyframe now; True if Janus accepted the request."""
        self.asked_at[pub_id] = time.monotonic()
        for attempt in range(2):
            if pub_id not in self.handles:
                await self.locate(room, {pub_id})
            where = self.handles.get(pub_id)
            if where is None:
                break
            try:
                await self.client.request(f"/{where[0]}/{where[1]}",
                                          {"janus": "message", "body": {"request": "configure", "keyframe": True}})
            except JanusError as exc:
                if exc.code in (NO_SUCH_SESSION, NO_SUCH_HANDLE) and attempt == 0:
                    self.handles.pop(pub_id, None)  # the publisher reconnected: look again
                    continue
                log.warning("keyframe request to %s refused: %s", pub_id, exc)
                break
            self._note(pub_id, True)
            return True
        self._note(pub_id, False)
        return False

    def _note(self, pub_id: int, ok: bool) -> None:
        self.asked = [*self.asked[-49:], (pub_id, ok)]


async def _handles(admin: JanusAdmin, session_id: int) -> list[int]:
    try:
        return await admin.list_handles(session_id)
    except JanusError:  # the session ended while we looked
        return []


async def _handle_info(admin: JanusAdmin, session_id: int, handle_id: int) -> dict:
    try:
        return await admin.handle_info(session_id, handle_id)
    except JanusError:
        return {}
