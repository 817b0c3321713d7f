"""A per-process hub between "dirty" notices and many websocket viewers of the same figures.

Viewers register for a *key* (what is computed: a session's unit, a conference seen from a scope)
and a *variant* (how it is rendered: a language, or "" for figures only). Services publish a small
notice on commit (:func:`notice`, sent with :func:`diemcau.core.broadcast.publish_on_commit`) to the
key's channel-layer group; it says what changed, never the figures. The hub owns one channel of the
channel layer, joined to every group someone here watches, so a notice from any process (in-memory
layer: this one; Redis: any) reaches it once, whatever the number of viewers. Its ticker recomputes
each dirty key once, renders it once per variant, and pushes the result to every viewer of that key;
the next round starts ``tick`` seconds after this one started. The first notice after a quiet spell is
answered at once; a burst costs one recomputation per key per tick: the cost follows the keys watched,
not the changes or the viewers. With ``refresh_every``, a watched key is also recomputed when its last
computation is that old (figures that age by themselves, such as "no report for a minute: lost").

One hub per name and event loop (:func:`hub_for`): a server process runs one loop.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any
from urllib.parse import parse_qs

from channels.layers import get_channel_layer

from . import ws_auth

log = logging.getLogger(__name__)

NOTICE = "hub.dirty"

Compute = Callable[[Hashable, list[str]], Awaitable[dict[str, Any]]]
Affected = Callable[[dict, Hashable, Any], bool]


def notice(group: str, **details) -> tuple[str, dict]:
    """The ``(group, message)`` pair that marks the keys watched through ``group`` dirty.

    ``details`` (JSON-able) let the hub's ``affected`` rule narrow which keys are dirty (the
    attendance board sends the tree paths a check-in touches).
    """
    return group, {"type": NOTICE, "group": group, **details}


class Hub:
    """The per-process coalescer: viewers per key, dirty keys, one computation per key per tick.

    ``compute(key, variants)`` (async) returns ``{variant: payload}``; a viewer receives its
    variant's payload through its ``hub_push(payload)`` coroutine. ``affected(notice, key, meta)``
    says whether a notice concerns a key (default: every key of the notice's group).
    """

    def __init__(self, compute: Compute, *, tick: Callable[[], float] = lambda: 1.0,
                 refresh_every: Callable[[], float | None] = lambda: None, affected: Affected | None = None):
        self.compute_fn, self.tick_fn, self.refresh_fn = compute, tick, refresh_every
        self.affected = affected or (lambda message, key, meta: True)
        self.viewers: dict[tuple, set] = {}  # (key, variant) -> consumers
        self.keys: dict[Hashable, tuple[str, Any]] = {}  # key -> (group, meta)
        self.groups: dict[str, int] = {}  # group -> number of viewers
        self.dirty: set = set()
        self.cache: dict[tuple, Any] = {}  # (key, variant) -> last payload, while clean
        self.computed_at: dict[Hashable, float] = {}
        self.channel = None
        self.layer = None
        self.wake = asyncio.Event()
        self.lock = asyncio.Lock()  # the channel, its groups and the tasks change under it
        self.tasks: list[asyncio.Task] = []
        self.computations = 0  # for tests and benchmarks: how many times a key was computed

    async def subscribe(self, consumer, key: Hashable, variant: str, group: str, meta: Any = None) -> None:
        """Register ``consumer`` for ``key`` and send it the current payload at once."""
        # Viewers come and go at the same moment (a board reloaded by a room of people): the channel,
        # its groups and the tasks change only under the lock, so a viewer arriving while the last one
        # leaves is never dropped with the channel, nor given a second listener.
        async with self.lock:
            if self.channel is None:
                self.layer = get_channel_layer()
                # The default prefix: channels_redis polls one Redis list per process for all "specific."
                # channels, so a channel of its own would wait behind the consumers' receive loops.
                self.channel = await self.layer.new_channel()
                self.tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._tick())]
            if not self.groups.get(group):
                await self.layer.group_add(group, self.channel)
            self.groups[group] = self.groups.get(group, 0) + 1
            self.viewers.setdefault((key, variant), set()).add(consumer)
            self.keys[key] = (group, meta)
        await self._welcome(consumer, key, variant)
        if self.refresh_fn():
            self.wake.set()

    async def _welcome(self, consumer, key: Hashable, variant: str) -> None:
        """A new viewer's first message: the cached payload, or a fresh one if the key is dirty."""
        payload = self.cache.get((key, variant))
        if payload is None or key in self.dirty:
            payload = (await self._compute(key, [variant]))[variant]
        await consumer.hub_push(payload)

    async def unsubscribe(self, consumer, key: Hashable, variant: str) -> None:
        async with self.lock:
            viewers = self.viewers.get((key, variant))
            if not viewers or consumer not in viewers:
                return
            viewers.discard(consumer)
            group = self.keys[key][0]
            if not viewers:
                del self.viewers[(key, variant)]
                self.cache.pop((key, variant), None)
                if not any(k == key for k, _ in self.viewers):
                    self.keys.pop(key, None)
                    self.dirty.discard(key)
                    self.computed_at.pop(key, None)
            self._forget(consumer, key, variant)
            self.groups[group] -= 1
            if not self.groups[group]:
                del self.groups[group]
                await self.layer.group_discard(group, self.channel)
            if not self.viewers:
                await self.stop()

    def _forget(self, consumer, key: Hashable, variant: str) -> None:
        """A viewer left (already removed from ``viewers``): drop what was kept only for it."""

    async def stop(self) -> None:
        tasks, self.tasks, self.channel = self.tasks, [], None
        for task in tasks:
            task.cancel()
        self.cache.clear()

    def mark(self, message: dict) -> None:
        """A notice: the keys of its group that it affects are dirty."""
        group = message.get("group")
        for key, (key_group, meta) in self.keys.items():
            if key_group == group and self.affected(message, key, meta):
                self._mark_key(key)

    def _mark_key(self, key) -> None:
        self.dirty.add(key)
        for cached in [c for c in self.cache if c[0] == key]:
            del self.cache[cached]
        self.wake.set()

    async def _listen(self):
        lost = False
        while True:
            if lost:  # the layer came back (perhaps a restarted Redis, which forgot every group)
                try:
                    await self._rejoin()
                    lost = False
                except Exception:
                    await asyncio.sleep(1)
                    continue
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a broken layer connection: retry, do not die
                log.exception("hub could not read its channel")
                lost = True
                await asyncio.sleep(1)
                continue
            if message.get("type") == NOTICE:
                self.mark(message)

    async def _rejoin(self):
        """Join the hub's groups again and recompute what is watched (notices sent meanwhile are lost)."""
        for group in list(self.groups):
            await self.layer.group_add(group, self.channel)
        for key in list(self.keys):
            self._mark_key(key)
        self.wake.set()

    async def _wait(self):
        """Until a notice arrives, or (with ``refresh_every``) until the oldest watched key is due."""
        every = self.refresh_fn()
        if not every:
            await self.wake.wait()
            return
        oldest = min(self.computed_at.get(k, 0.0) for k in self.keys) if self.keys else time.monotonic()
        due = oldest + every - time.monotonic()
        if due > 0:
            try:
                await asyncio.wait_for(self.wake.wait(), due)
            except TimeoutError:
                pass
        now = time.monotonic()
        for key in list(self.keys):
            if now - self.computed_at.get(key, 0.0) >= every:
                self._mark_key(key)

    async def _tick(self):
        while True:
            await self._wait()
            self.wake.clear()
            started = time.monotonic()
            work, self.dirty = self.dirty, set()
            for key in work:
                variants = sorted({v for k, v in self.viewers if k == key})
                if not variants:
                    continue
                try:
                    await self._refresh(key, variants)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("hub computation failed for %s", key)
            # Ticks are counted from the start of a round, so a notice waits at most a tick plus one
            # computation; a round slower than the tick still rests a quarter of it.
            tick = self.tick_fn()
            await asyncio.sleep(max(tick - (time.monotonic() - started), tick / 4))

    async def _refresh(self, key: Hashable, variants: list[str]) -> None:
        """One round for a dirty key: compute it once, push each variant to its viewers."""
        payloads = await self._compute(key, variants)
        for variant, payload in payloads.items():
            if key not in self.dirty:
                self.cache[(key, variant)] = payload
            await _push_all(self.viewers.get((key, variant), ()), payload)

    async def _compute(self, key, variants):
        self.computations += 1
        self.computed_at[key] = time.monotonic()
        return await self.compute_fn(key, variants)


async def _push_all(consumers, payload) -> None:
    for consumer in list(consumers):
        try:
            await consumer.hub_push(payload)
        except Exception:  # a viewer that just left
            log.debug("hub viewer gone", exc_info=True)


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def hub_for(name: str, factory: Callable[[], Hub]) -> Hub:
    """The hub called ``name`` of this event loop (one per server process), made by ``factory``."""
    loop = asyncio.get_running_loop()
    hubs = _hubs.setdefault(loop, {})
    if name not in hubs:
        hubs[name] = factory()
    return hubs[name]


class HubViewer(abc.ABC):
    """Mixin of a websocket consumer fed by a hub: who may watch, then subscribe until it closes.

    Anonymous users are closed with 4401; :meth:`subscription` answers ``None`` for what the user may
    not see (closed with 4403), else ``(key, variant, group, meta)`` for :meth:`Hub.subscribe`.
    """

    key = None

    @abc.abstractmethod
    def hub(self) -> Hub:
        """The hub this consumer's figures come from."""

    @abc.abstractmethod
    async def subscription(self, user, kwargs: dict, query: dict) -> tuple | None:
        """``(key, variant, group, meta)`` for what ``user`` may watch here, else ``None``."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        found = await self.subscription(user, self.scope["url_route"]["kwargs"], query)
        if found is None:
            await self.close(code=4403)
            return
        key, variant, group, meta = found
        await self.accept()
        await ws_auth.watch_subscription(self, self.scope["url_route"]["kwargs"], query)
        self.key = (key, variant)
        await self.hub().subscribe(self, key, variant, group, meta)

    async def disconnect(self, code):
        await ws_auth.forget(self)
        if self.key:
            await self.hub().unsubscribe(self, *self.key)
