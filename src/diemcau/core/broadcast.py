"""Sending a live update to a channel-layer group from synchronous code (services, on-commit hooks).

Services publish their websocket updates after the commit, from whatever thread committed: a request's
worker thread (no event loop), a background job, or a thread that runs an event loop (an async
consumer's ``database_sync_to_async`` call is not one, but a test driving a browser is). A live update
is a view of rows already committed, so failing to send one is logged, never raised to the writer.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def send_to_group(group: str, message: dict) -> None:
    """Send ``message`` to every consumer in ``group``; a no-op without a channel layer."""
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
