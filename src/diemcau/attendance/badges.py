"""Printable badges (thẻ đại biểu): one QR code per person, per school, on one page to print.

The QR holds the signed token of :func:`services.make_badge_token`; this module only draws it.
"""

import io

import qrcode
import qrcode.image.svg
from django.utils.safestring import mark_safe

from diemcau.events.models import Session
from diemcau.orgs.models import Person, Unit
from diemcau.points.models import Assignment

from . import services
from .models import Delegation


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
        return named.order_by("category", "name_search")
    return Person.objects.filter(unit=institution, is_active=True).order_by("category", "name_search")


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
    return assignment, [{"person": p, "qr": qr_svg(services.make_badge_token(session, assignment.point, p))}
                        for p in people]
