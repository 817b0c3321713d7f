"""The VideoRoom and Streaming requests diemcau uses to build the programme, over a
:class:`PluginChannel` that makes its Janus session and handle again after a node restarts
(the Janus and Admin API themselves: :mod:`diemcau.live.janus_client`).

The requests it speaks
======================

VideoRoom (``janus.plugin.videoroom``); with ``admin_key`` configured, ``create`` needs it, and with
``lock_rtp_forward`` so do ``rtp_forward`` and ``stop_rtp_forward``::

    {"request": "create", "admin_key", "room"?, "secret"?, "pin"?, "description"?, "is_private"?,
     "publishers"?, "videocodec"?, "audiocodec"?, "bitrate"?, "fir_freq"?, ...}
                                              -> {"videoroom": "created", "room": <id>}
    {"request": "exists", "room"}            -> {"videoroom": "success", "room", "exists": true|false}
    {"request": "destroy", "room", "secret"} -> {"videoroom": "destroyed", "room"}
    {"request": "listparticipants", "room"}  -> {"videoroom": "participants", "room",
                                                 "participants": [{"id", "display"?, "publisher"}, ...]}
    {"request": "rtp_forward", "admin_key", "room", "publisher_id", "secret"?, "host",
     "streams": [{"mid", "port", "pt"?, "ssrc"?, "host"?}, ...]}
                                              -> {"videoroom": "rtp_forward", "room", "publisher_id",
                                                 "forwarders": [{"stream_id", "type", "host", "port", ...}]}
    {"request": "stop_rtp_forward", "admin_key", "room", "publisher_id", "stream_id", "secret"?}
                                              -> {"videoroom": "stop_rtp_forward", ...}
    {"request": "listforwarders", "room", "secret"}
                                              -> {"videoroom": "forwarders", "room",
                                                 "publishers": [{"publisher_id", "forwarders": [...]}, ...]}
    {"request": "kick", "room", "secret", "id"} -> {"videoroom": "success"}   (the publisher is gone)
    {"request": "allowed", "room", "secret", "action": "enable|disable|add|remove", "allowed": [<token>]?}
                                              -> {"videoroom": "success", "room", "allowed": [...]}
        (with the list enabled, a ``join`` must carry a ``token`` on it, else 433)
    {"request": "join", "ptype": "publisher", "room", "id"?, "display"?, "token"?}   (asynchronous)
                                              -> event {"videoroom": "joined", "room", "id",
                                                        "publishers": [...]}

    421 no message    422 invalid JSON    423 invalid request    424 join first    425 already joined
    426 no such room    427 room exists    428 no such feed    429 missing element
    430 invalid element    432 publishers full    433 unauthorized    436 id exists    499 unknown

Streaming (``janus.plugin.streaming``); with ``admin_key`` configured, ``create`` needs it::

    {"request": "create", "admin_key", "type": "rtp", "id"?, "description"?, "secret"?, "pin"?,
     "is_private"?, "media": [{"type": "audio|video", "mid", "port", "pt", "codec", "fmtp"?, "iface"?}]}
                                              -> {"streaming": "created", "stream": {"id", "ports": [...]}}
    {"request": "destroy", "id", "secret"}   -> {"streaming": "destroyed", "id"}
    {"request": "list"}                      -> {"streaming": "list", "list": [{"id", "media": [...]}, ...]}
    {"request": "info", "id", "secret"?}     -> {"streaming": "info", "info": {"id", "viewers"?,
                                                 "media": [{"mid", "type", "codec", "age_ms"?, "port"?}]}}
        ``age_ms``: milliseconds since the stream last received RTP; ports only with the secret.
    {"request": "watch", "id", "pin"?}       (asynchronous)
                                              -> event {"streaming": "event",
                                                        "result": {"status": "preparing"}}
                                                 with a JSEP offer for the viewer

    450 no message    451 invalid JSON    452 invalid request    453 missing element
    454 invalid element    455 no such mountpoint    456 can't create    457 unauthorized
    458 can't switch    459 can't record    460 invalid state    470 unknown

Recovery: ``PluginChannel`` (which ``VideoRoom`` and ``Streaming`` use) makes its session and handle on
first use and makes new ones when Janus says 458/459 (the node restarted or the session timed out);
a request Janus never received (node down) raises ``JanusUnreachable`` and the next call starts over.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .janus_client import (
    HANDLE_NOT_FOUND,
    SESSION_NOT_FOUND,
    STREAMING,
    VIDEOROOM,
    JanusClient,
    JanusError,
    JanusHandle,
    JanusSession,
    JanusUnreachable,
)

# Constrained Baseline level 3.1 with packetization-mode 1: what browsers and ffmpeg's libx264
# baseline both produce, so the programme can be copied to HLS without a transcode.
H264_FMTP = "profile-level-id=42e01f;packetization-mode=1"
H264_PT = 96
OPUS_PT = 111


class PluginChannel:
    """diemcau's own line to one plugin of one node: a session and handle made on first use, made
    again after the node restarted or the session timed out.

    Only Janus's "no such session/handle" answers are retried (Janus rejected the request before the
    plugin saw it, so repeating it cannot do anything twice); a failed HTTP exchange is not, since
    the plugin may have acted on it.
    """

    def __init__(self, client: JanusClient, plugin: str) -> None:
        self.client = client
        self.plugin = plugin
        self._session: JanusSession | None = None
        self._handle: JanusHandle | None = None
        self._lock = asyncio.Lock()

    @property
    def session_id(self) -> int | None:
        """Id of the session in use, or None before the first request or after a failure."""
        return self._session.id if self._session is not None else None

    async def _get_handle(self) -> JanusHandle:
        """The handle in use, opening a session and attaching first if needed."""
        async with self._lock:
            if self._handle is None:
                session = await self.client.create_session()
                try:
                    handle = await session.attach(self.plugin)
                except BaseException:
                    await session.destroy()
                    raise
                self._session, self._handle = session, handle
            return self._handle

    async def _forget(self) -> None:
        """Drop the session and handle in use, so the next request makes new ones."""
        session, self._session, self._handle = self._session, None, None
        if session is not None:
            session.abandon()

    async def request(
        self, body: dict[str, Any], jsep: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Send a plugin request on diemcau's session; return the plugin's data and JSEP."""
        for attempt in range(2):
            try:
                handle = await self._get_handle()
                return await handle.message(body, jsep, timeout)
            except JanusError as exc:
                if exc.code in (SESSION_NOT_FOUND, HANDLE_NOT_FOUND) and exc.source in ("core", "http"):
                    await self._forget()
                    if attempt == 0:
                        continue
                raise
            except JanusUnreachable:
                await self._forget()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """Destroy the session in Janus, if one is open."""
        session, self._session, self._handle = self._session, None, None
        if session is not None:
            await session.destroy()


