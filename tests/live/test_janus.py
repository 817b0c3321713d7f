"""The media plane's foundation against the real Janus 1.1.2: nodes, tokens, keys, rooms, mountpoints."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import websockets

from diemcau.live.janus_client import (
    HANDLE_NOT_FOUND,
    SESSION_NOT_FOUND,
    STREAMING,
    UNAUTHORIZED,
    UNAUTHORIZED_PLUGIN,
    VIDEOROOM,
    JanusAdmin,
    JanusClient,
    JanusError,
    JanusUnreachable,
)
from diemcau.live.janus_node import JanusNode, JanusNodeError
from diemcau.live.janus_plugins import Streaming, VideoRoom

# Plugin error codes (janus_videoroom.c, janus_streaming.c) the tests expect.
VIDEOROOM_NO_SUCH_ROOM = 426
VIDEOROOM_MISSING_ELEMENT = 429
VIDEOROOM_UNAUTHORIZED = 433
STREAMING_MISSING_ELEMENT = 453
STREAMING_NO_SUCH_MOUNTPOINT = 455
STREAMING_UNAUTHORIZED = 457

DISCARD = [{"mid": "0", "port": 9}]  # a forwarder target nobody listens on (the discard port)


def _host_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.123", 9))
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") else address


def test_render_writes_the_node_folder(tmp_path: Path) -> None:
    node = JanusNode("edge-1", 24000, folder=tmp_path / "edge-1")
    conf = node.render()

    names = sorted(p.name for p in conf.iterdir())
    assert names == [
        "janus.jcfg",
        "janus.plugin.streaming.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.http.jcfg",
        "janus.transport.websockets.jcfg",
    ]
    for path in conf.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # they carry the secrets
    core = (conf / "janus.jcfg").read_text()
    assert f'api_secret = "{node.api_secret}"' in core
    assert "token_auth = true" in core
    assert 'rtp_port_range = "24100-24599"' in core
    assert "libjanus_nanomsg.so" in core  # in the transports' disable list
    assert "\tice_enforce_list" not in core  # unset: see test_loopback_ice_is_refused
    http = (conf / "janus.transport.http.jcfg").read_text()
    assert "port = 24000" in http and "admin_port = 24002" in http and 'ip = "127.0.0.1"' in http
    videoroom = (conf / "janus.plugin.videoroom.jcfg").read_text()
    assert f'admin_key = "{node.admin_key}"' in videoroom and "lock_rtp_forward = true" in videoroom
    streaming = (conf / "janus.plugin.streaming.jcfg").read_text()
    assert 'rtp_port_range = "24600-24999"' in streaming
    assert node.admin_secret not in (tmp_path / "edge-1" / "node.json").read_text()


def test_loopback_ice_is_refused() -> None:
    # Janus 1.1.2 skips loopback interfaces when gathering, so "lo" would silently mean "everything".
    for value in ("lo", "127.0.0.1", "eth0,lo"):
        with pytest.raises(JanusNodeError, match="cannot keep ICE on loopback"):
            JanusNode("root", 24000, ice_enforce_list=value)


def test_node_starts_and_answers_on_loopback_only(janus_node: JanusNode) -> None:
    async def scenario() -> dict:
        async with JanusClient.for_node(janus_node) as client:
            await client.ping()
            return await client.info()

    info = asyncio.run(scenario())
    assert info["version_string"] == "1.1.2"
    assert info["server-name"] == "diemcau-root"
    assert set(info["plugins"]) == {VIDEOROOM, STREAMING}
    assert set(info["transports"]) == {"janus.transport.http", "janus.transport.websockets"}
    assert info["auth_token"] is True and info["api_secret"] is True
    address = _host_address()
    if address is not None:
        for port in (janus_node.ports.http, janus_node.ports.ws, janus_node.ports.admin):
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=1).close()
    assert "Starting Meetecho Janus (WebRTC Server) v1.1.2" in janus_node.log_path.read_text()


def test_request_without_token_is_refused(janus_node: JanusNode) -> None:
    async def scenario() -> None:
        async with JanusClient(janus_node.http_url) as anonymous:
            with pytest.raises(JanusError) as refused:
                await anonymous.create_session()
            assert refused.value.code == UNAUTHORIZED
        async with JanusClient(janus_node.http_url, token="made-up") as guesser:
            with pytest.raises(JanusError) as refused:
                await guesser.create_session()
            assert refused.value.code == UNAUTHORIZED
        async with JanusAdmin(janus_node.admin_url, "wrong-secret") as intruder:
            with pytest.raises(JanusError) as refused:
                await intruder.add_token("mine")
            assert refused.value.code == UNAUTHORIZED

    asyncio.run(scenario())


def test_websockets_api_takes_tokens_too(janus_node: JanusNode) -> None:
    async def scenario() -> None:
        async with JanusAdmin.for_node(janus_node) as admin:
            await admin.add_token("ws-token", [STREAMING])
        async with websockets.connect(janus_node.ws_url, subprotocols=["janus-protocol"]) as ws:
            await ws.send(json.dumps({"janus": "create", "transaction": "t1", "token": "not-issued"}))
            assert json.loads(await ws.recv())["error"]["code"] == UNAUTHORIZED
            await ws.send(json.dumps({"janus": "create", "transaction": "t2", "token": "ws-token"}))
            created = json.loads(await ws.recv())
            assert (created["janus"], created["transaction"]) == ("success", "t2")

    asyncio.run(scenario())


def test_token_issued_through_admin_api_works_and_can_be_revoked(janus_node: JanusNode) -> None:
    async def scenario() -> None:
        async with JanusAdmin.for_node(janus_node) as admin:
            assert await admin.add_token("viewer-1", [STREAMING]) == [STREAMING]
            assert set(await admin.add_token("anything")) == {STREAMING, VIDEOROOM}  # no list: every plugin
            tokens = await admin.list_tokens()
            assert tokens["viewer-1"] == [STREAMING]
            async with JanusClient(janus_node.http_url, token="viewer-1") as browser:
                session = await browser.create_session()
                await session.attach(STREAMING)
                with pytest.raises(JanusError) as refused:
                    await session.attach(VIDEOROOM)
                assert refused.value.code == UNAUTHORIZED_PLUGIN
                await session.keepalive()

                await admin.remove_token("viewer-1")
                assert "viewer-1" not in await admin.list_tokens()
                with pytest.raises(JanusError) as refused:
                    await browser.create_session()
                assert refused.value.code == UNAUTHORIZED
                with pytest.raises(JanusError) as refused:
                    await session.keepalive()  # Janus checks the token on every request
                assert refused.value.code == UNAUTHORIZED

    asyncio.run(scenario())


def test_client_token_cannot_create_rooms_mountpoints_or_forwarders(janus_node: JanusNode) -> None:
    async def scenario() -> None:
        async with JanusAdmin.for_node(janus_node) as admin:
            await admin.add_token("point-7")
        async with (
            JanusClient(janus_node.http_url, token="point-7") as browser,
            JanusClient.for_node(janus_node) as diemcau,
        ):
            for key, code in ((None, VIDEOROOM_MISSING_ELEMENT), ("guess", VIDEOROOM_UNAUTHORIZED)):
                with pytest.raises(JanusError) as refused:
                    await VideoRoom(browser, key).create(secret="s")
                assert (refused.value.code, refused.value.source) == (code, VIDEOROOM)
            for key, code in ((None, STREAMING_MISSING_ELEMENT), ("guess", STREAMING_UNAUTHORIZED)):
                with pytest.raises(JanusError) as refused:
                    await Streaming(browser, key).create_rtp(video_port=0, audio_port=0, secret="s")
                assert (refused.value.code, refused.value.source) == (code, STREAMING)

            room = await VideoRoom(diemcau, janus_node.admin_key).create(secret="room-secret")
            publisher = await (await browser.create_session()).attach(VIDEOROOM)
            joined, _ = await publisher.message({"request": "join", "ptype": "publisher", "room": room})
            # lock_rtp_forward: even knowing the room's secret, a client cannot forward a publisher.
            with pytest.raises(JanusError) as refused:
                await VideoRoom(browser).rtp_forward(
                    room, joined["id"], host="127.0.0.1", streams=DISCARD, secret="room-secret"
                )
            assert refused.value.code == VIDEOROOM_MISSING_ELEMENT

    asyncio.run(scenario())


def test_diemcau_creates_a_videoroom_and_a_mountpoint(janus_node: JanusNode) -> None:
    async def scenario() -> None:
        async with JanusClient.for_node(janus_node) as client:
            rooms = VideoRoom(client, janus_node.admin_key)
            room = await rooms.create(4200, secret="studio-secret", description="Trường quay", publishers=4)
            assert room == 4200
            assert await rooms.exists(4200) and not await rooms.exists(4201)
            assert await rooms.list_participants(4200) == []

            # A publisher joining is asynchronous: the answer arrives on the session's long poll.
            publisher = await (await client.create_session()).attach(VIDEOROOM)
            joined, jsep = await publisher.message(
                {"request": "join", "ptype": "publisher", "room": 4200, "display": "Trường quay"}
            )
            assert joined["videoroom"] == "joined" and jsep is None
            participants = await rooms.list_participants(4200)
            assert [(p["id"], p["display"], p["publisher"]) for p in participants] == [
                (joined["id"], "Trường quay", False)
            ]
            # With the admin key the request gets through; the publisher sends no media yet, so Janus
            # has no stream "0" to forward and makes no forwarder.
            made = await rooms.rtp_forward(
                4200, joined["id"], host="127.0.0.1", streams=DISCARD, secret="studio-secret"
            )
            assert made == []
            assert await rooms.list_forwarders(4200, secret="studio-secret") == []

            mountpoints = Streaming(client, janus_node.admin_key)
            port = janus_node.ports.streaming_min
            stream = await mountpoints.create_rtp(
                17, video_port=port, audio_port=port + 2, secret="mp-secret", is_private=False
            )
            assert stream["id"] == 17
            assert {p["mid"]: p["port"] for p in stream["ports"]} == {"v": port, "a": port + 2}
            info = await mountpoints.info(17, secret="mp-secret")
            media = {m["mid"]: m for m in info["media"]}
            assert (media["v"]["codec"], media["v"]["pt"]) == ("h264", 96)
            assert "packetization-mode=1" in media["v"]["fmtp"]
            assert (media["a"]["codec"], media["a"]["pt"]) == ("opus", 111)
            assert [m["id"] for m in await mountpoints.list()] == [17]
            assert "port" not in (await mountpoints.info(17))["media"][0]  # ports need the secret

            await rooms.destroy(4200, secret="studio-secret")
            assert not await rooms.exists(4200)
            with pytest.raises(JanusError) as gone:
                await rooms.list_participants(4200)
            assert gone.value.code == VIDEOROOM_NO_SUCH_ROOM
            await mountpoints.destroy(17, secret="mp-secret")
            with pytest.raises(JanusError) as gone:
                await mountpoints.info(17)
            assert gone.value.code == STREAMING_NO_SUCH_MOUNTPOINT
            await rooms.close()
            await mountpoints.close()

    asyncio.run(scenario())


def _ffmpeg_rtp(video_port: int, audio_port: int) -> subprocess.Popen[bytes]:
    """ffmpeg sending a test picture (H.264 baseline, pt 96) and a tone (Opus, pt 111) as RTP to loopback."""
    return subprocess.Popen(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-map", "0:v", "-c:v", "libx264", "-profile:v", "baseline", "-preset", "ultrafast",
            "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-threads", "1",
            "-payload_type", "96", "-f", "rtp", f"rtp://127.0.0.1:{video_port}?pkt_size=1200",
            "-map", "1:a", "-c:a", "libopus", "-b:a", "32k", "-ac", "2",
            "-payload_type", "111", "-f", "rtp", f"rtp://127.0.0.1:{audio_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.skipif(not Path("/usr/bin/ffmpeg").exists(), reason="ffmpeg is missing")
def test_mountpoint_receives_rtp_published_by_ffmpeg(janus_node: JanusNode) -> None:
    async def ages(mountpoints: Streaming) -> dict[str, int]:
        info = await mountpoints.info(5, secret="mp")
        return {m["mid"]: m["age_ms"] for m in info["media"]}

    async def scenario() -> None:
        async with JanusClient.for_node(janus_node) as client:
            mountpoints = Streaming(client, janus_node.admin_key)
            stream = await mountpoints.create_rtp(5, video_port=0, audio_port=0, secret="mp")
            ports = {p["mid"]: p["port"] for p in stream["ports"]}
            lowest, highest = janus_node.ports.streaming_min, janus_node.ports.streaming_max
            assert all(lowest <= port <= highest for port in ports.values())
            await asyncio.sleep(0.6)
            assert min((await ages(mountpoints)).values()) >= 500  # nothing received yet

            ffmpeg = _ffmpeg_rtp(ports["v"], ports["a"])
            try:
                # Janus reports how long ago each stream last got a packet: while ffmpeg sends, both
                # stay fresh at every look over more than a second.
                deadline = time.monotonic() + 5
                while max((await ages(mountpoints)).values()) > 200:
                    assert ffmpeg.poll() is None, ffmpeg.stderr.read().decode()
                    assert time.monotonic() < deadline, f"mountpoint got no RTP: {await ages(mountpoints)}"
                    await asyncio.sleep(0.1)
                for _ in range(6):
                    await asyncio.sleep(0.2)
                    assert max((await ages(mountpoints)).values()) < 300
            finally:
                ffmpeg.terminate()
                ffmpeg.wait(5)
            await asyncio.sleep(0.8)
            assert min((await ages(mountpoints)).values()) >= 600  # and it notices when the source stops
            await mountpoints.close()

    asyncio.run(scenario())


def test_two_nodes_run_side_by_side_and_a_killed_node_recovers(make_node: Callable[..., JanusNode]) -> None:
    root = make_node("root")
    edge = make_node("edge-1")
    assert root.ports.http != edge.ports.http and root.pid != edge.pid

    async def scenario() -> None:
        async with JanusClient.for_node(root) as root_client, JanusClient.for_node(edge) as edge_client:
            root_rooms = VideoRoom(root_client, root.admin_key)
            edge_mountpoints = Streaming(edge_client, edge.admin_key)
            await root_rooms.create(1, secret="s")
            await edge_mountpoints.create_rtp(1, video_port=0, audio_port=0, secret="s")
            async with JanusAdmin.for_node(root) as admin:
                await admin.add_token("before-crash")
            first_session = root_rooms.channel.session_id

            root.kill()  # SIGKILL, as a crash
            assert not root.is_running()
            assert (await edge_mountpoints.info(1))["id"] == 1  # the edge does not care
            with pytest.raises(JanusUnreachable):
                await root_rooms.exists(1)

            root.restart()
            # The client makes a new session by itself; what lived only in Janus's memory is gone
            # and is diemcau's to create again.
            assert not await root_rooms.exists(1)
            assert root_rooms.channel.session_id not in (None, first_session)
            async with JanusAdmin.for_node(root) as admin:
                assert await admin.list_tokens() == {}
            assert await root_rooms.create(1, secret="s") == 1

            # A restart the client did not see (session gone, HTTP fine) is also recovered.
            second_session = root_rooms.channel.session_id
            root.restart()
            assert await root_rooms.exists(1) is False
            assert root_rooms.channel.session_id != second_session
            await root_rooms.close()
            await edge_mountpoints.close()

    asyncio.run(scenario())
    log = root.log_path.read_text()
    assert log.count("==== diemcau: starting node root") == 3


def test_session_errors_carry_janus_codes(janus_node: JanusNode) -> None:
    async def scenario() -> None:
        async with JanusClient.for_node(janus_node) as client:
            session = await client.create_session()
            handle = await session.attach(VIDEOROOM)
            await handle.detach()
            with pytest.raises(JanusError) as gone:
                await handle.message({"request": "list"})
            assert gone.value.code == HANDLE_NOT_FOUND
            await session.destroy()
            with pytest.raises(JanusError) as gone:
                await session.keepalive()
            assert gone.value.code == SESSION_NOT_FOUND
            assert "458" in str(gone.value)

    asyncio.run(scenario())


def test_node_refuses_a_port_already_answering(janus_node: JanusNode, tmp_path: Path) -> None:
    twin = JanusNode("twin", janus_node.ports.http, folder=tmp_path / "twin")
    with pytest.raises(JanusNodeError, match="already answers"):
        twin.start()
    assert not twin.is_running()
    assert os.path.exists(janus_node.log_path)
