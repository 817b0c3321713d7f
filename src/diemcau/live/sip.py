"""Room systems (SIP): a bridge point marked as a hall's own equipment, its credentials, and what its
calls do (each one logged). The gateway that carries the calls is ``sip_gateway.py``.

Rules:
- only someone who may change the point (``points.access.require_change_point``) marks it as a room
  system, changes its SIP username or password, or disables it;
- the password is kept as the digest's HA1 only (MD5 of ``username:realm:password``, what Kamailio
  checks a digest response against); a disabled room system's calls are refused at the next look;
- a call publishes into the programme only while its point holds a granted floor request (the
  grant's own publisher id), like a kiosk: ``floor.granted_publishers`` stays the one rule.
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.access import require_change_point
from diemcau.points.models import BridgePoint

from .models import FloorRequest, RoomSystem

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
# What diemcau dials: [sip:|sips:][user@]host[:port][;transport=udp|tcp|tls]
DIAL_ADDRESS_RE = re.compile(r"^(sips?:)?([a-z0-9._-]+@)?[a-z0-9.-]+(:\d{1,5})?(;transport=(udp|tcp|tls))?$", re.I)
DIAL_LEAD = 120  # seconds before a session's start that diemcau calls its halls
MIN_PASSWORD = 12


def realm() -> str:
    """The SIP realm halls authenticate in (``DIEMCAU_SIP_REALM``)."""
    return settings.LIVE_SIP_REALM


def ha1(username: str, password: str, realm_: str) -> str:
    """MD5(username:realm:password), the digest's stored secret (RFC 2617)."""
    return hashlib.md5(f"{username}:{realm_}:{password}".encode()).hexdigest()  # noqa: S324 (SIP digest)


@transaction.atomic
def configure_room_system(actor, point: BridgePoint, *, username: str, password: str = "", address: str = "",
                          enabled: bool = True, dial_out: bool | None = None,
                          picture_update_info: bool | None = None) -> RoomSystem:
    """Mark ``point`` as a room system (or change it): SIP username, password (blank keeps it), address;
    ``dial_out``: diemcau calls it during the conference's sessions (at ``address``, or where it registered);
    ``picture_update_info``: keyframes are asked of it by SIP INFO. ``None`` keeps the current choice."""
    require_change_point(actor, point)
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise DomainError(_("The SIP username must be 3–64 lower-case letters, digits, dots, dashes or underscores."),
                          "sip_username_invalid")
    if RoomSystem.objects.filter(sip_username=username).exclude(point=point).exists():
        raise DomainError(_("Another bridge point already uses this SIP username."), "sip_username_taken")
    system = RoomSystem.objects.select_for_update().filter(point=point).first()
    before = {"sip_username": system.sip_username, "address": system.address, "enabled": system.enabled,
              "dial_out": system.dial_out, "picture_update_info": system.picture_update_info} if system else None
    if system is None and not password:
        raise DomainError(_("Set a password for the room system."), "sip_password_required")
    if password and len(password) < MIN_PASSWORD:
        raise DomainError(_("The SIP password must have at least 12 characters."), "sip_password_short")
    system = system or RoomSystem(point=point)
    if password or system.sip_username != username:
        if not password:
            raise DomainError(_("A new SIP username needs the password again."), "sip_password_required")
        system.realm = realm()
        system.ha1 = ha1(username, password, system.realm)
    system.sip_username, system.address, system.enabled = username, (address or "").strip()[:200], bool(enabled)
    if dial_out is not None:
        system.dial_out = bool(dial_out)
    if picture_update_info is not None:
        system.picture_update_info = bool(picture_update_info)
    if system.dial_out and system.address and not DIAL_ADDRESS_RE.match(system.address):
        raise DomainError(_("Diemcau can only call an address such as 10.1.2.3, sip:hall@10.1.2.3:5060 or "
                            "10.1.2.3;transport=tcp."), "sip_address_invalid")
    system.save()
    after = {"sip_username": username, "address": system.address, "enabled": system.enabled,
             "dial_out": system.dial_out, "picture_update_info": system.picture_update_info,
             "password_changed": bool(password)}
    audit.record(actor, "live.room_system_set", point, before=before, after=after, unit_path=point.hall.unit.path)
    return system


