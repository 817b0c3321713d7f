"""The demo's Hà Nội department point as a hall with its own room system (issue 18), baresip standing in.

``switch`` marks the point as a SIP room system (a fresh password each time: only its digest is kept)
or back to a kiosk; ``dial`` starts baresip in the hall's network namespace (``deploy/sip/hall.py``:
``sip-hall``, 10.233.0.50, the gateway on 10.233.0.1) and calls the gateway over TLS with SRTP,
offering G.722 only, as tests/live/test_sip.py's hall does. The gateway is the live runtime's
(``run_live --sip 10.233.0.1``, which ``SIP=1 make demo`` starts); the hall then shows on the site
board, its picture reaches the halls' room, and the director gives it the floor like any point
(its operator asks for the floor on the phone page).
"""

from __future__ import annotations

import importlib.util
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from diemcau.live import sip
from diemcau.live.models import RoomSystem
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.models import BridgePoint

from . import events as demo_events

HALL_SCRIPT = Path(__file__).resolve().parents[3] / "deploy" / "sip" / "hall.py"
USERNAME = "sohanoi-baresip"
POINT_NAME = "Điểm cầu Sở GD&ĐT Hà Nội"


def hall_module():
    """``deploy/sip/hall.py`` (not a package: loaded from its file)."""
    spec = importlib.util.spec_from_file_location("diemcau_sip_hall", HALL_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo_point(point_id: int | None = None) -> BridgePoint:
    """The point by id, else the demo conference's Hà Nội department point."""
    points = BridgePoint.objects.select_related("hall__unit", "conference")
    if point_id is not None:
        return points.get(pk=point_id)
    conference = demo_events.loaded()
    if conference is None:
        raise BridgePoint.DoesNotExist("the demo conference is not loaded (manage.py load_demo_events)")
    return points.get(conference=conference, name=POINT_NAME)


@dataclass
class Switched:
    point: BridgePoint
    username: str
    password: str  # only in memory, for baresip's account; empty when switched off


def switch(point: BridgePoint, *, on: bool = True, username: str = USERNAME) -> Switched:
    """Mark ``point`` as a room system with a fresh password (``on``), or disable its room system."""
    hall = hall_module()
    password = secrets.token_urlsafe(18) if on else ""
    with transaction.atomic():
        current = RoomSystem.objects.filter(point=point).first()
        if not on and current is None:
            return Switched(point, "", "")
        sip.configure_room_system(SYSTEM, point, username=current.sip_username if current and not on else username,
                                  password=password, address=hall.HALL, enabled=on)
    return Switched(point, username, password)


def gateway_listening(address: str, port: int = 5061, timeout: float = 1.0) -> bool:
    """Whether Kamailio accepts connections on ``address:port`` (its TLS listener)."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def dial(switched: Switched, folder: Path, *, seconds: int, wait_for_gateway: float = 60.0, say=print):
    """baresip in the hall's namespace calling the gateway (TLS, SRTP, G.722 only); returns the process.
    The namespace is made if it is missing (then start ``run_live --sip 10.233.0.1``)."""
    hall = hall_module()
    if not Path(f"/run/netns/{hall.NS}").exists():
        hall.network_up()
        say(f"The hall's network is up ({hall.HALL}); start the gateway: manage.py run_live --sip {hall.GATEWAY}")
    deadline = time.monotonic() + wait_for_gateway
    while not gateway_listening(hall.GATEWAY):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no SIP gateway on {hall.GATEWAY}:5061 (manage.py run_live --sip {hall.GATEWAY})")
        time.sleep(1.0)
    # Kamailio is up; the gateway pushes the new credentials within a tick (0.5 s): give it a moment.
    time.sleep(2.0)
    picture = hall.write_picture(folder / "camera.mp4", f"{switched.point.name} — baresip (SIP)")
    uri = hall.baresip_config(folder, username=switched.username, password=switched.password, transport="tls",
                              port=5061, srtp=True, picture=picture)
    return hall.start_baresip(folder, uri, seconds=seconds)
