"""Hub keys sent as deltas: a snapshot first, then only the rows that changed, each message at a version.

A :class:`DeltaHub` key is computed as a :class:`Frame` (rows: id → plain data; the figures; a layout).
Per tick the hub computes a dirty key once, compares its rows with the last frame's once, renders the
changed rows once per variant and sends every viewer of a variant the same message, encoded once:

- a **snapshot** ``{"type", "version", "snapshot", "figures"}`` to a new viewer (a reconnecting one is
  new), to a viewer that asks for one (``{"type": "snapshot"}`` on the socket: it missed a message),
  and to every viewer of the key when the layout changed;
- a **delta** ``{"type", "version", "base", "rows_changed": {id: rendered}, "rows_removed": [id],
  "figures"}`` otherwise; a viewer applies it only if it holds version ``base``.

The cost per tick follows the keys watched and the rows changed: one computation, one comparison, one
render of the changed rows per variant, one JSON encoding, then N sends. The hub does not wait for the
sends: each viewer has at most one message in flight (:class:`Outbox`); a viewer still reading its
last one when the next is ready is *behind*, skips the deltas meanwhile and then gets the snapshot
of the version current at that moment (shared, encoded once). One slow reader (a phone on a bad
line, a stalled tab) therefore never holds back the hub's next tick nor the other viewers, and its
own board is at most one message stale once it reads again. A tick in which no row
changed (but the frame's ``quiet`` ones, such as the time of the figures) sends nothing. Versions grow
per hub (one process); they mean nothing across processes, and need not: a viewer talks to one
process, and a new connection starts with a snapshot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from .hub import Hub

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Frame:
    """A key's figures at one moment: ``rows`` (id → JSON-able data, in display order), the few
    ``figures`` every message carries, and a ``layout`` whose change asks for a snapshot."""

    rows: dict[str, Any]
    figures: dict
    layout: Hashable = None
    quiet: frozenset = frozenset()  # rows whose change alone is no news (the time of the figures)


class Update:
    """One message for every viewer of a variant: its data, and its text encoded once for all of them."""

    __slots__ = ("_text", "data")

    def __init__(self, data: dict):
        self.data = data
        self._text = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"), default=str)
        return self._text

    def __getitem__(self, name):
        return self.data[name]


class Outbox:
    """Per viewer, the one message in flight; a viewer that is still sending is behind and gets a
    snapshot (``catch_up``) once its send completes, instead of the messages it skipped."""

    def __init__(self):
        self.sending: dict[Any, asyncio.Task] = {}
        self.behind: set = set()
        self.skipped = 0  # for tests and benchmarks: messages a slow viewer did not need

    def offer(self, consumer, update: Update, catch_up: Callable[[], Awaitable[Update | None]]) -> None:
        """Send ``update`` to ``consumer`` unless its last send is still in flight (then it is behind).

        The send starts at once, in the caller's task: a send that does not have to wait (the socket's
        buffer has room: nearly always) completes here, without a task of its own, so a tick's thousand
        sends are a thousand calls, not a thousand tasks scheduled. Only a send that waits (a slow
        reader) goes on as a task, and its viewer is in flight until it completes.
        """
        if consumer in self.sending:
            self.behind.add(consumer)
            self.skipped += 1
            return
        delivery = self._deliver(consumer, update, catch_up)
        try:
            waiting_on = delivery.send(None)
        except StopIteration:
            return
        self.sending[consumer] = asyncio.ensure_future(_Resumed(delivery, waiting_on))

    async def _deliver(self, consumer, update: Update | None, catch_up) -> None:
        try:
            while update is not None:
                await consumer.hub_push(update)
                update = None
                if consumer in self.behind:
                    self.behind.discard(consumer)
                    update = await catch_up()
        except Exception as error:  # a viewer that just left
            log.debug("hub viewer gone: %r", error)
        finally:
            self.sending.pop(consumer, None)

    def forget(self, consumer) -> None:
        self.behind.discard(consumer)
        task = self.sending.pop(consumer, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def idle(self) -> None:
        """Until every message in flight has been sent (tests)."""
        while self.sending:
            await asyncio.gather(*list(self.sending.values()), return_exceptions=True)


class _Resumed:
    """A coroutine already started (and waiting on ``waiting_on``), continued by the task that awaits
    this: what an eager task does (Python 3.12's ``eager_task_factory``), written out for 3.11."""

    __slots__ = ("coro", "waiting_on")

    def __init__(self, coro, waiting_on):
        self.coro, self.waiting_on = coro, waiting_on

    def __await__(self):
        pending = self.waiting_on
        while True:
            try:
                value = yield pending
            except BaseException as error:  # cancelled, or the future failed: hand it to the coroutine
                try:
                    pending = self.coro.throw(error)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    pending = self.coro.send(value)
                except StopIteration as done:
                    return done.value


RenderRows = Callable[[Hashable, Frame, dict[str, list[str]]], Awaitable[dict[str, dict[str, Any]]]]
Compose = Callable[[Hashable, str, Frame, dict[str, Any]], Awaitable[dict]]
Patch = Callable[[str, Any, Any], Any]


class DeltaHub(Hub):
    """A :class:`~diemcau.core.hub.Hub` whose viewers get a snapshot, then deltas.

    ``compute(key, variants)`` (async) returns a :class:`Frame`; ``render(key, frame, {variant:
    row_ids})`` (async) returns ``{variant: {row_id: rendered}}``; ``compose(key, variant, frame,
    rendered)`` (async) returns the snapshot of a variant from all its rendered rows. ``kind`` is the
    messages' ``type``. With ``patch(variant, old_row, new_row)`` (sync, cheap), a delta carries what it
    returns for a row the viewer holds (its changed figures, say) instead of the row rendered again; None
    keeps the rendering. Viewers receive :class:`Update` objects through ``hub_push``.
    """

    def __init__(self, compute, render: RenderRows, compose: Compose, *, kind: str, patch: Patch | None = None,
                 **options):
        super().__init__(compute, **options)
        self.render_fn, self.compose_fn, self.kind, self.patch_fn = render, compose, kind, patch
        self.frames: dict[Hashable, Frame] = {}
        self.versions: dict[Hashable, int] = {}
        self.rendered: dict[tuple, dict[str, Any]] = {}  # (key, variant) -> row id -> rendered row
        self.snapshots: dict[tuple, Update] = {}  # (key, variant) -> the snapshot at the key's version
        self.members: dict[tuple, set] = {}  # (key, variant) -> viewers that hold a version
        self.state_lock = asyncio.Lock()  # frames, versions and what viewers hold change under it
        self.counter = itertools.count(1)
        self.outbox = Outbox()
        self.deltas_sent = 0  # for tests and benchmarks: messages built, not sends
        self.snapshots_built = 0

    async def _welcome(self, consumer, key, variant) -> None:
        """A new viewer: the snapshot of the key's current version (computed if nobody watched it)."""
        async with self.state_lock:
            if key not in self.frames:
                self.frames[key] = await self._compute(key, [variant])
                self.versions[key] = next(self.counter)
            if (key, variant) not in self.rendered:
                frame = self.frames[key]
                self.rendered[(key, variant)] = (await self.render_fn(key, frame, {variant: list(frame.rows)}))[variant]
            self._offer(consumer, key, variant, await self._snapshot(key, variant))
            self.members.setdefault((key, variant), set()).add(consumer)

    async def resend(self, consumer, key, variant) -> None:
        """A viewer that missed a message asks again: the snapshot of the current version."""
        async with self.state_lock:
            if consumer in self.members.get((key, variant), ()):
                self._offer(consumer, key, variant, await self._snapshot(key, variant))

    def _offer(self, consumer, key, variant, update: Update) -> None:
        async def catch_up() -> Update | None:
            async with self.state_lock:
                if consumer not in self.members.get((key, variant), ()):
                    return None
                return await self._snapshot(key, variant)

        self.outbox.offer(consumer, update, catch_up)

    async def _refresh(self, key, variants) -> None:
        async with self.state_lock:
            frame = await self._compute(key, variants)
            old = self.frames.get(key)
            full = old is None or old.layout != frame.layout
            if full:
                changed, removed = list(frame.rows), []
            else:
                changed = [i for i, row in frame.rows.items() if old.rows.get(i) != row]
                removed = [i for i in old.rows if i not in frame.rows]
                if not removed and set(changed) <= frame.quiet:
                    return
            base, version = self.versions.get(key), next(self.counter)
            self.frames[key], self.versions[key] = frame, version
            held = [v for (k, v) in self.rendered if k == key]
            rendered = await self.render_fn(key, frame, dict.fromkeys(held, changed)) if held else {}
            for variant in held:
                await self._send(key, variant, rendered.get(variant, {}), removed, base if not full else None, old)

    async def _send(self, key, variant, changed: dict, removed: list, base: int | None,
                    old: Frame | None = None) -> None:
        """Bring a variant's rendered rows to the key's version and send its viewers the same message."""
        rows = self.rendered.get((key, variant))
        if rows is None:  # its last viewer left while the rows rendered
            return
        rows.update(changed)
        for row_id in removed:
            rows.pop(row_id, None)
        self.snapshots.pop((key, variant), None)
        if base is None:
            update = await self._snapshot(key, variant)
        else:
            self.deltas_sent += 1
            update = Update({"type": self.kind, "version": self.versions[key], "base": base,
                             "rows_changed": self._patched(variant, changed, old, self.frames[key]),
                             "rows_removed": removed,
                             "figures": self.frames[key].figures})
        for consumer in list(self.members.get((key, variant), ())):
            self._offer(consumer, key, variant, update)

    def _patched(self, variant, changed: dict, old: Frame | None, frame: Frame) -> dict:
        """The changed rows as sent: a row the viewer holds as ``patch`` says, when it says anything."""
        if self.patch_fn is None or old is None:
            return changed
        sent = {}
        for row_id, rendered in changed.items():
            patch = self.patch_fn(variant, old.rows.get(row_id), frame.rows[row_id]) if row_id in old.rows else None
            sent[row_id] = rendered if patch is None else patch
        return sent

    async def _snapshot(self, key, variant) -> Update:
        update = self.snapshots.get((key, variant))
        if update is None:
            frame, version, rows = self.frames[key], self.versions[key], self.rendered[(key, variant)]
            self.snapshots_built += 1
            snapshot = await self.compose_fn(key, variant, frame, rows)
            update = Update({"type": self.kind, "version": version, "snapshot": snapshot,
                             "figures": frame.figures})
            self.snapshots[(key, variant)] = update
        return update

    def _forget(self, consumer, key, variant) -> None:
        self.outbox.forget(consumer)
        members = self.members.get((key, variant))
        if members is not None:
            members.discard(consumer)
        if (key, variant) not in self.viewers:
            for kept in (self.members, self.rendered, self.snapshots):
                kept.pop((key, variant), None)
        if key not in self.keys:
            self.frames.pop(key, None)
            self.versions.pop(key, None)

    async def stop(self) -> None:
        for consumer in list(self.outbox.sending):
            self.outbox.forget(consumer)
        await super().stop()
        for kept in (self.frames, self.versions, self.rendered, self.snapshots, self.members):
            kept.clear()