def credentials() -> dict[str, str]:
    """HA1 of every enabled room system, by SIP username (what the gateway gives Kamailio)."""
    return dict(RoomSystem.objects.filter(enabled=True).values_list("sip_username", "ha1"))


def dial_target(system: RoomSystem) -> tuple[str, bool]:
    """The URI diemcau dials for ``system`` and whether Kamailio looks it up among registered halls
    (no address: the hall registered; an address: it is called there, over the transport it names)."""
    address = system.address.strip()
    if not address:
        return f"sip:{system.sip_username}@{system.realm or realm()}", True
    if address.lower().startswith("sips:"):
        address = "sip:" + address[5:] + ("" if ";transport=" in address.lower() else ";transport=tls")
    elif not address.lower().startswith("sip:"):
        address = "sip:" + address
    if "@" not in address:
        address = f"sip:{system.sip_username}@{address[4:]}"
    return address, False


def halls_to_dial(conference_id: int, now=None) -> list[dict]:
    """The enabled dial-out room systems of the conference's points while one of its sessions runs
    (from ``DIAL_LEAD`` seconds before its start to its end): what the gateway keeps a call up with."""
    from datetime import timedelta

    from django.utils import timezone

    from diemcau.events.models import Session

    now = now or timezone.now()
    if not Session.objects.filter(conference_id=conference_id, starts_at__lte=now + timedelta(seconds=DIAL_LEAD),
                                  ends_at__gt=now).exists():
        return []
    systems = RoomSystem.objects.filter(enabled=True, dial_out=True, point__conference_id=conference_id)
    return [{"username": s.sip_username, "point_id": s.point_id, "uri": dial_target(s)[0],
             "registered": dial_target(s)[1], "info": s.picture_update_info} for s in systems]


def hall_for_call(username: str) -> RoomSystem | None:
    """The enabled room system a call authenticated as, with its point (None: refuse the call)."""
    return (RoomSystem.objects.filter(sip_username=username, enabled=True)
            .select_related("point__hall__unit").first())


def floor_grant(point_id: int) -> int | None:
    """The publisher id the point may publish as now (its granted floor request's), or None."""
    return (FloorRequest.objects.filter(point_id=point_id, state=FloorRequest.State.GRANTED)
            .values_list("publisher_id", flat=True).first())


def log_call(point_id: int, action: str, **details) -> None:
    """Record what a call did (``live.sip_<action>``): dialled, dial_failed, started, ended, on_air, off_air."""
    point = BridgePoint.objects.select_related("hall__unit").filter(pk=point_id).first()
    if point is None:
        audit.record(SYSTEM, f"live.sip_{action}", object_type="points.bridgepoint", object_id=str(point_id),
                     after=details)
        return
    audit.record(SYSTEM, f"live.sip_{action}", point, after=details, unit_path=point.hall.unit.path)


def hall_connected(point_id: int) -> None:
    """A call of the point's room system began: the board counts it as the point's kiosk would be."""
    from . import health

    health.kiosk_connected(SYSTEM, BridgePoint.objects.select_related("hall__unit").get(pk=point_id))


def hall_disconnected(point_id: int) -> None:
    from . import health

    health.kiosk_disconnected(BridgePoint.objects.get(pk=point_id))


def hall_report(point_id: int, figures: dict) -> None:
    """The call's A/V figures as the gateway measures them (a kiosk's report, every 5 s)."""
    from . import health

    point = BridgePoint.objects.select_related("hall__unit").get(pk=point_id)
    try:
        health.ingest_report(SYSTEM, point, figures)
    except DomainError as exc:
        if exc.code != "too_frequent":
            raise
