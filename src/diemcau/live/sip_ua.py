"""The gateway's own SIP side: a minimal user agent behind Kamailio, and the SDP it writes.

Kamailio (``deploy/sip/kamailio.cfg.tmpl``) authenticates the hall (digest, per hall), adds
``X-Diemcau-Hall: <SIP username>`` (after removing any the hall sent), record-routes, and relays the
INVITE to this UAS on the loopback. The UAS answers INVITE (100, then 200 with SDP or an error),
acknowledges BYE, CANCEL, INFO and OPTIONS, and can end a call itself (BYE through Kamailio's route).
It trusts ``X-Diemcau-Hall`` only because it listens on the loopback, where only Kamailio reaches it.

It also dials (diemcau calls a hall, :meth:`SipServer.invite`): an INVITE to Kamailio's loopback port,
which relays it to the hall's address or, with ``X-Diemcau-Registered``, where the hall registered;
the 2xx is acknowledged along the dialog's route, any other final answer hop by hop. In either kind
of dialog it can send INFO (a SIP ``picture_fast_update``, which Polycom and Cisco units expect) and BYE.
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


MEDIA_CONTROL = "application/media_control+xml"
PICTURE_FAST_UPDATE = ('<?xml version="1.0" encoding="utf-8" ?>\r\n<media_control><vc_primitive><to_encoder>'
                       "<picture_fast_update/></to_encoder></vc_primitive></media_control>\r\n")


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


# --- the user agent --------------------------------------------------------------------------------
@dataclass
class Dialog:
    """What an in-dialog request of ours needs: our From, their To, the route, the target, the CSeq."""

    local: str             # our side, with its tag (the From of our requests)
    remote: str            # their side, with its tag
    routes: list[str]
    target: str            # their Contact
    addr: tuple            # where requests go (Kamailio's loopback port)
    sdp: str = ""          # what a re-INVITE is answered with (the hall-facing SDP)
    cseq: int = 1
    answered: dict[str, list[int]] = field(default_factory=dict)  # method -> codes of its last answers


@dataclass
class Dialling:
    """An INVITE of ours waiting for its final answer."""

    request: SipMessage
    branch: str
    final: asyncio.Future
    routes: list[str] = field(default_factory=list)


class SipServer(asyncio.DatagramProtocol):
    """The user agent on the loopback: hands INVITE, BYE and INFO to the gateway, answers the rest itself,
    and dials halls for the gateway.

    :param gateway: an object with ``async on_invite(msg, to_tag) -> (code, reason, sdp)``,
        ``async on_bye(call_id)`` and ``async on_picture_update(call_id)``.
    :param address: where it listens (the loopback).
    :param proxy: Kamailio's loopback port, where the INVITEs it dials go.
    """

    def __init__(self, gateway, address: tuple[str, int], proxy: tuple[str, int] | None = None) -> None:
        self.gateway = gateway
        self.address = address
        self.proxy = proxy
        self.transport: asyncio.DatagramTransport | None = None
        self.dialogs: dict[str, Dialog] = {}  # call-id -> the dialog
        self.dialling: dict[str, Dialling] = {}  # call-id -> our INVITE without its final answer

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
        else:
            self._response(msg, addr)

    def send(self, msg: SipMessage, addr) -> None:
        if self.transport is not None:
            self.transport.sendto(msg.encode(), addr)

    def _via(self, branch: str | None = None) -> str:
        branch = branch or f"z9hG4bK{secrets.token_hex(8)}"
        return f"SIP/2.0/UDP {self.address[0]}:{self.address[1]};branch={branch};rport"

    async def _request(self, msg: SipMessage, addr) -> None:
        method = msg.method
        call_id = msg.get("Call-ID") or ""
        if method == "INVITE":
            await self._invite(msg, addr, call_id)
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

    async def _invite(self, msg: SipMessage, addr, call_id: str) -> None:
        if call_id in self.dialogs:  # a re-INVITE (session refresh): keep the media as it is
            dialog = self.dialogs[call_id]
            self.send(response(msg, 200, "OK", to_tag=tag_of(dialog.local), contact=self.contact,
                               body=dialog.sdp), addr)
            return
        self.send(response(msg, 100, "Trying"), addr)
        tag = secrets.token_hex(6)
        try:
            code, reason, sdp = await self.gateway.on_invite(msg, tag)
        except Exception:  # the hall gets an answer whatever went wrong
            log.exception("INVITE failed")
            code, reason, sdp = 500, "Server Error", ""
        if code == 200:
            to = msg.get("To") or ""
            self.dialogs[call_id] = Dialog(local=to if ";tag=" in to else f"{to};tag={tag}",
                                           remote=msg.get("From") or "", routes=msg.all("Record-Route"),
                                           target=uri_of(msg.get("Contact") or msg.get("From") or ""),
                                           addr=addr, sdp=sdp)
        self.send(response(msg, code, reason, to_tag=tag, contact=self.contact if code == 200 else None,
                           body=sdp), addr)

    # --- dialling -----------------------------------------------------------------------------------
    async def invite(self, uri: str, sdp: str, *, call_id: str, from_tag: str, registered: bool = False,
                     timeout: float = 30.0) -> SipMessage:
        """Dial ``uri`` through Kamailio with ``sdp``; the final answer (a 2xx is acknowledged and its
        dialog kept; a hall that does not answer within ``timeout`` is cancelled: a 487 comes back)."""
        branch = f"z9hG4bK{secrets.token_hex(8)}"
        headers = [("Via", self._via(branch)), ("Max-Forwards", "70"),
                   ("From", f"<sip:diemcau@{self.address[0]}>;tag={from_tag}"), ("To", f"<{uri}>"),
                   ("Call-ID", call_id), ("CSeq", "1 INVITE"), ("Contact", self.contact),
                   ("Content-Type", "application/sdp")]
        if registered:
            headers.append(("X-Diemcau-Registered", "1"))
        request = SipMessage(f"INVITE {uri} SIP/2.0", headers, sdp)
        pending = Dialling(request, branch, asyncio.get_running_loop().create_future())
        self.dialling[call_id] = pending
        self.send(request, self.proxy)
        try:
            try:
                answer = await asyncio.wait_for(asyncio.shield(pending.final), timeout)
            except TimeoutError:
                self._cancel(pending)
                answer = await asyncio.wait_for(asyncio.shield(pending.final), 5.0)
        except TimeoutError:
            answer = SipMessage("SIP/2.0 408 Request Timeout", [("Call-ID", call_id)])
        finally:
            self.dialling.pop(call_id, None)
        if answer.first.startswith("SIP/2.0 2"):
            self.dialogs[call_id] = Dialog(local=request.get("From"), remote=answer.get("To") or "",
                                           routes=list(reversed(answer.all("Record-Route"))),
                                           target=uri_of(answer.get("Contact") or uri), addr=self.proxy, sdp=sdp)
        return answer

    def _cancel(self, pending: Dialling) -> None:
        req = pending.request
        headers = [(n, v) for n, v in req.headers if n.lower() in ("via", "from", "to", "call-id", "max-forwards")]
        headers.append(("CSeq", "1 CANCEL"))
        self.send(SipMessage(f"CANCEL {req.first.split()[1]} SIP/2.0", headers), self.proxy)

    def _response(self, msg: SipMessage, addr) -> None:
        call_id = msg.get("Call-ID") or ""
        method = (msg.get("CSeq") or " ").split()[-1]
        code = int(msg.first.split()[1]) if len(msg.first.split()) > 1 else 0
        pending = self.dialling.get(call_id)
        if method == "INVITE" and code >= 200:
            if pending is not None and not pending.final.done():
                pending.final.set_result(msg)
            if code < 300:
                self._ack(msg, call_id)
            elif pending is not None:  # a failure is acknowledged hop by hop (same branch)
                self._ack_failure(pending, msg)
        elif method != "INVITE" and call_id in self.dialogs:
            codes = self.dialogs[call_id].answered.setdefault(method, [])
            codes.append(code)
            del codes[:-20]  # the last answers only (an INFO goes every few seconds all day)

    def _ack(self, answer: SipMessage, call_id: str) -> None:
        """ACK a 2xx of our INVITE (again if it is repeated) along the route it set."""
        routes = list(reversed(answer.all("Record-Route")))
        target = uri_of(answer.get("Contact") or "")
        headers = [("Via", self._via()), *(("Route", r) for r in routes), ("Max-Forwards", "70"),
                   ("From", answer.get("From") or ""), ("To", answer.get("To") or ""), ("Call-ID", call_id),
                   ("CSeq", "1 ACK")]
        self.send(SipMessage(f"ACK {target} SIP/2.0", headers), self.proxy)

    def _ack_failure(self, pending: Dialling, answer: SipMessage) -> None:
        req = pending.request
        headers = [(n, v) for n, v in req.headers if n.lower() in ("via", "from", "call-id", "max-forwards")]
        headers += [("To", answer.get("To") or ""), ("CSeq", "1 ACK")]
        self.send(SipMessage(f"ACK {req.first.split()[1]} SIP/2.0", headers), self.proxy)

    # --- in-dialog requests -------------------------------------------------------------------------
    def _in_dialog(self, call_id: str, method: str, body: str = "", content_type: str = "") -> bool:
        dialog = self.dialogs.get(call_id)
        if dialog is None:
            return False
        dialog.cseq += 1
        headers = [("Via", self._via()), *(("Route", r) for r in dialog.routes), ("Max-Forwards", "70"),
                   ("From", dialog.local), ("To", dialog.remote), ("Call-ID", call_id),
                   ("CSeq", f"{dialog.cseq} {method}")]
        if content_type:
            headers.append(("Content-Type", content_type))
        self.send(SipMessage(f"{method} {dialog.target} SIP/2.0", headers, body), dialog.addr)
        return True

    def picture_update(self, call_id: str) -> bool:
        """Ask the hall for a keyframe with a SIP INFO ``picture_fast_update`` (Polycom, Cisco)."""
        return self._in_dialog(call_id, "INFO", PICTURE_FAST_UPDATE, MEDIA_CONTROL)

    def bye(self, call_id: str) -> None:
        """End a call from diemcau's side: a BYE along the dialog's route (through Kamailio)."""
        if self._in_dialog(call_id, "BYE"):
            self.dialogs.pop(call_id, None)


def tag_of(header: str) -> str:
    """The tag of a From/To value (``<sip:a@b>;tag=1`` -> ``1``), or ""."""
    match = re.search(r";\s*tag=([^;>\s]+)", header)
    return match.group(1) if match else ""
