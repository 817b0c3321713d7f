"""Receivers from other modules: the voice module's "question on air" reaches the kiosks."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from diemcau.voice.signals import on_air_changed  # sent on commit with ``conference_id``


def kiosk_group(conference_id: int) -> str:
    return f"live.kiosks.{conference_id}"


def relay_on_air(sender, conference_id=None, **kwargs):
    """Tell every kiosk and viewer of the conference to reload the question on air."""
    layer = get_channel_layer()
    if layer is not None and conference_id is not None:
        async_to_sync(layer.group_send)(kiosk_group(conference_id), {"type": "live.on_air"})


on_air_changed.connect(relay_on_air, dispatch_uid="live.relay_on_air")
