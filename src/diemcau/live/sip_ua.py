"""The gateway's own SIP side: a minimal user agent server behind Kamailio, and the SDP it writes.

Kamailio (``deploy/sip/kamailio.cfg.tmpl``) authenticates the hall (digest, per hall), adds
``X-Diemcau-Hall: <SIP username>`` (after removing any the hall sent), record-routes, and relays the
INVITE to this UAS on the loopback. The UAS answers INVITE (100, then 200 with SDP or an error),
acknowledges BYE, CANCEL, INFO and OPTIONS, and can end a call itself (BYE through Kamailio's route).
It trusts ``X-Diemcau-Hall`` only because it listens on the loopback, where only Kamailio reaches it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass, field

log = logging.getLogger("diemcau.live.sip")

HALL_HEADER = "X-Diemcau-Hall"


@dataclass
class SipMessage:
    """A parsed SIP request or response: first line, headers (name as sent, in order), body."""

    first: str
    headers: list[tuple[str, str]]
    body: str = ""

    @classmethod
    def parse(cls, data: bytes) -> SipMessage:
        text = data.decode("utf-8", "replace")
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:  # folded header
                name, value = headers[-1]
                headers[-1] = (name, value + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            headers.append((_long_name(name.strip()), value.strip()))
        return cls(lines[0], headers, body)

    @property
    def method(self) -> str:
        return self.first.split(" ", 1)[0]

    @property
    def is_request(self) -> bool:
        return not self.first.startswith("SIP/2.0")

    def get(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def encode(self) -> bytes:
        body = self.body.encode()
        headers = [(n, v) for n, v in self.headers if n.lower() != "content-length"]
        lines = [self.first, *(f"{n}: {v}" for n, v in headers), f"Content-Length: {len(body)}", "", ""]
        return "\r\n".join(lines).encode() + body


_COMPACT = {"v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact", "l": "Content-Length",
            "c": "Content-Type"}


def _long_name(name: str) -> str:
    return _COMPACT.get(name.lower(), name) if len(name) == 1 else name


def response(request: SipMessage, code: int, reason: str, *, to_tag: str | None = None,
             contact: str | None = None, body: str = "") -> SipMessage:
    """A response to ``request`` (Via, From, To, Call-ID, CSeq and Record-Route copied)."""
    headers = [(n, v) for n, v in request.headers if n.lower() in ("via", "from", "call-id", "cseq", "record-route")]
    to = request.get("To") or ""
    if to_tag and ";tag=" not in to:
        to = f"{to};tag={to_tag}"
    headers.insert(2, ("To", to))
    if contact:
        headers.append(("Contact", contact))
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return SipMessage(f"SIP/2.0 {code} {reason}", headers, body)


def uri_of(header: str) -> str:
    """The URI inside a From/To/Contact value (``"x" <sip:a@b>;tag=1`` -> ``sip:a@b``)."""
    match = re.search(r"<([^>]+)>", header)
    return match.group(1) if match else header.split(";", 1)[0].strip()


# --- SDP -------------------------------------------------------------------------------------------
@dataclass
class Media:
    """One m= section: kind, port, payload types and their rtpmap/fmtp lines."""

    kind: str
    port: int
    proto: str
    pts: list[int]
    rtpmap: dict[int, str] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    address: str = ""

    def pt_for(self, codec: str, need: str = "") -> int | None:
        """The first payload type whose rtpmap names ``codec`` (and whose fmtp holds ``need``)."""
        for pt in self.pts:
            if self.rtpmap.get(pt, "").lower().startswith(codec.lower() + "/") and need in self.fmtp.get(pt, ""):
                return pt
        return None


def parse_sdp(sdp: str) -> tuple[str, list[Media]]:
    """The session's connection address and its media sections."""
    address, media = "", []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("c=IN IP4 "):
            if media:
                media[-1].address = line.split()[-1]
            else:
                address = line.split()[-1]
        elif line.startswith("m="):
            kind, port, proto, *pts = line[2:].split()
            media.append(Media(kind, int(port), proto, [int(p) for p in pts if p.isdigit()]))
        elif media and line.startswith("a=rtpmap:"):
            pt, _, value = line[9:].partition(" ")
            media[-1].rtpmap[int(pt)] = value.strip()
        elif media and line.startswith("a=fmtp:"):
            pt, _, value = line[7:].partition(" ")
            media[-1].fmtp[int(pt)] = value.strip()
    for m in media:
        m.address = m.address or address
    return address, media


