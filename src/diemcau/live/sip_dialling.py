"""diemcau dials halls (the gateway's dial-out calls): halls marked "dial out" are called from
shortly before each session of the conference until its end, at their address or where they
registered with Kamailio; a call that drops is dialled again after a bounded backoff
(``DIAL_BACKOFF``); at the session's end the call is hung up. Every attempt is audited
(``live.sip_dialled``, ``live.sip_dial_failed``).

:class:`DialOut` is a part of :class:`~.sip_gateway.SipGateway` (its calls, relay ports, rtpengine
and UAS); a dialled call, once answered, is opened as an incoming one would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass

from .janus_client import JanusError, JanusUnreachable
from .sip_ng import NgError
from .sip_ua import parse_sdp, tag_of

log = logging.getLogger("diemcau.live.sip")

DIAL_LOOK_EVERY = 2.0           # seconds between two looks at which halls diemcau should be calling
DIAL_BACKOFF = (1.0, 60.0)      # a failed or dropped dial-out call is tried again after 1, 2, 4 … 60 s
STABLE_AFTER = 60.0             # a dialled call that lasted this long starts the backoff again at its first step
AUDIO_PT, VIDEO_PT = 111, 107   # what diemcau offers a hall it dials (Opus, H.264 mode 1) on its side


class DialOut:
    """The gateway's dial-out calls (a mixin of :class:`~.sip_gateway.SipGateway`)."""

    async def _dial_halls(self, now: float) -> None:
        """Keep a call up with every dial-out hall while a session runs; hang up those whose session ended."""
        from . import sip

        if now - self._dial_look_at >= DIAL_LOOK_EVERY:
            self._dial_look_at = now
            wanted = await self._orm(sip.halls_to_dial, self.runtime.conference_id)
            self._to_dial = {hall["point_id"]: hall for hall in wanted}
        for call in [c for c in self.calls.values() if c.dialled and c.point_id not in self._to_dial]:
            self._redial_at.pop(call.point_id, None)
            await self.end_call(call, "the session ended", bye=True)
        connected = {c.point_id for c in self.calls.values()}
        for point_id, hall in self._to_dial.items():
            not_before, _delay = self._redial_at.get(point_id, (0.0, 0.0))
            if point_id in connected or point_id in self._dialling or now < not_before:
                continue
            task = asyncio.create_task(self._dial(hall))
            self._dialling[point_id] = task
            task.add_done_callback(lambda _t, p=point_id: self._dialling.pop(p, None))

    def _backoff(self, point_id: int) -> float:
        """The next attempt's delay for the point: 1, 2, 4 … up to the bound."""
        first, bound = self.dial_backoff
        _not_before, delay = self._redial_at.get(point_id, (0.0, 0.0))
        delay = first if not delay else min(bound, delay * 2)
        self._redial_at[point_id] = (asyncio.get_running_loop().time() + delay, delay)
        return delay

    async def _dial(self, hall: dict) -> None:
        """Call one hall: rtpengine's offer (Opus and H.264 on our side; G.722, G.711 too on the hall's),
        the INVITE through Kamailio, then the call opened as an incoming one would be."""
        from . import sip

        point_id = hall["point_id"]
        call_id, from_tag = f"{secrets.token_hex(12)}@diemcau", secrets.token_hex(6)
        srtp = hall["uri"].startswith("sips:") or "transport=tls" in hall["uri"].lower()
        ports = self.pool.take(4)
        ours = offer_sdp("127.0.0.1", ports[0], ports[1], AUDIO_PT, VIDEO_PT, session_id=int(time.time()))
        await self._orm(sip.log_call, point_id, "dialled", call_id=call_id, uri=hall["uri"],
                        registered=hall["registered"])
        code, why = 0, ""
        try:
            code, why = await self._dial_call(hall, call_id, from_tag, ports, ours, srtp)
        except (NgError, JanusError, JanusUnreachable, OSError, TimeoutError) as exc:
            code, why = 500, str(exc)
        finally:
            if code != 200:
                with contextlib.suppress(NgError):
                    await self.ng.command("delete", call_id=call_id, from_tag=from_tag)
        if code != 200:
            delay = self._backoff(point_id)
            log.info("dialling %s failed (%s %s); again in %.0f s", hall["uri"], code, why, delay)
            await self._orm(sip.log_call, point_id, "dial_failed", call_id=call_id, code=code, why=why[:200],
                            retry_in_s=delay)

    async def _dial_call(self, hall: dict, call_id: str, from_tag: str, ports, ours: str,
                         srtp: bool) -> tuple[int, str]:
        offer = await self.ng.command("offer", call_id=call_id, from_tag=from_tag, sdp=ours,
                                      direction=["loop", "hall"], replace=["origin", "session-connection"],
                                      ICE="remove", transport_protocol="RTP/SAVP" if srtp else "RTP/AVP",
                                      codec={"transcode": ["G722", "PCMU", "PCMA"]})
        answer = await self.uas.invite(hall["uri"], offer["sdp"], call_id=call_id, from_tag=from_tag,
                                       registered=hall["registered"])
        code = int(answer.first.split()[1])
        if code != 200:
            return code, answer.first.split(" ", 2)[-1]
        to_tag = tag_of(answer.get("To") or "")
        ours_back = await self.ng.command("answer", call_id=call_id, from_tag=from_tag, to_tag=to_tag,
                                          sdp=answer.body, replace=["origin", "session-connection"], ICE="remove")
        _, media = parse_sdp(ours_back["sdp"])
        engine, streams = {}, []
        for m in media:
            if m.port and m.kind == "audio" and "audio" not in engine:
                engine["audio"] = ((m.address, m.port), AUDIO_PT)
                streams.append({"type": "audio", "mindex": 0, "mid": "0", "codec": "opus"})
            elif m.port and m.kind == "video" and "video" not in engine and VIDEO_PT in m.pts:
                engine["video"] = ((m.address, m.port), VIDEO_PT)
                streams.append({"type": "video", "mindex": 1, "mid": "1", "codec": "h264"})
        system = _Dialled(hall["username"], hall["point_id"], hall["info"])
        if not engine or not self._still_wanted(hall):
            self.uas.bye(call_id)
            return 488 if not engine else 487, "no media in common" if not engine else "no longer wanted"
        for old in [c for c in self.calls.values() if c.point_id == hall["point_id"]]:
            await self.end_call(old, "replaced by a new call", bye=True)
        await self._open_call(call_id, from_tag, to_tag, system, tuple(ports), engine, streams, dialled=True)
        return 200, "OK"

    def _still_wanted(self, hall: dict) -> bool:
        root = self.runtime.root
        return hall["point_id"] in self._to_dial and bool(root.up and root.provisioned
                                                          and self._room_epoch == root.epoch)

    def _dropped(self, call) -> None:
        """A dialled call ended before its session: call again after the backoff (longer for a call that
        keeps dropping; from the first step again after one that lasted ``STABLE_AFTER``)."""
        if asyncio.get_running_loop().time() - call.started >= STABLE_AFTER:
            self._redial_at.pop(call.point_id, None)
        self._backoff(call.point_id)


@dataclass
class _Dialled:
    """The room system a dial-out call is for (what ``_open_call`` reads of a RoomSystem)."""

    sip_username: str
    point_id: int
    picture_update_info: bool


def offer_sdp(address: str, audio_port: int, video_port: int, audio_pt: int, video_pt: int, *,
              session_id: int) -> str:
    """diemcau's side of a call it dials: Opus and H.264 (constrained baseline, packetization-mode 1)."""
    return "\r\n".join([
        "v=0", f"o=diemcau {session_id} {session_id} IN IP4 {address}", "s=diemcau", f"c=IN IP4 {address}", "t=0 0",
        f"m=audio {audio_port} RTP/AVP {audio_pt}", f"a=rtpmap:{audio_pt} opus/48000/2", "a=sendrecv",
        f"m=video {video_port} RTP/AVP {video_pt}", f"a=rtpmap:{video_pt} H264/90000",
        f"a=fmtp:{video_pt} profile-level-id=42e01f;packetization-mode=1",
        f"a=rtcp-fb:{video_pt} nack pli", f"a=rtcp-fb:{video_pt} ccm fir", "a=sendrecv"]) + "\r\n"
