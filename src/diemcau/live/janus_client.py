"""A thin async client for Janus 1.1.2: the Janus API and the Admin API over HTTP (sessions, handles,
plugin messages, the long poll, tokens).

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

The VideoRoom and Streaming requests, and the channel that recovers from a restarted node, are in
:mod:`diemcau.live.janus_plugins`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import secrets
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from .janus_wire import Wire, WireError

VIDEOROOM = "janus.plugin.videoroom"
STREAMING = "janus.plugin.streaming"

# Core error codes (janus/apierror.h) that the client acts on.
UNAUTHORIZED = 403
UNAUTHORIZED_PLUGIN = 405
SESSION_NOT_FOUND = 458
HANDLE_NOT_FOUND = 459
TOKEN_NOT_FOUND = 470

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


@functools.cache
def _decode(status: int, reason: str, content: bytes) -> Any:
    """Janus's JSON reply; an HTTP error without a Janus body becomes JanusError with the HTTP status."""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if body is None:
        raise JanusError(status, content.decode("utf-8", "replace") or reason, "http")
    return body


def _tls() -> ssl.SSLContext:
    """One TLS context for every client: httpx loads the CA bundle for each new client otherwise (~60 ms
    of CPU, on the live runtime's event loop: a switch waited behind it)."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


class _HttpApi:
    """HTTP plumbing shared by the Janus API and Admin API clients."""

    def __init__(self, url: str, timeout: float, http: httpx.AsyncClient | None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = http or httpx.AsyncClient(timeout=timeout, verify=_tls())
        self._owns_http = http is None
        # Requests and /info go through a lean kept-alive line (janus_wire.py: ~0.2 ms of CPU instead of
        # httpx's ~1-2.5 ms); the long poll stays on httpx.
        self._wire = Wire(self.url, _tls() if self.url.startswith("https:") else None)
        self._path = urlsplit(self.url).path

    async def _send(self, method: str, target: str, body: bytes = b"") -> tuple[int, str, bytes]:
        try:
            return await self._wire.request(method, self._path + target, body, timeout=self.timeout)
        except WireError as exc:
            raise JanusUnreachable(f"{self.url}{target}: {exc}") from exc

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a request (with a fresh transaction unless it has one) and return Janus's JSON reply."""
        payload = {"transaction": _transaction(), **payload}
        return _decode(*await self._send("POST", path, json.dumps(payload).encode()))

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        """Decode a reply; an HTTP error without a Janus body becomes JanusError with the HTTP status."""
        return _decode(response.status_code, response.reason_phrase, response.content)

    async def aclose(self) -> None:
        """Close the HTTP connections this object opened."""
        await self._wire.aclose()
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
        reply = _decode(*await self._send("GET", "/info"))
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

    async def list_handles(self, session_id: int) -> list[int]:
        """Ids of the handles attached in one session."""
        reply = await self.request({"janus": "list_handles", "session_id": session_id})
        return [int(h) for h in reply.get("handles", [])]

    async def handle_info(self, session_id: int, handle_id: int) -> dict[str, Any]:
        """What Janus knows of one handle: its plugin and the plugin's own view (``plugin_specific``)."""
        reply = await self.request({"janus": "handle_info", "session_id": session_id, "handle_id": handle_id})
        return dict(reply.get("info", {}))

    async def __aenter__(self) -> JanusAdmin:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
