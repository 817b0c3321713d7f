"""rtpengine's control protocol ("ng"): bencoded dictionaries over UDP, each prefixed by a cookie.

    <cookie> d7:command5:offer7:call-id...e   ->   <cookie> d6:result2:ok3:sdp...e

The gateway uses ``offer`` (the hall's SDP in, the SDP for diemcau's side out), ``answer`` (diemcau's
SDP in, the SDP for the hall out), ``delete`` and ``query`` (packet counters per stream, for the
board's figures) and ``ping``. Errors come as ``{"result": "error", "error-reason": ...}``.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any


class NgError(Exception):
    """rtpengine refused a command (its ``error-reason``), or did not answer."""


def bencode(value: Any) -> bytes:
    """Encode ``value`` (dict, list, str, bytes, int, bool) as bencode."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, (list, tuple)):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes) -> Any:
    """Decode one bencoded value; strings come back as ``str`` (UTF-8, replaced if invalid)."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError("trailing data after bencoded value")
    return value


def _decode(data: bytes, i: int) -> tuple[Any, int]:
    lead = data[i:i + 1]
    if lead == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if lead in (b"l", b"d"):
        i += 1
        items = []
        while data[i:i + 1] != b"e":
            item, i = _decode(data, i)
            items.append(item)
        if lead == b"l":
            return items, i + 1
        return dict(zip(items[::2], items[1::2], strict=True)), i + 1
    colon = data.index(b":", i)
    length = int(data[i:colon])
    start = colon + 1
    return data[start:start + length].decode("utf-8", "replace"), start + length


class _Reply(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.waiting: dict[bytes, asyncio.Future] = {}

    def datagram_received(self, data: bytes, addr) -> None:
        cookie, _, body = data.partition(b" ")
        future = self.waiting.pop(cookie, None)
        if future is not None and not future.done():
            future.set_result(body)


class NgClient:
    """One rtpengine's ng port (``host``, ``port``), from asyncio code."""

    def __init__(self, host: str, port: int, timeout: float = 3.0) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _Reply | None = None

    async def _open(self) -> None:
        if self._transport is None:
            loop = asyncio.get_running_loop()
            self._transport, self._protocol = await loop.create_datagram_endpoint(_Reply, remote_addr=self.address)

    async def command(self, command: str, **fields: Any) -> dict[str, Any]:
        """Send one command (fields with ``_`` spelt ``-``); return the reply, or raise NgError."""
        await self._open()
        cookie = secrets.token_hex(6).encode()
        body = {"command": command, **{k.replace("_", "-"): v for k, v in fields.items()}}
        future = asyncio.get_running_loop().create_future()
        self._protocol.waiting[cookie] = future
        for _attempt in range(3):  # UDP: repeat a lost request (rtpengine answers a repeated cookie from cache)
            self._transport.sendto(cookie + b" " + bencode(body))
            try:
                raw = await asyncio.wait_for(asyncio.shield(future), self.timeout / 3)
                break
            except TimeoutError:
                continue
        else:
            self._protocol.waiting.pop(cookie, None)
            raise NgError(f"rtpengine at {self.address} did not answer {command}")
        reply = bdecode(raw)
        if reply.get("result") == "error":
            raise NgError(str(reply.get("error-reason", "error")))
        return reply

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
