"""A thin async client for Janus 1.1.2: the Janus API and the Admin API over HTTP, and the VideoRoom and
Streaming requests diemcau uses to build the programme.

The API it speaks
=================

Everything is JSON over HTTP POST; every request carries a random ``transaction`` that Janus echoes.

Janus API (``http://<node>:<port>/janus``), authorised by ``apisecret`` (diemcau) or ``token`` (a
browser's token, see ``add_token``); ``<s>`` is a session id, ``<h>`` a handle id::

    GET  /janus/info   (no secret needed)                  -> {"janus": "server_info", ...}
    POST /janus        {"janus": "create"}                 -> {"janus": "success", "data": {"id": <sid>}}
    POST /janus/<s>    {"janus": "attach", "plugin": "<pkg>"} -> {"janus": "success", "data": {"id": <hid>}}
    POST /janus/<s>    {"janus": "keepalive"}              -> {"janus": "ack"}
    POST /janus/<s>    {"janus": "destroy"}                -> {"janus": "success"}
    POST /janus/<s>/<h> {"janus": "detach"}                -> {"janus": "success"}
    POST /janus/<s>/<h> {"janus": "message", "body": {...}, "jsep": {...}?}
        synchronous plugin requests -> {"janus": "success", "plugindata": {"plugin": "...", "data": {...}}}
        asynchronous ones           -> {"janus": "ack"}, then an event on the long poll:
                                       {"janus": "event", "transaction": <same>, "sender": <handle>,
                                        "plugindata": {...}, "jsep": {...}?}
    GET  /janus/<s>?maxev=N&apisecret=...|token=...        -> one event, or a list of up to N;
        Janus answers {"janus": "keepalive"} after 30 s without events; a poll keeps the session alive.

A session not heard from for ``session_timeout`` seconds (60) is destroyed by Janus; so is every
session when Janus restarts. Errors of the core come as::

    {"janus": "error", "error": {"code": <code>, "reason": "<text>"}}

    403 unauthorized (wrong or missing apisecret/token)    405 the token may not use that plugin
    452 missing request    453 unknown request    454 invalid JSON    455 invalid JSON object
    456 missing mandatory element    457 invalid request path    458 no such session
    459 no such handle    460 no such plugin    461 error attaching    462 error in the plugin message
    463 error detaching    467 invalid element type    468 session id in use    470 token not found
    472 not accepting new sessions    490 unknown error

Admin API (``http://<node>:<admin port>/admin``), authorised by ``admin_secret``, loopback only::

    {"janus": "add_token", "token": "<t>", "plugins": ["janus.plugin.videoroom", ...]?}
        -> {"janus": "success", "data": {"plugins": [<packages the token may attach to>]}}
           (no "plugins" = every loaded plugin)
    {"janus": "remove_token", "token": "<t>"}   -> {"janus": "success"}
    {"janus": "list_tokens"}                    -> {"janus": "success", "data": {"tokens": [
                                                    {"token": "<t>", "allowed_plugins": [...]}, ...]}}

Plugin errors come inside ``plugindata.data`` as ``{"error_code": <code>, "error": "<text>"}``.

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
import collections
import contextlib
import secrets
from collections.abc import Callable
from typing import Any

import httpx

VIDEOROOM = "janus.plugin.videoroom"
STREAMING = "janus.plugin.streaming"

# Core error codes (janus/apierror.h) that the client acts on.
UNAUTHORIZED = 403
UNAUTHORIZED_PLUGIN = 405
SESSION_NOT_FOUND = 458
HANDLE_NOT_FOUND = 459
TOKEN_NOT_FOUND = 470

# Constrained Baseline level 3.1 with packetization-mode 1: what browsers and ffmpeg's libx264
# baseline both produce, so the programme can be copied to HLS without a transcode.
H264_FMTP = "profile-level-id=42e01f;packetization-mode=1"
H264_PT = 96
OPUS_PT = 111

LONG_POLL_SECONDS = 30.0  # Janus answers an idle long poll with a keepalive after 30 s


class JanusError(Exception):
    """An error Janus returned: its numbered code, its text, and which part of Janus said it.

    :param code: Janus's error code (core 4xx codes, or the plugin's own numbering).
    :param reason: Janus's text for it.
    :param source: ``"core"``, ``"admin"`` or the plugin package that answered.
    """

    def __init__(self, code: int, reason: str, source: str = "core") -> None:
        super().__init__(f"Janus {source} error {code}: {reason}")
        self.code = code
        self.reason = reason
        self.source = source


class JanusUnreachable(ConnectionError):
    """The node did not answer over HTTP (down, restarting, or the request timed out)."""


def _transaction() -> str:
    """A fresh transaction id; Janus echoes it so replies and events can be matched."""
    return secrets.token_hex(8)


def _raise_for_error(reply: dict[str, Any], source: str) -> None:
    """Raise JanusError if ``reply`` is a Janus error."""
    if reply.get("janus") == "error":
        error = reply.get("error") or {}
        raise JanusError(int(error.get("code", 0)), str(error.get("reason", "")), source)


def _plugin_data(reply: dict[str, Any], plugin: str) -> dict[str, Any]:
    """The plugin's answer inside a reply or event; raise JanusError if it is a plugin error."""
    _raise_for_error(reply, "core")
    data = (reply.get("plugindata") or {}).get("data") or {}
    if "error_code" in data:
        raise JanusError(int(data["error_code"]), str(data.get("error", "")), plugin)
    return data


