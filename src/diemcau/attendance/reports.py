"""Attendance reports (báo cáo kết quả tham dự): the rows a unit sends up, and a point's list of people.

- :func:`unit_report` gathers one unit's report for a session: totals, rows per bridge point,
  per institution, the institutions that are missing (assigned, nobody present) and the
  composition breaches. The official document around them (print page, PDF, .xlsx) is built in
  ``diemcau.reports.attendance``.
- :func:`point_people` lists who is expected at one point, present or not, when and how.

Headcount-only points count people per point, not per institution: their institutions show no one
present per institution and are never listed as missing; the point rows carry the headcount.
"""

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core.excel import WorkbookBuilder
from diemcau.core.vntext import by_name, people_order
from diemcau.events.models import Session
from diemcau.orgs.models import Person, Unit
from diemcau.points.models import Assignment, BridgePoint

from . import board, rollup
from .models import CheckIn, Delegation, DelegationMember


def unit_report(session: Session, unit: Unit) -> dict:
    """One unit's report for a session: every row, nothing cut."""
    data = board.board_data(session, unit, limit=None)
    institutions = board.institution_figures(session, unit)
    compliance = {c["institution_id"]: c for c in rollup.rollup(session, unit)["compliance"]}
    points = {p.pk: p for p in BridgePoint.objects.filter(pk__in={i["point_id"] for i in institutions})}
    for i in institutions:
        i["compliance"] = compliance.get(i["institution_id"])
        i["point"] = points[i["point_id"]].name if i["point_id"] in points else ""
        i["missing_text"] = board.missing_text(i["compliance"]["missing"]) if i["compliance"] else ""
    point_names = {p["point_id"]: p["point"] for p in data["points"]}
    for m in data["missing_institutions"]:
        m["point"] = point_names.get(m["point_id"], "")
    return {**data, "institutions": institutions, "session": session, "unit": unit, "parent": unit.parent,
            "as_of": timezone.localtime().strftime("%H:%M %d/%m/%Y")}


# --- one point's people -------------------------------------------------------------------------
def point_people(session: Session, point: BridgePoint, within: Q | None = None) -> list[dict]:
    """Who is expected at ``point`` and whether they came: named members (or all staff, or, with no
    names, every active person) of its institutions, plus anyone else checked in there.

    ``within`` (a filter on Person) keeps the rows to the viewer's scope. Each row: the person,
    expected or not, present here / elsewhere / absent, first time and method, and flags.
    """
    assigned = Assignment.objects.filter(session=session, point=point)
    delegations = list(Delegation.objects.filter(session=session, institution_id__in=assigned.values("institution_id")))
    named_ids = set(DelegationMember.objects.filter(delegation__in=delegations).values_list("person_id", flat=True))
    # Institutions that named people (other than "all staff") expect those people only.
    by_names = set(DelegationMember.objects.filter(delegation__in=[
        d for d in delegations if d.rule != Delegation.Rule.ALL_STAFF]).values_list("delegation__institution_id",
                                                                                    flat=True))
    expected = Person.objects.filter(is_active=True, unit__in=assigned.values("institution_id")).filter(
        Q(pk__in=named_ids) | ~Q(unit_id__in=by_names))
    here = CheckIn.objects.filter(session=session, point=point, person__isnull=False).values("person_id")
    qs = Person.objects.filter(Q(pk__in=expected.values("pk")) | Q(pk__in=here))
    if within is not None:
        qs = qs.filter(within)
    people = list(qs.select_related("unit").order_by(by_name("unit__name"), "category", *people_order(), "pk"))
    checkins: dict[int, list] = {}
    for c in (CheckIn.objects.filter(session=session, person__in=[p.pk for p in people])
              .order_by("scanned_at", "id").values("person_id", "point_id", "scanned_at", "method",
                                                  "duplicate_person", "other_point", "scan_time_clamped")):
        checkins.setdefault(c["person_id"], []).append(c)
    assigned_ids = set(assigned.values_list("institution_id", flat=True))
    methods = {key: str(label) for key, label in CheckIn.Method.choices}
    rows = []
    for p in people:
        mine = checkins.get(p.pk, [])
        at_point = [c for c in mine if c["point_id"] == point.pk]
        first = (at_point or mine or [None])[0]
        status = "here" if at_point else ("elsewhere" if mine else "absent")
        rows.append({
            "person": p, "institution": p.unit.name, "category": p.get_category_display(),
            "expected": p.unit_id in assigned_ids, "named": p.pk in named_ids,
            "status": status, "at": timezone.localtime(first["scanned_at"]) if first else None,
            "method": methods.get(first["method"], "") if first else "",
            "count": len(mine), "duplicate": any(c["duplicate_person"] for c in mine) or len(at_point) > 1,
            "other_point": any(c["other_point"] for c in mine) or p.unit_id not in assigned_ids,
            "clock": any(c["scan_time_clamped"] for c in mine),
        })
    return rows


def point_people_xlsx(session: Session, point: BridgePoint, rows: list[dict]) -> bytes:
    """The point's list of people as an .xlsx (a working list in the interface's language)."""
    labels = {"here": _("Present"), "elsewhere": _("Present at another point"), "absent": _("Absent")}
    present = sum(r["status"] == "here" for r in rows)
    heading = [point.name.upper(), _("List of people: %(session)s") % {"session": session.title},
               _("Present %(present)s of %(n)s listed, as of %(now)s") % {
                   "present": present, "n": len(rows), "now": timezone.localtime().strftime("%H:%M %d/%m/%Y")}]
    book = WorkbookBuilder()

    def lines():
        for n, r in enumerate(rows, start=1):
            flags = [text for on, text in ((r["duplicate"], _("Duplicate")), (r["other_point"], _("Other point")),
                                           (r["clock"], _("Scan time corrected"))) if on]
            yield [n, r["person"].full_name, r["person"].code, r["institution"], r["category"],
                   _("Yes") if r["named"] else "", labels[r["status"]],
                   r["at"].strftime("%H:%M:%S %d/%m/%Y") if r["at"] else "", r["method"], ", ".join(flags)]

    book.sheet(_("People"), [_("No."), _("Full name"), _("Personal code"), _("Institution"), _("Category"),
                             _("Named"), _("Status"), _("Time"), _("Method"), _("Flags")],
               lines(), heading=heading, widths=[6, 30, 14, 36, 16, 10, 22, 20, 28, 24])
    return book.to_bytes()