class VideoRoom:
    """VideoRoom rooms on one node, as diemcau manages them (with the plugin's ``admin_key``).

    :param client: the node's Janus API client.
    :param admin_key: the node's ``admin_key``; None speaks as a client without it would.
    """

    def __init__(self, client: JanusClient, admin_key: str | None = None) -> None:
        self.channel = PluginChannel(client, VIDEOROOM)
        self.admin_key = admin_key

    def _admin(self) -> dict[str, str]:
        return {"admin_key": self.admin_key} if self.admin_key else {}

    async def create(
        self,
        room: int | None = None,
        *,
        secret: str,
        description: str = "",
        pin: str | None = None,
        publishers: int = 6,
        videocodec: str = "h264",
        audiocodec: str = "opus",
        is_private: bool = True,
        **settings: Any,
    ) -> int:
        """Create a room (not permanent) and return its id; ``settings`` pass other create fields through."""
        body: dict[str, Any] = {
            "request": "create",
            **self._admin(),
            "secret": secret,
            "description": description,
            "publishers": publishers,
            "videocodec": videocodec,
            "audiocodec": audiocodec,
            "is_private": is_private,
            "permanent": False,
            **settings,
        }
        if room is not None:
            body["room"] = room
        if pin is not None:
            body["pin"] = pin
        data, _ = await self.channel.request(body)
        return int(data["room"])

    async def exists(self, room: int) -> bool:
        """Whether the room exists on this node."""
        data, _ = await self.channel.request({"request": "exists", "room": room})
        return bool(data["exists"])

    async def destroy(self, room: int, *, secret: str) -> None:
        """Destroy the room, disconnecting everyone in it."""
        await self.channel.request({"request": "destroy", "room": room, "secret": secret, "permanent": False})

    async def list_participants(self, room: int) -> list[dict[str, Any]]:
        """The room's participants (``listparticipants``): id, display, whether publishing."""
        data, _ = await self.channel.request({"request": "listparticipants", "room": room})
        return list(data["participants"])

    async def rtp_forward(
        self,
        room: int,
        publisher_id: int,
        *,
        host: str,
        streams: list[dict[str, Any]],
        secret: str | None = None,
    ) -> list[dict[str, Any]]:
        """Forward a publisher's streams as plain RTP to ``host``; return the forwarders made.

        :param streams: one dict per stream: ``mid`` of the publisher's stream and target ``port``,
            optionally ``pt``, ``ssrc``, ``host``.
        """
        body: dict[str, Any] = {
            "request": "rtp_forward",
            **self._admin(),
            "room": room,
            "publisher_id": publisher_id,
            "host": host,
            "streams": streams,
        }
        if secret is not None:
            body["secret"] = secret
        data, _ = await self.channel.request(body)
        return list(data.get("forwarders", []))

    async def stop_rtp_forward(
        self, room: int, publisher_id: int, stream_id: int, *, secret: str | None = None
    ) -> None:
        """Stop one forwarder of a publisher."""
        body: dict[str, Any] = {
            "request": "stop_rtp_forward",
            **self._admin(),
            "room": room,
            "publisher_id": publisher_id,
            "stream_id": stream_id,
        }
        if secret is not None:
            body["secret"] = secret
        await self.channel.request(body)

    async def kick(self, room: int, participant_id: int, *, secret: str) -> None:
        """Throw a participant out of the room (its PeerConnection is closed)."""
        await self.channel.request({"request": "kick", "room": room, "secret": secret, "id": participant_id})

    async def allowed(self, room: int, action: str, tokens: list[str] | None = None, *, secret: str) -> list[str]:
        """Change the room's ``allowed`` list (``enable``, ``disable``, ``add``, ``remove``); return it."""
        body: dict[str, Any] = {"request": "allowed", "room": room, "secret": secret, "action": action}
        if tokens is not None:
            body["allowed"] = tokens
        data, _ = await self.channel.request(body)
        return list(data.get("allowed", []))

    async def list_forwarders(self, room: int, *, secret: str) -> list[dict[str, Any]]:
        """The room's publishers that have forwarders, each with its ``forwarders`` (``listforwarders``)."""
        data, _ = await self.channel.request({"request": "listforwarders", "room": room, "secret": secret})
        return list(data.get("publishers", []))

    async def close(self) -> None:
        """Close diemcau's session for this plugin."""
        await self.channel.close()