def answer_sdp(address: str, offered: list[Media], chosen: dict[int, tuple[int, int, str, str]], *,
               session_id: int) -> str:
    """diemcau's answer, one m= line per offered one: ``chosen[index]`` = (port, pt, rtpmap, fmtp);
    an m= line not chosen is refused (port 0), as RFC 3264 wants."""
    lines = ["v=0", f"o=diemcau {session_id} {session_id} IN IP4 {address}", "s=diemcau", f"c=IN IP4 {address}",
             "t=0 0"]
    for index, media in enumerate(offered):
        if index not in chosen:
            lines.append(f"m={media.kind} 0 {media.proto} {media.pts[0] if media.pts else 0}")
            continue
        port, pt, rtpmap, fmtp = chosen[index]
        lines += [f"m={media.kind} {port} RTP/AVP {pt}", f"a=rtpmap:{pt} {rtpmap}"]
        if fmtp:
            lines.append(f"a=fmtp:{pt} {fmtp}")
        if media.kind == "video":
            lines += [f"a=rtcp-fb:{pt} nack pli", f"a=rtcp-fb:{pt} ccm fir"]
        lines.append("a=sendrecv")
    return "\r\n".join(lines) + "\r\n"


# --- the UAS ---------------------------------------------------------------------------------------
class SipServer(asyncio.DatagramProtocol):
    """The UAS on the loopback: hands INVITE and BYE to the gateway, answers the rest itself.

    :param gateway: an object with ``async on_invite(msg) -> (code, reason, sdp)`` and
        ``async on_bye(call_id)``.
    """

    def __init__(self, gateway, address: tuple[str, int]) -> None:
        self.gateway = gateway
        self.address = address
        self.transport: asyncio.DatagramTransport | None = None
        self.dialogs: dict[str, dict] = {}  # call-id -> what a BYE of ours needs

    def connection_made(self, transport) -> None:
        self.transport = transport

    @property
    def contact(self) -> str:
        return f"<sip:diemcau@{self.address[0]}:{self.address[1]}>"

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            msg = SipMessage.parse(data)
        except (ValueError, IndexError):
            return
        if msg.is_request:
            asyncio.get_running_loop().create_task(self._request(msg, addr))

    def send(self, msg: SipMessage, addr) -> None:
        if self.transport is not None:
            self.transport.sendto(msg.encode(), addr)

    async def _request(self, msg: SipMessage, addr) -> None:
        method = msg.method
        call_id = msg.get("Call-ID") or ""
        if method == "INVITE":
            if call_id in self.dialogs:  # a re-INVITE (session refresh): keep the media as it is
                self.send(response(msg, 200, "OK", to_tag=self.dialogs[call_id]["tag"], contact=self.contact,
                                   body=self.dialogs[call_id]["sdp"]), addr)
                return
            self.send(response(msg, 100, "Trying"), addr)
            tag = secrets.token_hex(6)
            try:
                code, reason, sdp = await self.gateway.on_invite(msg, tag)
            except Exception:  # the hall gets an answer whatever went wrong
                log.exception("INVITE failed")
                code, reason, sdp = 500, "Server Error", ""
            if code == 200:
                self.dialogs[call_id] = {"tag": tag, "sdp": sdp, "request": msg, "addr": addr, "cseq": 1}
            self.send(response(msg, code, reason, to_tag=tag, contact=self.contact if code == 200 else None,
                               body=sdp), addr)
        elif method == "BYE":
            self.send(response(msg, 200, "OK"), addr)
            self.dialogs.pop(call_id, None)
            await self.gateway.on_bye(call_id)
        elif method == "CANCEL":
            self.send(response(msg, 200, "OK"), addr)
        elif method in ("OPTIONS", "INFO", "UPDATE", "NOTIFY"):
            if method == "INFO" and "picture_fast_update" in msg.body:
                await self.gateway.on_picture_update(call_id)
            self.send(response(msg, 200, "OK"), addr)
        elif method != "ACK":
            self.send(response(msg, 405, "Method Not Allowed"), addr)

    def bye(self, call_id: str) -> None:
        """End a call from diemcau's side: a BYE along the dialog's route (through Kamailio)."""
        dialog = self.dialogs.pop(call_id, None)
        if dialog is None:
            return
        invite: SipMessage = dialog["request"]
        routes = invite.all("Record-Route")
        target = uri_of(invite.get("Contact") or invite.get("From") or "")
        to = f"{invite.get('From')}"
        frm = f"{invite.get('To')};tag={dialog['tag']}" if ";tag=" not in (invite.get("To") or "") else invite.get("To")
        via = f"SIP/2.0/UDP {self.address[0]}:{self.address[1]};branch=z9hG4bK{secrets.token_hex(8)};rport"
        headers = [("Via", via),
                   *(("Route", r) for r in routes), ("Max-Forwards", "70"), ("From", frm), ("To", to),
                   ("Call-ID", call_id), ("CSeq", "2 BYE")]
        self.send(SipMessage(f"BYE {target} SIP/2.0", headers), dialog["addr"])
