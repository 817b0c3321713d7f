"""Receivers from other modules: the voice module's "question on air" reaches the kiosks."""

from diemcau.core.broadcast import send_to_group
from diemcau.voice.signals import on_air_changed  # sent on commit with ``conference_id``


def kiosk_group(conference_id: int) -> str:
    return f"live.kiosks.{conference_id}"


def relay_on_air(sender, conference_id=None, **kwargs):
    """Tell every kiosk and viewer of the conference to reload the question on air."""
    if conference_id is not None:
        send_to_group(kiosk_group(conference_id), {"type": "live.on_air"})


on_air_changed.connect(relay_on_air, dispatch_uid="live.relay_on_air")
