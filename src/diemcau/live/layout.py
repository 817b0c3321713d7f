"""The media layout every Janus node shares: the room and mountpoint numbers, the forwarding ports, publisher ids.
"""

from __future__ import annotations

import secrets

from diemcau.events.models import Conference

# --- the media layout every node shares ------------------------------------------------------------
# One runtime serves every conference of the day on the same nodes (runtime_day.py): each conference
# on air has a *lane* (``Programme.lane``, given by the runtime, 0 when alone), and its mountpoint ids
# and RTP ports are its lane's, so two conferences never share a mountpoint or a port.
LANES = 12            # conferences one set of nodes carries at once (12 × 32 ports in the streaming range)
LANE_FIRST = 600      # first port of lane 0 in a node's 1000-port block (janus_node: streaming +600..+999)
LANE_STRIDE = 32      # ports per lane
LANE_MOUNTPOINTS = 10  # mountpoint ids per lane: lane k has ids 10k+1 .. 10k+4

MAIN_MOUNTPOINT = 1   # the programme (host or the point on air), lane 0
SIDE_MOUNTPOINT = 2   # the second picture when host and point are shown side by side, lane 0
MOUNTPOINTS = {"main": MAIN_MOUNTPOINT, "side": SIDE_MOUNTPOINT, "low": 3, "audio": 4}  # lane 0's

# Offsets in a lane (video, audio; RTCP on the next port each): the programme mountpoints' RTP ports,
# the renditions', and at the root the HLS packager's, the recorder's and the rendition encoder's
# input, all inside the block's streaming range and chosen here, never by Janus.
PORTS = {"main": (0, 2), "side": (4, 6), "low": (8, 10), "audio": (12, 14),
         "hls": (16, 18), "recording": (20, 22), "input": (24, 26)}


def port_offsets(slot: str, lane: int = 0) -> tuple[int, int]:
    """The (video, audio) offsets of ``slot``'s ports in a node's block, in ``lane``."""
    if not 0 <= lane < LANES:
        raise ValueError(f"lane {lane} is not one of the {LANES} lanes")
    v, a = PORTS[slot]
    first = LANE_FIRST + LANE_STRIDE * lane
    return first + v, first + a


def mountpoint(slot: str, lane: int = 0) -> int:
    """The id of ``slot``'s mountpoint (main, side, low, audio) in ``lane``, the same on every node."""
    return LANE_MOUNTPOINTS * lane + MOUNTPOINTS[slot]


def conference_lane(conference_id: int) -> int:
    """The lane the runtime gave the conference (0 before it has one)."""
    from .models import Programme

    return Programme.objects.filter(conference_id=conference_id).values_list("lane", flat=True).first() or 0


def room_id(conference: Conference | int) -> int:
    """The root's VideoRoom for a conference."""
    return int(getattr(conference, "pk", conference))


def new_publisher_id() -> int:
    """A random publisher id for the root's room: unguessable, and below 2**53 so a browser holds it exactly."""
    return 2**32 + secrets.randbelow(2**53 - 2**32)
