"""Issuing a convocation and forwarding it down the tree.

A unit's convocation is addressed to its child units that the conference's sessions invite (an
institution of their subtree is in a session's audience); each gets a :class:`Recipient` with its
contacts' e-mail addresses (the unit's organisers, else its management board). Forwarding is
issuing again, one level down, with the parent quoted.
"""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from diemcau.core import audit, vntext
from diemcau.core.errors import DomainError
from diemcau.events import services as events
from diemcau.events.models import Conference
from diemcau.orgs.models import PATH_STEP, Person, Role, Unit
from diemcau.orgs.services import clean_text

from .access import require_issue
from .models import Convocation, Recipient

# The document type's abbreviation in the number and symbol (Decree 30, Appendix III: "GM", giấy mời).
KIND = "GM"


def default_symbol(issuer: Unit) -> str:
    """ "GM-BGDĐT", "GM-SGDĐT": the kind and the issuer's abbreviation (its short name, else its code)."""
    short = (issuer.short_name or issuer.code).upper().replace(" ", "")
    return f"{KIND}-{short}"[:40]


def invited_children(conference: Conference, issuer: Unit) -> list[Unit]:
    """The issuer's child units with an institution some session of the conference invites."""
    heads = set()
    end = len(issuer.path) + PATH_STEP
    for session in conference.sessions.all():
        rows = (events.invited_institutions(session, within=issuer).exclude(pk=issuer.pk)
                .annotate(head=Substr("path", 1, end)).values_list("head", flat=True).distinct())
        heads.update(rows)
    return list(Unit.objects.filter(path__in=heads, is_active=True).order_by("path"))


def contacts(unit: Unit) -> list[str]:
    """The e-mail addresses a unit's convocation goes to: its organisers', else its management board's."""
    users = get_user_model().objects.filter(roles__role=Role.UNIT_ORGANISER, roles__unit=unit, is_active=True)
    found = [u.email for u in users.order_by("pk") if u.email]
    if not found:
        found = list(Person.objects.filter(unit=unit, is_active=True, category=Person.Category.MANAGEMENT)
                     .exclude(email="").order_by("pk").values_list("email", flat=True)[:3])
    return list(dict.fromkeys(found))


def _clean(convocation: Convocation):
    convocation.additions = clean_text(convocation.additions, _("Additional text"), max_length=4000,
                                        kind=vntext.MULTILINE)
    convocation.place = clean_text(convocation.place, _("Place"), max_length=100) or convocation.conference.place
    convocation.signer_title = clean_text(convocation.signer_title, _("Signer's title"), max_length=150)
    convocation.signer_on_behalf = clean_text(convocation.signer_on_behalf, _("Signs for"), max_length=150)
    convocation.signer_name = clean_text(convocation.signer_name, _("Signer's name"), max_length=150)
    convocation.number = clean_text(convocation.number, _("Number"), max_length=20)
    if convocation.issued_on > convocation.conference.date:
        raise DomainError(_("A convocation is issued before the conference's day."), "issued_after_day")


@transaction.atomic
def issue(actor, conference: Conference, issuer: Unit, *, issued_on: datetime.date, place: str = "",
          number: str = "", additions: str = "", signer_title: str = "", signer_on_behalf: str = "",
          signer_name: str = "", parent: Convocation | None = None) -> Convocation:
    """Issue ``issuer``'s convocation for ``conference`` to its invited child units."""
    require_issue(actor, conference, issuer)
    if Convocation.objects.filter(conference=conference, issuer=issuer).exists():
        raise DomainError(_("This unit has already issued its convocation for the conference."),
                          "convocation_exists")
    if issuer.kind == Unit.Kind.INSTITUTION:
        raise DomainError(_("An institution receives convocations; it does not issue them."), "issuer_institution")
    children = invited_children(conference, issuer)
    if not children:
        raise DomainError(_("No unit below this one is invited to the conference."), "no_recipients")
    convocation = Convocation(
        conference=conference, issuer=issuer, parent=parent, number=number, symbol=default_symbol(issuer),
        place=place, issued_on=issued_on, additions=additions, signer_title=signer_title or _default_title(issuer),
        signer_on_behalf=signer_on_behalf, signer_name=signer_name,
        created_by=actor if getattr(actor, "is_authenticated", False) else None)
    _clean(convocation)
    convocation.save()
    Recipient.objects.bulk_create([Recipient(convocation=convocation, unit=u, email=", ".join(contacts(u))[:500])
                                   for u in children])
    audit.record(actor, "convocation.issued", convocation, unit_path=issuer.path,
                 after={"conference": conference.pk, "number": convocation.number_line,
                        "parent": parent.pk if parent else None, "recipients": len(children)})
    return convocation


def _default_title(issuer: Unit) -> str:
    return {Unit.Kind.MINISTRY: "BỘ TRƯỞNG", Unit.Kind.DEPARTMENT: "GIÁM ĐỐC",
            Unit.Kind.DISTRICT_OFFICE: "TRƯỞNG PHÒNG"}.get(issuer.kind, "THỦ TRƯỞNG ĐƠN VỊ")


def forward(actor, recipient: Recipient, **fields) -> Convocation:
    """The addressed unit forwards the convocation down to its own units, with its additions."""
    parent = recipient.convocation
    return issue(actor, parent.conference, recipient.unit, parent=parent, **fields)


def addressed_to(unit: Unit, conference: Conference) -> Recipient | None:
    """The convocation ``unit`` received for ``conference`` (its row as a recipient), if any."""
    return (Recipient.objects.filter(unit=unit, convocation__conference=conference)
            .select_related("convocation__issuer", "unit").first())
