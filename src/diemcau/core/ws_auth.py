"""Websockets end with what authorised them: a session, an account, a role, a device token, a Janus token.

A socket lives for hours; what let it open may go meanwhile (a sign-out, a deactivated account, a
lost role, a revoked token). Every consumer calls :func:`watch` once it is accepted and :func:`forget`
when it leaves; this module then closes it:

- **at once**, when a service publishes :func:`revoked` on commit (through
  :func:`diemcau.core.broadcast.publish_on_commit`) to one of the socket's *keys*: ``user.<id>`` for
  every socket of a person (sign-out names the session it ends; a lost role or a revoked Janus token
  asks each socket to check itself again), ``device.<id>`` for a device token's sockets;
- **as a backstop**, every ``WS_AUTH_RECHECK_SECONDS``: each socket's session, account and the
  consumer's own right are checked again (a message lost with a broken Redis, a password changed, a
  token that simply expired).

One *guard* per event loop (a server process runs one) owns one channel of the channel layer, joined
to the keys' groups of the sockets open here, so a notice reaches this process once whatever the
number of sockets (consumers without a channel, such as the attendance board's viewers, are closed
too). Close codes: 4401 when the authentication went (signed out, deactivated, token revoked or
expired), 4403 when only the right went. A reconnect is refused by the consumers' own checks at
connect.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import import_module

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.db import close_old_connections

from .broadcast import publish_on_commit

log = logging.getLogger(__name__)

REVOKED = "ws_auth.revoked"
UNAUTHENTICATED = 4401
FORBIDDEN = 4403

Check = Callable[[object], Awaitable[int | None]]
"""A consumer's own right, checked again with its user as of now: ``None`` (still allowed) or a close code."""


def user_key(user_id: int) -> str:
    return f"user.{user_id}"


def device_key(token_id: int) -> str:
    return f"device.{token_id}"


def group(key: str) -> str:
    return f"wsauth.{key}"


def revoked(key: str, *, code: int = UNAUTHENTICATED, session: str | None = None,
            recheck: bool = False) -> tuple[str, dict]:
    """The ``(group, message)`` that closes the sockets of ``key`` (for :func:`publish_on_commit`).

    ``session``: only the sockets opened with that session; ``recheck``: each socket checks its
    authority again and closes only if it went (a lost role, one revoked Janus token).
    """
    return group(key), {"type": REVOKED, "key": key, "code": code, "session": session, "recheck": recheck}


def publish_revoked(key: str, **kwargs) -> None:
    """Close ``key``'s sockets once the current transaction commits (see :func:`revoked`)."""
    publish_on_commit(*revoked(key, **kwargs))


def recheck_seconds() -> float:
    return float(settings.WS_AUTH_RECHECK_SECONDS)


# --- what authorised a socket -------------------------------------------------------------------------
@dataclass(eq=False)
class _Watched:
    consumer: object
    user_id: int | None
    session: str | None
    keys: tuple[str, ...]
    scope_checks: tuple
    check: Check | None
    context: contextvars.Context
    same_as: object = None  # sockets with the same value (and user) share one check per sweep
    closed: bool = field(default=False)


