"""The lean HTTP/1.1 line to Janus (live/janus_wire.py) against a small HTTP server on loopback: one
connection kept for request after request, one the server dropped while idle made again, chunked and
``Connection: close`` answers, a server that never answers. (Against real Janus: tests/live/test_janus.py.)"""

import asyncio

import pytest

from diemcau.live.janus_wire import Wire, WireError


class Server:
    """Answers each request with its path in JSON; ``mode`` says how (length, chunked, close, silent)."""

    def __init__(self) -> None:
        self.connections = 0
        self.mode = "length"
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            await self._answer(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed it

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            body = await reader.readexactly(length)
            reply = b'{"path": "%s", "body": %s}' % (head.split(b" ")[1], body or b"null")
            if self.mode == "silent":
                continue
            if self.mode == "chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             + b"%x\r\n%s\r\n0\r\n\r\n" % (len(reply), reply))
            else:
                close = b"Connection: close\r\n" if self.mode == "close" else b""
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(reply), close, reply))
            await writer.drain()
            if self.mode == "close":
                writer.close()
                return


def test_requests_share_a_kept_alive_connection_and_survive_the_server_dropping_it() -> None:
    async def scenario() -> None:
        server = Server()
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listening.sockets[0].getsockname()[1]
        wire = Wire(f"http://127.0.0.1:{port}/janus")
        for i in range(5):
            status, _reason, body = await wire.request("POST", f"/janus/{i}", b'{"a": 1}')
            assert status == 200 and body == b'{"path": "/janus/%d", "body": {"a": 1}}' % i
        assert server.connections == 1  # kept alive
        await asyncio.gather(*(wire.request("GET", "/janus/info") for _ in range(3)))  # sent together: more
        server.connections = 0
        for writer in server.writers:  # the server drops its idle connections (a restart, a timeout)
            writer.close()
        # Sent before the client heard of it: the answer is an end of file, the request is sent again.
        assert (await wire.request("POST", "/janus/again", b"{}"))[0] == 200
        assert server.connections == 1
        for writer in server.writers:
            writer.close()
        await asyncio.sleep(0.05)  # heard of: not used again
        assert (await wire.request("POST", "/janus/again", b"{}"))[0] == 200
        assert server.connections == 2
        server.mode = "chunked"
        assert (await wire.request("POST", "/janus/chunked", b"{}"))[2] == b'{"path": "/janus/chunked", "body": {}}'
        server.mode = "close"
        for _ in range(2):
            assert (await wire.request("POST", "/janus/close", b"{}"))[0] == 200
        server.mode = "silent"
        with pytest.raises(WireError):
            await wire.request("POST", "/janus/silent", b"{}", timeout=0.3)
        await wire.aclose()
        listening.close()
        with pytest.raises(WireError):  # nobody listening: refused
            await wire.request("POST", "/janus/gone", b"{}")

    asyncio.run(scenario())