class _HttpApi:
    """HTTP plumbing shared by the Janus API and Admin API clients."""

    def __init__(self, url: str, timeout: float, http: httpx.AsyncClient | None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a request (with a fresh transaction unless it has one) and return Janus's JSON reply."""
        payload = {"transaction": _transaction(), **payload}
        try:
            response = await self._http.post(self.url + path, json=payload, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise JanusUnreachable(f"{self.url}{path}: {exc!r}") from exc
        return self._json(response)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        """Decode a reply; an HTTP error without a Janus body becomes JanusError with the HTTP status."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if body is None:
            raise JanusError(response.status_code, response.text or response.reason_phrase, "http")
        return body

    async def aclose(self) -> None:
        """Close the HTTP connections this object opened."""
        if self._owns_http:
            await self._http.aclose()


class JanusClient(_HttpApi):
    """The Janus API of one node over HTTP, as diemcau (``api_secret``) or as a browser would (``token``).

    :param url: the Janus API base, e.g. ``http://127.0.0.1:18000/janus``.
    :param api_secret: diemcau's secret for this node.
    :param token: a token issued through ``JanusAdmin.add_token`` (what browsers use).
    :param timeout: seconds to wait for an answer to one request.
    """

    def __init__(
        self,
        url: str,
        *,
        api_secret: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(url, timeout, http)
        self.api_secret = api_secret
        self.token = token

    @classmethod
    def for_node(cls, node: Any, **kwargs: Any) -> JanusClient:
        """A client speaking to a ``JanusNode`` with its ``api_secret``."""
        return cls(node.http_url, api_secret=node.api_secret, **kwargs)

    def _auth(self) -> dict[str, str]:
        """The credentials every Janus API request carries."""
        auth = {}
        if self.api_secret:
            auth["apisecret"] = self.api_secret
        if self.token:
            auth["token"] = self.token
        return auth

    async def request(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one Janus API request to ``path`` (``""``, ``/<session>`` or ``/<session>/<handle>``)."""
        reply = await self._post(path, {**payload, **self._auth()})
        _raise_for_error(reply, "core")
        return reply

    async def info(self) -> dict[str, Any]:
        """The node's ``server_info``: version, plugins and transports loaded, settings."""
        try:
            response = await self._http.get(f"{self.url}/info", timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise JanusUnreachable(f"{self.url}/info: {exc!r}") from exc
        reply = self._json(response)
        _raise_for_error(reply, "core")
        return reply

    async def ping(self) -> None:
        """Check the node answers the Janus API (``pong``)."""
        await self.request("", {"janus": "ping"})

    async def create_session(self) -> JanusSession:
        """Open a new session on the node."""
        reply = await self.request("", {"janus": "create"})
        return JanusSession(self, int(reply["data"]["id"]))

    async def poll_events(self, session_id: int, max_events: int = 10) -> list[dict[str, Any]]:
        """Long-poll a session's events: up to ``max_events``, or ``[]`` after Janus's 30 s keepalive."""
        params = {"maxev": str(max_events), "rid": _transaction(), **self._auth()}
        try:
            response = await self._http.get(
                f"{self.url}/{session_id}", params=params, timeout=LONG_POLL_SECONDS + self.timeout
            )
        except httpx.HTTPError as exc:
            raise JanusUnreachable(f"{self.url}/{session_id} (long poll): {exc!r}") from exc
        if response.status_code == 404:
            raise JanusError(SESSION_NOT_FOUND, f"No such session {session_id}", "http")
        if response.status_code == 403:
            raise JanusError(UNAUTHORIZED, "Unauthorized long poll (wrong or missing secret/token)", "http")
        body = self._json(response)
        events = body if isinstance(body, list) else [body]
        return [event for event in events if event.get("janus") != "keepalive"]

    async def __aenter__(self) -> JanusClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class JanusSession:
    """One Janus session: attaches handles, keeps itself alive, and receives events by long poll.

    A single background task long-polls while someone waits for an event; events nobody asked for
    yet are kept (the latest 1000) for ``next_event``.
    """

    def __init__(self, client: JanusClient, session_id: int) -> None:
        self.client = client
        self.id = session_id
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)
        self._arrived = asyncio.Condition()
        self._poller: asyncio.Task[None] | None = None
        self._poll_error: BaseException | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self.closed = False

    async def attach(self, plugin: str) -> JanusHandle:
        """Attach a new handle to ``plugin`` (its package name, e.g. ``janus.plugin.videoroom``)."""
        reply = await self.client.request(f"/{self.id}", {"janus": "attach", "plugin": plugin})
        return JanusHandle(self, int(reply["data"]["id"]), plugin)

    async def keepalive(self) -> None:
        """Tell Janus the session is in use, so its ``session_timeout`` starts over."""
        await self.client.request(f"/{self.id}", {"janus": "keepalive"})

    def start_keepalive(self, interval: float = 25.0) -> None:
        """Send a keepalive every ``interval`` seconds until the session is destroyed."""
        if self._keepalive is None:
            self._keepalive = asyncio.create_task(self._keepalive_loop(interval))

    async def _keepalive_loop(self, interval: float) -> None:
        while not self.closed:
            await asyncio.sleep(interval)
            try:
                await self.keepalive()
            except JanusError as exc:
                if exc.code == SESSION_NOT_FOUND:
                    self.closed = True
                    return
            except JanusUnreachable:
                # The node may come back within the timeout; keep trying until the session is gone.
                continue

    def abandon(self) -> None:
        """Stop the session's background tasks without telling Janus (it is gone, or will time out)."""
        self.closed = True
        for task in (self._keepalive, self._poller):
            if task is not None:
                task.cancel()

    async def destroy(self) -> None:
        """Destroy the session in Janus (its handles go with it) and stop its background tasks."""
        self.abandon()
        for task in (self._keepalive, self._poller):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(JanusError, JanusUnreachable):
            await self.client.request(f"/{self.id}", {"janus": "destroy"})

    async def next_event(
        self, match: Callable[[dict[str, Any]], bool] | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """The next event of this session that ``match`` accepts (any event if None), within ``timeout`` s."""
        match = match or (lambda _event: True)

        async def find() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    for event in self._events:
                        if match(event):
                            self._events.remove(event)
                            return event
                    if self._poll_error is not None:
                        raise self._poll_error
                    self._ensure_poller()
                    await self._arrived.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no matching event on Janus session {self.id} within {timeout} s") from None

    def _ensure_poller(self) -> None:
        """Start the long-poll task if it is not running."""
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll_loop())

    async def _poll_loop(self) -> None:
        # One poll at a time per session: Janus hands each event to exactly one waiting GET, so a
        # second concurrent poll could take an event and drop it when cancelled.
        while not self.closed:
            try:
                events = await self.client.poll_events(self.id)
            except (JanusError, JanusUnreachable) as exc:
                async with self._arrived:
                    self._poll_error = exc
                    self._arrived.notify_all()
                return
            async with self._arrived:
                self._events.extend(events)
                self._arrived.notify_all()


class JanusHandle:
    """A handle attached to one plugin in a session: sends it messages and returns its answers."""

    def __init__(self, session: JanusSession, handle_id: int, plugin: str) -> None:
        self.session = session
        self.id = handle_id
        self.plugin = plugin

    async def message(
        self, body: dict[str, Any], jsep: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Send a plugin request; return the plugin's data and JSEP, waiting for the event if it is async.

        Raises JanusError with the plugin's code if the plugin refuses the request.
        """
        transaction = _transaction()
        payload: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            payload["jsep"] = jsep
        reply = await self.session.client.request(f"/{self.session.id}/{self.id}", payload)
        if reply.get("janus") == "ack":
            reply = await self.session.next_event(
                lambda event: event.get("transaction") == transaction and event.get("janus") == "event",
                timeout,
            )
        return _plugin_data(reply, self.plugin), reply.get("jsep")

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        """Send an ICE candidate to Janus (``None`` = gathering completed)."""
        payload = {"janus": "trickle", "candidate": candidate or {"completed": True}}
        await self.session.client.request(f"/{self.session.id}/{self.id}", payload)

    async def detach(self) -> None:
        """Detach the handle from its plugin."""
        await self.session.client.request(f"/{self.session.id}/{self.id}", {"janus": "detach"})


class JanusAdmin(_HttpApi):
    """The Admin API of one node: the tokens browsers may use, and what the node is doing.

    :param url: the Admin API base, e.g. ``http://127.0.0.1:18002/admin``.
    :param admin_secret: the node's ``admin_secret``.
    """

    def __init__(
        self, url: str, admin_secret: str, *, timeout: float = 10.0, http: httpx.AsyncClient | None = None
    ) -> None:
        super().__init__(url, timeout, http)
        self.admin_secret = admin_secret

    @classmethod
    def for_node(cls, node: Any, **kwargs: Any) -> JanusAdmin:
        """An Admin API client for a ``JanusNode``."""
        return cls(node.admin_url, node.admin_secret, **kwargs)

    async def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one Admin API request and return Janus's reply."""
        reply = await self._post("", {**payload, "admin_secret": self.admin_secret})
        _raise_for_error(reply, "admin")
        return reply

    async def add_token(self, token: str, plugins: list[str] | None = None) -> list[str]:
        """Let ``token`` use the Janus API, limited to ``plugins`` (all loaded plugins if None).

        Returns the plugin packages the token may attach to.
        """
        payload: dict[str, Any] = {"janus": "add_token", "token": token}
        if plugins:
            payload["plugins"] = plugins
        reply = await self.request(payload)
        return list(reply["data"]["plugins"])

    async def remove_token(self, token: str) -> None:
        """Revoke ``token``; sessions already open with it stay open (Janus checks tokens per request)."""
        await self.request({"janus": "remove_token", "token": token})

    async def list_tokens(self) -> dict[str, list[str]]:
        """Every valid token and the plugins it may use."""
        reply = await self.request({"janus": "list_tokens"})
        return {t["token"]: list(t.get("allowed_plugins", [])) for t in reply["data"]["tokens"]}

    async def list_sessions(self) -> list[int]:
        """Ids of the sessions open on the node."""
        reply = await self.request({"janus": "list_sessions"})
        return [int(s) for s in reply.get("sessions", [])]

    async def __aenter__(self) -> JanusAdmin:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


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
