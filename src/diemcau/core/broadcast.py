"""One way to tell a browser: :func:`publish_on_commit` (the path from a service to a websocket).

A service that changes state calls ``publish_on_commit(group, message)`` (or several pairs) inside
its transaction; the messages go to the channel-layer groups once the transaction commits, never when
it rolls back. The group name belongs to the app whose consumers listen
(``voice.notices.opinions_group``, ``live.groups.kiosk_group``, ``attendance.board_notices.group_name``...),
so a sender imports the listener's name, never its consumer. Outside a transaction (autocommit)
Django runs the hook at once.

A live update is a view of rows already committed, so failing to send one is logged, never raised
to the writer. The send works from whatever thread committed: a request's worker thread (no event
loop), a background job, or a thread that runs an event loop (a test driving a browser).
"""

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def publish_on_commit(*args, using=None) -> None:
    """Send each ``(group, message)`` once the current transaction commits.

    ``publish_on_commit("g", {...})`` for one group, ``publish_on_commit(("g1", m1), ("g2", m2))``
    for several (none: nothing to send); their order is kept. A message is a dict with a ``type``.
    """
    if args and isinstance(args[0], str):
        if len(args) != 2:
            raise TypeError("publish_on_commit(group, message) or publish_on_commit(*pairs)")
        todo = [tuple(args)]
    else:
        todo = [tuple(pair) for pair in args]
    for group, msg in todo:
        if not isinstance(group, str) or not isinstance(msg, dict) or "type" not in msg:
            raise TypeError(f"publish_on_commit takes (group, message-with-type) pairs, not {group!r}, {msg!r}")
    if not todo:
        return

    def send():
        for group, msg in todo:
            send_now(group, msg)

    transaction.on_commit(send, using=using)


def send_now(group: str, message: dict) -> None:
    """Send ``message`` to every consumer in ``group`` now; a no-op without a channel layer.

    For what is not a database change (a node's health seen by a poller); a service's update goes
    through :func:`publish_on_commit`.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:  # this thread runs an event loop: schedule the send, do not block the loop
            loop.create_task(layer.group_send(group, message))
        else:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        log.exception("could not send a live update to %s", group)


Merge = Callable[[dict, dict], dict]


def publish_soon_on_commit(*pairs, merge: Merge, using=None) -> None:
    """Like :func:`publish_on_commit` for notices that may go a moment later and merge (``hub.dirty``):
    on commit they are handed to this process's publisher thread, and the committing thread goes on.

    A request's worker thread paid ~1.8 ms per :func:`send_now` (``async_to_sync`` makes an event loop,
    and channels_redis a connection, for each call); the publisher keeps one loop and one connection,
    and sends what queued meanwhile as one message per group (``merge(a, b)`` makes one of two). From a
    thread that runs an event loop the messages are scheduled on it as :func:`send_now` does. A notice
    still queued when the process ends is lost, as one cut on its way through Redis would be: the
    listener must recover (the boards' hub recomputes what it watches every 15 s).
    """
    todo = [tuple(pair) for pair in pairs]
    if not todo:
        return

    def send():
        if _can_queue():
            _publisher.put(todo, merge)
            return
        for group, msg in todo:
            send_now(group, msg)

    transaction.on_commit(send, using=using)


def _can_queue() -> bool:
    """Not from a thread that runs an event loop (schedule there), nor with the in-memory layer (tests,
    one process: its queues belong to their event loops, and a send from the publisher's thread would
    not wake a reader waiting in another loop)."""
    try:
        asyncio.get_running_loop()
        return False
    except RuntimeError:
        pass
    layer = get_channel_layer()
    return layer is not None and not isinstance(layer, InMemoryChannelLayer)


class _Publisher:
    """One daemon thread per process with its own event loop: sends queued notices, merged per group."""

    def __init__(self):
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.pid = None
        self.sent = 0  # messages sent (tests, benchmarks)

    def put(self, pairs: list, merge: Merge) -> None:
        with self.lock:
            if self.thread is None or self.pid != os.getpid() or not self.thread.is_alive():
                self.queue, self.pid = queue.SimpleQueue(), os.getpid()  # a forked child starts afresh
                self.thread = threading.Thread(target=self._run, args=(self.queue,), name="diemcau-publisher",
                                               daemon=True)
                self.thread.start()
            self.queue.put((pairs, merge))

    def _run(self, todo: queue.SimpleQueue) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        while True:
            batch = [todo.get()]
            while True:
                try:
                    batch.append(todo.get_nowait())
                except queue.Empty:
                    break
            merged: dict[str, dict] = {}
            for pairs, merge in batch:
                for group, msg in pairs:
                    merged[group] = merge(merged[group], msg) if group in merged else msg
            layer = get_channel_layer()
            for group, msg in merged.items():
                try:
                    if layer is not None:
                        loop.run_until_complete(layer.group_send(group, msg))
                        self.sent += 1
                except Exception:
                    log.exception("could not send a live update to %s", group)

    def idle(self, timeout: float = 5.0) -> bool:
        """Whether everything queued was taken within ``timeout`` seconds (tests)."""
        import time

        deadline = time.monotonic() + timeout
        while not self.queue.empty():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True


_publisher = _Publisher()