class Streaming:
    """Streaming mountpoints on one node, as diemcau manages them (with the plugin's ``admin_key``).

    :param client: the node's Janus API client.
    :param admin_key: the node's ``admin_key``; None speaks as a client without it would.
    """

    def __init__(self, client: JanusClient, admin_key: str | None = None) -> None:
        self.channel = PluginChannel(client, STREAMING)
        self.admin_key = admin_key

    async def create_rtp(
        self,
        mountpoint: int | None = None,
        *,
        video_port: int,
        audio_port: int,
        secret: str,
        description: str = "",
        pin: str | None = None,
        is_private: bool = True,
        iface: str | None = "127.0.0.1",
        video_pt: int = H264_PT,
        audio_pt: int = OPUS_PT,
        video_fmtp: str = H264_FMTP,
    ) -> dict[str, Any]:
        """Create an RTP mountpoint (H.264 video ``v``, Opus audio ``a``) and return Janus's ``stream``.

        A port of 0 lets the plugin pick one from the node's streaming range; the ports used are in
        the result's ``ports``. ``iface`` is the address the mountpoint binds (None: all addresses).
        """
        audio: dict[str, Any] = {
            "type": "audio",
            "mid": "a",
            "port": audio_port,
            "pt": audio_pt,
            "codec": "opus",
        }
        video: dict[str, Any] = {
            "type": "video",
            "mid": "v",
            "port": video_port,
            "pt": video_pt,
            "codec": "h264",
            "fmtp": video_fmtp,
            # New viewers get the latest keyframe at once instead of a black picture until the next one.
            "bufferkf": True,
        }
        if iface is not None:
            audio["iface"] = video["iface"] = iface
        body: dict[str, Any] = {
            "request": "create",
            "type": "rtp",
            "description": description,
            "secret": secret,
            "is_private": is_private,
            "permanent": False,
            "media": [audio, video],
        }
        if self.admin_key:
            body["admin_key"] = self.admin_key
        if mountpoint is not None:
            body["id"] = mountpoint
        if pin is not None:
            body["pin"] = pin
        data, _ = await self.channel.request(body)
        return dict(data["stream"])

    async def destroy(self, mountpoint: int, *, secret: str) -> None:
        """Destroy the mountpoint, disconnecting its viewers."""
        await self.channel.request({"request": "destroy", "id": mountpoint, "secret": secret, "permanent": False})

    async def list(self) -> list[dict[str, Any]]:
        """The public mountpoints (private ones, diemcau's default, are not listed by Janus)."""
        data, _ = await self.channel.request({"request": "list"})
        return list(data["list"])

    async def info(self, mountpoint: int, *, secret: str | None = None) -> dict[str, Any]:
        """The mountpoint's details; with its secret also ports; ``media[].age_ms`` is time since last RTP."""
        body: dict[str, Any] = {"request": "info", "id": mountpoint}
        if secret is not None:
            body["secret"] = secret
        data, _ = await self.channel.request(body)
        return dict(data["info"])

    async def close(self) -> None:
        """Close diemcau's session for this plugin."""
        await self.channel.close()
