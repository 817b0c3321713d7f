"""Receivers from other modules: the voice module's "question on air" reaches the kiosks.

The voice module may be absent (this module works alone), so the receiver is connected only when
its signal exists.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

try:  # the voice module's signal, sent on commit with ``conference_id``
    from diemcau.voice.signals import on_air_changed
except ImportError:  # voice without the on-air display: nothing to relay
    on_air_changed = None


def kiosk_group(conference_id: int) -> str:
    return f"live.kiosks.{conference_id}"


def relay_on_air(sender, conference_id=None, **kwargs):
    """Tell every kiosk and viewer of the conference to reload the question on air."""
    layer = get_channel_layer()
    if layer is not None and conference_id is not None:
        async_to_sync(layer.group_send)(kiosk_group(conference_id), {"type": "live.on_air"})


if on_air_changed is not None:
    on_air_changed.connect(relay_on_air, dispatch_uid="live.relay_on_air")
