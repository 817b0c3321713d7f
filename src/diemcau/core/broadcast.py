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

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
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
