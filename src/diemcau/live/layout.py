"""The media layout every Janus node shares: the room and mountpoint numbers, the forwarding ports, publisher ids.
"""

from __future__ import annotations

import secrets

from diemcau.events.models import Conference

# --- the media layout every node shares ------------------------------------------------------------
MAIN_MOUNTPOINT = 1   # the programme (host or the point on air)
SIDE_MOUNTPOINT = 2   # the second picture when host and point are shown side by side

# Offsets in a node's 1000-port block (see janus_node): the programme mountpoints' RTP ports and
# the HLS packager's, all inside the block's streaming range and chosen here, never by Janus.
PORTS = {"main": (700, 702), "side": (710, 712), "hls": (800, 802), "recording": (810, 812)}


def room_id(conference: Conference | int) -> int:
    """The root's VideoRoom for a conference."""
    return int(getattr(conference, "pk", conference))


def new_publisher_id() -> int:
    """A random publisher id for the root's room: unguessable, and below 2**53 so a browser holds it exactly."""
    return 2**32 + secrets.randbelow(2**53 - 2**32)
