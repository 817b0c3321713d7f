"""Listening to a channel-layer group from a synchronous test, as a consumer would (the real layer)."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


class GroupListener:
    """A channel joined to ``groups``; :meth:`messages` returns what arrived (and waits briefly for more)."""

    def __init__(self, *groups: str):
        self.layer = get_channel_layer()
        self.groups = groups
        self.channel = async_to_sync(self.layer.new_channel)()
        for group in groups:
            async_to_sync(self.layer.group_add)(group, self.channel)

    def messages(self, wait: float = 0.2) -> list[dict]:
        async def drain():
            got = []
            while True:
                try:
                    got.append(await asyncio.wait_for(self.layer.receive(self.channel), wait))
                except TimeoutError:
                    return got
        return async_to_sync(drain)()

    def close(self):
        for group in self.groups:
            async_to_sync(self.layer.group_discard)(group, self.channel)
