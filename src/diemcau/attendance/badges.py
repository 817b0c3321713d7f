"""Badges (thẻ đại biểu): who may print them, the signed QR tokens they carry, and the QR drawing.

A token is a point's badge (session + point: the self check-in poster) or a person's (+ their
personal code, scanned by the operator). Reading one checks its signature and expiry before
anything else; :mod:`checkin` records the arrival it stands for.
"""

import datetime
import io
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.core import signing
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from diemcau.core.errors import DomainError
from diemcau.core.vntext import people_order
from diemcau.events.models import Session
from diemcau.orgs.models import Person, Role, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for
from diemcau.points.models import Assignment, BridgePoint

from .models import Delegation

BADGE_SALT = "diemcau.attendance.badge"
# Badges stay valid until this long after their session ends, unless made with another expiry.
BADGE_GRACE = datetime.timedelta(hours=12)


# --- who may print ----------------------------------------------------------------------------
def may_print_badges(actor, institution: Unit) -> bool:
    """True when the actor may open and print the badges of ``institution``'s people.

    Organisers whose subtree covers the institution and its head (principal); a participant
    opens only their own badge (:func:`own_badge_person`).
    """
    if actor is SYSTEM:
        return True
    scope = scope_for(actor)
    return scope.has_role(Role.NATIONAL_ORGANISER, Role.UNIT_ORGANISER, Role.PRINCIPAL) \
        and scope.can_change_people(institution)


def own_badge_person(actor, institution: Unit) -> Person | None:
    """The actor's own person when they belong to ``institution`` (the one badge they may open)."""
    if not getattr(actor, "is_authenticated", False):
        return None
    return Person.objects.filter(user=actor, unit=institution, is_active=True).first()


# --- tokens -----------------------------------------------------------------------------------
def make_badge_token(session: Session, point: BridgePoint, person: Person | None = None, *,
                     expires_at: datetime.datetime | None = None) -> str:
    """A signed QR payload: a point's badge (session + point) or a person's (+ personal code)."""
    expires_at = expires_at or session.ends_at + BADGE_GRACE
    payload = {"s": session.pk, "p": point.pk, "e": int(expires_at.timestamp())}
    if person is not None:
        payload["c"] = person.code
    return signing.dumps(payload, salt=BADGE_SALT, compress=True)


@dataclass
class Badge:
    session_id: int
    point_id: int
    person: Person | None


def _load_badge(token: str) -> tuple[dict, int, int]:
    """A QR payload whose signature and expiry hold: (payload, session id, point id)."""
    try:
        payload = signing.loads(token or "", salt=BADGE_SALT)
        session_id, point_id, expires = int(payload["s"]), int(payload["p"]), int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise DomainError(_("This QR code is not one of ours: it may be forged or damaged."),
                          "badge_forged") from None
    if expires < timezone.now().timestamp():
        raise DomainError(_("This QR code has expired."), "badge_expired")
    return payload, session_id, point_id


def read_badge_token(token: str, *, session: Session, point: BridgePoint) -> Badge:
    """Check a scanned QR payload against the session and point where it is scanned."""
    payload, session_id, point_id = _load_badge(token)
    if session_id != session.pk:
        raise DomainError(_("This QR code is for another session."), "badge_other_session")
    if point_id != point.pk:
        raise DomainError(_("This QR code is for another bridge point."), "badge_other_point")
    person = None
    if payload.get("c"):
        person = Person.objects.filter(code=payload["c"]).first()
        if person is None:
            raise DomainError(_("Nobody has the personal code on this QR code."), "badge_unknown_person")
    return Badge(session_id, point_id, person)


def read_point_token(token: str) -> tuple[Session, BridgePoint]:
    """The session and point of a point's QR (the self check-in poster), checked before anything else.

    Refuses a forged or expired token, a personal badge (it is scanned by the operator, not
    opened on a phone) and a token whose session or point no longer exists.
    """
    payload, session_id, point_id = _load_badge(token)
    if payload.get("c"):
        raise DomainError(_("This is a personal badge: show it to the operator of the bridge point."),
                          "badge_personal")
    session = Session.objects.select_related("conference").filter(pk=session_id).first()
    point = BridgePoint.objects.select_related("hall__unit").filter(pk=point_id).first()
    if session is None or point is None:
        raise DomainError(_("This QR code is for a session or bridge point that no longer exists."),
                          "badge_unknown_point")
    return session, point


# --- printing ---------------------------------------------------------------------------------
def qr_svg(data: str) -> str:
    """An inline SVG of ``data`` as a QR code (medium error correction, survives a crumpled badge)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    # Safe: qrcode draws only paths from the encoded bytes; no text of ours or the user's is inside.
    return mark_safe(svg[svg.index("<svg"):])  # noqa: S308


def badge_people(session: Session, institution: Unit):
    """Who gets a badge: the delegation's named members, else every active person of the school."""
    named = Person.objects.filter(delegations__delegation__session=session,
                                  delegations__delegation__institution=institution, is_active=True)
    delegation = Delegation.objects.filter(session=session, institution=institution).first()
    if delegation and delegation.rule != Delegation.Rule.ALL_STAFF and named.exists():
        return named.order_by("category", *people_order())
    return Person.objects.filter(unit=institution, is_active=True).order_by("category", *people_order())


def school_badges(session: Session, institution: Unit, only: Person | None = None
                  ) -> tuple[Assignment | None, list[dict]]:
    """The school's assignment and one badge per person (name, category, code, QR), or no badges.

    ``only``: the one person whose badge is wanted (a participant opening their own).
    """
    assignment = (Assignment.objects.filter(session=session, institution=institution)
                  .select_related("point__hall").first())
    if assignment is None:
        return None, []
    people = badge_people(session, institution)
    if only is not None:
        people = people.filter(pk=only.pk)
    return assignment, [{"person": p, "qr": qr_svg(make_badge_token(session, assignment.point, p))}
                        for p in people]
