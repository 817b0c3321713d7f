"""The convocation (giấy mời) as an official document: print page, PDF, .docx, and its .ics.

One convocation, as the unit it is addressed to reads it: the issuer's heading and its number and
symbol, "Kính gửi" the unit, the conference and its sessions, the unit's bridge points with their
technical contacts, the composition each institution must send (its delegation rules), the
forwarded parent quoted by number and date, the issuer's own additions, the confirmation link,
"Nơi nhận" and the signature; then the official list of the unit's points and the institutions
assigned to them as an appendix. The page, the PDF and the .docx (:mod:`.convocation_docx`) read
the same :func:`convocation_context`.
"""

import datetime

import icalendar
from django.db.models import Count, Q, Sum
from django.utils import timezone, translation

from diemcau.attendance.models import Delegation
from diemcau.convocations.models import Convocation, Recipient
from diemcau.orgs.models import Unit, path_upper_bound
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import official_list as points_list

from .document import OfficialDocument, Signature, issuer_lines

TEMPLATE = "reports/convocation.html"


def _time(value: datetime.datetime) -> str:
    return timezone.localtime(value).strftime("%H:%M")


def _sessions(convocation: Convocation) -> list[dict]:
    return [{"title": s.title, "day": timezone.localtime(s.starts_at).strftime("%d/%m/%Y"),
             "start": _time(s.starts_at), "end": _time(s.ends_at)}
            for s in convocation.conference.sessions.all()]


def _composition(convocation: Convocation, unit: Unit) -> dict:
    """The delegation rules of the institutions in ``unit``'s subtree: how many under each rule, the minimums."""
    rows = Delegation.objects.filter(session__conference=convocation.conference,
                                     institution__path__gte=unit.path,
                                     institution__path__lt=path_upper_bound(unit.path))
    figures = rows.aggregate(
        named=Count("id", filter=Q(rule=Delegation.Rule.NAMED)),
        composition=Count("id", filter=Q(rule=Delegation.Rule.COMPOSITION)),
        all_staff=Count("id", filter=Q(rule=Delegation.Rule.ALL_STAFF)),
        management=Sum("min_management", filter=Q(rule=Delegation.Rule.COMPOSITION)),
        teachers=Sum("min_teachers", filter=Q(rule=Delegation.Rule.COMPOSITION)),
        staff=Sum("min_staff", filter=Q(rule=Delegation.Rule.COMPOSITION)))
    return {k: v or 0 for k, v in figures.items()}


def _points(blocks: list[dict]) -> list:
    """The distinct points of the appendix's blocks, in order, for the body's contacts."""
    seen, points = set(), []
    for block in blocks:
        for row in block["points"]:
            if row["point"].pk not in seen:
                seen.add(row["point"].pk)
                points.append(row["point"])
    return points


def _parent_line(convocation: Convocation) -> str:
    parent = convocation.parent
    if parent is None:
        return ""
    number = f"{parent.number or '…'}/{parent.symbol}"
    return (f"Thực hiện Giấy mời số {number} ngày {parent.issued_on:%d/%m/%Y} của {parent.issuer.name} "
            f"về việc tham dự {convocation.conference.title},")


def convocation_document(convocation: Convocation, recipient: Recipient | None) -> OfficialDocument:
    """The heading and signature of ``convocation`` (addressed to ``recipient``, or to all of them)."""
    governing, issuer = issuer_lines(convocation.issuer)
    to = recipient.unit.name if recipient else "Các đơn vị (theo danh sách)"
    return OfficialDocument(
        governing=governing, issuer=issuer, number=convocation.number, symbol=convocation.symbol,
        kind="GIẤY MỜI", title=f"Tham dự {convocation.conference.title}", place=convocation.place,
        day=convocation.issued_on, recipients=[f"{to};" if recipient else "Như trên;", "Lưu: VT."],
        signature=Signature(title=convocation.signer_title, on_behalf=convocation.signer_on_behalf,
                            name=convocation.signer_name),
        filename=f"giay-moi-{convocation.issuer.code}" + (f"-{recipient.unit.code}" if recipient else ""))


def convocation_context(convocation: Convocation, recipient: Recipient | None = None,
                        confirm_url: str = "") -> dict:
    """Everything the convocation's page, PDF and .docx show, for ``recipient``'s unit (or the issuer's)."""
    unit = recipient.unit if recipient else convocation.issuer
    with translation.override("vi"):
        blocks = points_list.official_list(SYSTEM, convocation.conference, unit)
        recipients = [r.unit.name for r in convocation.recipients.select_related("unit").order_by("unit__path")]
        return {
            "doc": convocation_document(convocation, recipient), "convocation": convocation,
            "conference": convocation.conference, "recipient": recipient, "unit": unit,
            "to": [recipient.unit.name] if recipient else recipients,
            "parent_line": _parent_line(convocation), "sessions": _sessions(convocation),
            "points": _points(blocks), "blocks": blocks, "composition": _composition(convocation, unit),
            "contact": _issuer_contact(convocation), "confirm_url": confirm_url,
        }


def _issuer_contact(convocation: Convocation) -> str:
    user = convocation.created_by
    if user is None:
        return ""
    person = getattr(user, "person", None)
    name = person.full_name if person else (user.get_full_name() or user.username)
    reach = ", ".join(x for x in [person.phone if person else "", user.email] if x)
    return f"{name} ({reach})" if reach else name


def calendar(convocation: Convocation, unit_name: str = "") -> bytes:
    """The calendar invitation (.ics): one event per session, in the settings' time zone."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//diemcau//giay moi//VI")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    zone = timezone.get_current_timezone()
    for s in convocation.conference.sessions.all():
        event = icalendar.Event()
        event.add("uid", f"diemcau-session-{s.pk}@{convocation.issuer.code}")
        event.add("summary", f"{convocation.conference.title}: {s.title}")
        event.add("dtstart", timezone.localtime(s.starts_at, zone))
        event.add("dtend", timezone.localtime(s.ends_at, zone))
        event.add("dtstamp", timezone.now())
        event.add("location", convocation.conference.place or convocation.place)
        event.add("description", f"Giấy mời số {convocation.number or '…'}/{convocation.symbol} "
                                 f"của {convocation.issuer.name}" + (f" gửi {unit_name}" if unit_name else ""))
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