def _session_user(session_key: str) -> int | None:
    """The account a session still authenticates (hash checked as Django does per request), else None."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)

    class _Request:
        session = store

    user = auth.get_user(_Request())
    return user.pk if user.is_authenticated else None


def _authority_code(entry: _Watched) -> tuple[int | None, object]:
    """``(code, user)``: the code to close with if the session, account or device authority went."""
    close_old_connections()
    user = get_user_model().objects.filter(pk=entry.user_id, is_active=True).first()
    if user is None:
        return UNAUTHENTICATED, None
    if entry.session is not None and _session_user(entry.session) != user.pk:
        return UNAUTHENTICATED, None
    for check in entry.scope_checks:  # e.g. a device token's (set by the middleware that accepted it)
        code = check()
        if code is not None:
            return code, None
    return None, user


# --- the guard: one per event loop ------------------------------------------------------------------
class Guard:
    """This process's watched sockets, by key; one channel joined to their groups; the backstop sweep."""

    def __init__(self):
        self.entries: dict[object, _Watched] = {}
        self.by_key: dict[str, set] = {}
        self.layer = None
        self.channel = None
        self.tasks: list[asyncio.Task] = []
        self.lock = asyncio.Lock()

    async def watch(self, consumer, *, keys=(), check: Check | None = None, same_as=None) -> None:
        scope = consumer.scope
        user = scope.get("user")
        if user is None or not getattr(user, "is_authenticated", False):
            return
        session = scope.get("session")
        session_key = None if scope.get("device") is not None else getattr(session, "session_key", None)
        all_keys = (user_key(user.pk), *scope.get("ws_auth_keys", ()), *keys)
        entry = _Watched(consumer, user.pk, session_key, all_keys, tuple(scope.get("ws_auth_checks", ())),
                         check, contextvars.copy_context(), same_as)
        async with self.lock:
            if self.channel is None:
                await self._start()
            self.entries[consumer] = entry
            for key in all_keys:
                if not self.by_key.get(key):
                    await self.layer.group_add(group(key), self.channel)
                self.by_key.setdefault(key, set()).add(consumer)

    async def forget(self, consumer) -> None:
        async with self.lock:
            entry = self.entries.pop(consumer, None)
            if entry is None:
                return
            for key in entry.keys:
                watchers = self.by_key.get(key)
                if watchers is None:
                    continue
                watchers.discard(consumer)
                if not watchers:
                    del self.by_key[key]
                    if self.channel is not None:
                        await self.layer.group_discard(group(key), self.channel)

    async def _start(self) -> None:
        self.layer = get_channel_layer()
        self.channel = await self.layer.new_channel() if self.layer is not None else None
        clean = contextvars.Context()  # no consumer's scope leaks into the guard's tasks
        self.tasks = [asyncio.create_task(self._sweep(), context=clean)]
        if self.channel is not None:
            self.tasks.append(asyncio.create_task(self._listen(), context=clean))

    async def _listen(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a broken layer: the sweep still closes what went; join again
                log.exception("websocket guard could not read its channel")
                await asyncio.sleep(1)
                await self._rejoin()
                continue
            if message.get("type") == REVOKED:
                await self.revoke(message)

    async def _rejoin(self) -> None:
        try:
            for key in list(self.by_key):
                await self.layer.group_add(group(key), self.channel)
        except Exception:
            log.debug("websocket guard could not join its groups again", exc_info=True)

    async def revoke(self, message: dict) -> None:
        """Close (or, with ``recheck``, check again) every socket of the message's key."""
        for consumer in list(self.by_key.get(message.get("key"), ())):
            entry = self.entries.get(consumer)
            if entry is None or (message.get("session") and entry.session != message["session"]):
                continue
            if message.get("recheck"):
                await self.recheck(entry)
            else:
                await self._close(entry, int(message.get("code") or UNAUTHENTICATED))

    async def recheck(self, entry: _Watched, memo: dict | None = None) -> None:
        """Check one socket's authority and right again; close it if either went.

        ``memo`` (one sweep's): a thousand viewers of one board with one account cost one check.
        """
        memo = {} if memo is None else memo
        try:
            code = await self._code(entry, memo)
        except Exception:
            log.exception("websocket authority check failed")
            return
        if code is not None:
            await self._close(entry, code)

    async def _code(self, entry: _Watched, memo: dict) -> int | None:
        authority = ("authority", entry.user_id, entry.session, entry.scope_checks)
        if authority not in memo:
            memo[authority] = await database_sync_to_async(_authority_code)(entry)
        code, user = memo[authority]
        if code is not None or entry.check is None:
            return code
        right = ("right", entry.user_id, entry.same_as) if entry.same_as is not None else None
        if right is not None and right in memo:
            return memo[right]
        code = await asyncio.create_task(entry.check(user), context=entry.context.copy())
        if right is not None:
            memo[right] = code
        return code

    async def _close(self, entry: _Watched, code: int) -> None:
        if entry.closed:
            return
        entry.closed = True
        try:
            await entry.consumer.close(code=code)
        except Exception:
            log.debug("websocket already gone", exc_info=True)
        await self.forget(entry.consumer)

    async def _sweep(self) -> None:
        """The backstop: every socket checked again once per ``recheck_seconds``, spread over it."""
        while True:
            started = time.monotonic()
            entries, memo = list(self.entries.values()), {}
            pause = recheck_seconds() / max(len(entries), 1)
            for entry in entries:
                if not entry.closed and entry.consumer in self.entries:
                    await self.recheck(entry, memo)
                await asyncio.sleep(min(pause, 0.05))
            await asyncio.sleep(max(recheck_seconds() - (time.monotonic() - started), 0.05))


_guards: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def guard() -> Guard:
    """This event loop's guard."""
    loop = asyncio.get_running_loop()
    if loop not in _guards:
        _guards[loop] = Guard()
    return _guards[loop]


async def watch(consumer, *, keys=(), check: Check | None = None, same_as=None) -> None:
    """Close ``consumer`` when what authorised it goes (call once it is accepted).

    ``keys``: more groups to hear besides the person's (and a device's, set by its middleware);
    ``check(user)``: the consumer's own right with the user as of now, run in the consumer's context
    (its scope), answering ``None`` or a close code; ``same_as``: a value equal for sockets whose
    check gives the same answer for the same user (it is then run once per sweep for them).
    """
    await guard().watch(consumer, keys=keys, check=check, same_as=same_as)


async def forget(consumer) -> None:
    """The socket left: stop watching it."""
    await guard().forget(consumer)


# --- what core itself knows ends an authority: a sign-out, a deactivated account ---------------------
def _on_sign_out(sender, request=None, user=None, **kwargs):
    """Signing out closes the sockets opened with that session (the person's other devices stay)."""
    session = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and getattr(user, "pk", None) and session:
        publish_revoked(user_key(user.pk), session=session)


def _on_user_saved(sender, instance=None, created=False, **kwargs):
    """An account saved inactive: every socket of the person closes (a new account has none)."""
    if instance is not None and instance.pk and not created and not instance.is_active:
        publish_revoked(user_key(instance.pk))


def connect_signals() -> None:
    from django.contrib.auth.signals import user_logged_out
    from django.db.models.signals import post_save

    user_logged_out.connect(_on_sign_out, dispatch_uid="core.ws_auth.sign_out")
    post_save.connect(_on_user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="core.ws_auth.deactivated")


async def watch_subscription(consumer, kwargs: dict, query: dict) -> None:
    """:func:`watch` for a hub's viewer (``core.hub.HubViewer``): its right is its subscription's rule."""

    async def check(user):
        return None if await consumer.subscription(user, kwargs, query) is not None else FORBIDDEN

    same_as = (type(consumer).__qualname__, tuple(sorted(kwargs.items())),
               tuple(sorted((k, tuple(v)) for k, v in query.items())))
    await watch(consumer, check=check, same_as=same_as)
