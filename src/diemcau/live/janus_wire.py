"""A lean HTTP/1.1 line to one Janus node: kept-alive connections, a request written in one go, the
answer read by its ``Content-Length``.

The live runtime talks to its nodes all the time (the room's guard ten times a second, each node's
health and tokens at every tick, a switch's stops, forward and keyframe request). Through httpx each
request cost ~1–2.5 ms of the runtime's CPU (its connection pool, h11, anyio); on a machine whose cores
the browsers and Janus keep busy, that CPU was the switch's latency (six ``stop_rtp_forward`` sent
together: ~15 ms of CPU). Janus's HTTP transport (libmicrohttpd) answers every request with a
``Content-Length``, so a request here is one write and two reads (~0.2 ms).

What it does not do: redirects, proxies, cookies, compression, HTTP/2. A connection found closed by
the node before any byte of the answer (an idle one it dropped, a restarted node) is made again once;
an answer cut short raises :class:`WireError` (the caller treats it as the node being unreachable).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

KEEP_IDLE = 8  # idle connections kept per node (requests sent together open more; the rest are closed)


class WireError(ConnectionError):
    """The exchange with the node failed (refused, cut, timed out, or not HTTP)."""


class Wire:
    """Requests to one ``http(s)://host:port`` with kept-alive connections (one event loop's at a time).

    :param url: any URL on the node (only its scheme, host and port are used).
    :param tls: the TLS context for ``https`` (one shared context: making one costs ~60 ms of CPU).
    """

    def __init__(self, url: str, tls: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        if not parts.hostname:
            raise ValueError(f"a Janus URL names its host: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.authority = parts.netloc.rpartition("@")[2]
        self.tls = tls if self.https else None
        self._idle: list[tuple[asyncio.AbstractEventLoop, asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, target: str, body: bytes = b"", *,
                      timeout: float = 10.0) -> tuple[int, str, bytes]:
        """Send ``method target`` (a path with its query) with ``body``; (status, reason, body)."""
        head = (f"{method} {target} HTTP/1.1\r\nHost: {self.authority}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(head + body)
        except TimeoutError as exc:
            raise WireError(f"no answer within {timeout} s") from exc
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise WireError(repr(exc)) from exc

    async def _exchange(self, data: bytes) -> tuple[int, str, bytes]:
        for attempt in range(2):
            reader, writer, reused = await self._connection(fresh=attempt > 0)
            status_line = b""
            try:
                writer.write(data)
                status_line = await reader.readline()
                if not status_line:  # closed before answering: it never read the request
                    raise asyncio.IncompleteReadError(b"", None)
                answer, keep = await _read_answer(status_line, reader)
            except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
                writer.close()
                if reused and attempt == 0 and not status_line:
                    continue  # an idle connection the node had closed: once more on a new one
                raise
            except BaseException:  # cancelled or cut mid-answer: the connection is in an unknown state
                writer.close()
                raise
            self._release(reader, writer, keep)
            return answer
        raise WireError("unreachable")  # pragma: no cover

    async def _connection(self, fresh: bool = False) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        loop = asyncio.get_running_loop()
        if fresh:  # the node dropped a kept connection: the others it kept are as dead
            await self.aclose()
        while self._idle:
            owner, reader, writer = self._idle.pop()
            if owner is loop and not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            with contextlib.suppress(Exception):  # another loop's (closed) or one the node closed
                writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.tls,
                                                       server_hostname=self.host if self.tls else None)
        return reader, writer, False

    def _release(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keep: bool) -> None:
        if keep and len(self._idle) < KEEP_IDLE:
            self._idle.append((asyncio.get_running_loop(), reader, writer))
        else:
            writer.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _loop, _reader, writer in idle:
            with contextlib.suppress(Exception):
                writer.close()


async def _read_answer(status_line: bytes, reader: asyncio.StreamReader) -> tuple[tuple[int, str, bytes], bool]:
    """The answer after its status line, and whether the connection may be used again."""
    version, _, rest = status_line.decode("latin-1").strip().partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP answer: {status_line[:60]!r}")
    headers = {}
    for line in (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close" and version != "HTTP/1.0"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunks(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:  # the body runs to the end of the connection
        body, keep = await reader.read(), False
    return (int(code), reason, body), keep


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from Janus: the last empty line
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
