"""Attendance reports (báo cáo tình hình tham dự): the rows a unit sends up, as a spreadsheet.

One row per institution of the subtree assigned to the session: its point, expected, present,
percentage, and whether its delegation met its rule. Headcount-only points count people per
point, not per institution, so their institutions show no one present here; the roll-up has them.
"""

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core.excel import build_workbook
from diemcau.events.models import Session
from diemcau.orgs.models import Unit
from diemcau.points.models import Assignment

from . import services
from .models import CheckIn


def institution_rows(session: Session, unit: Unit) -> list[dict]:
    """Per assigned institution below ``unit``: point, expected, present, compliance."""
    assignments = Assignment.objects.filter(session=session).filter(
        services.subtree_q("institution__path", unit))
    expected = services.expected_by_institution(session, assignments)
    present = dict(CheckIn.objects.filter(session=session, person__isnull=False, institution__in=assignments.values(
        "institution_id")).values("institution_id").annotate(n=Count("person", distinct=True))
        .values_list("institution_id", "n"))
    summary = services.rollup(session, unit)
    compliance = {c["institution_id"]: c for c in summary["compliance"]}
    rows = []
    for a in assignments.select_related("institution__parent", "point").order_by("institution__path"):
        pk = a.institution_id
        c = compliance.get(pk)
        rows.append({
            "institution": a.institution, "parent": a.institution.parent, "point": a.point,
            "expected": expected.get(pk, 0), "present": present.get(pk, 0),
            "percentage": services.percentage_of(present.get(pk, 0), expected.get(pk, 0)),
            "compliance": c,
        })
    return rows


def _missing_text(missing: dict) -> str:
    labels = {"management": _("Management board"), "teacher": _("Teachers"), "staff": _("Staff"),
              "named": _("named people absent")}
    return ", ".join(f"{labels.get(k, k)}: {n}" for k, n in missing.items())


def report_xlsx(session: Session, unit: Unit) -> bytes:
    """The unit's attendance report for a session as an .xlsx."""
    rows = institution_rows(session, unit)
    summary = services.rollup(session, unit)
    heading = [
        unit.name.upper(),
        _("Attendance report: %(session)s") % {"session": session.title},
        _("Expected %(expected)s, present %(present)s (%(pct)s%%), as of %(now)s") % {
            "expected": summary["expected"], "present": summary["present"],
            "pct": summary["percentage"] if summary["percentage"] is not None else "—",
            "now": timezone.localtime().strftime("%H:%M %d/%m/%Y")},
    ]
    headers = [_("No."), _("Institution"), _("Unit above"), _("Bridge point"), _("Expected"), _("Present"),
               _("Percentage"), _("Composition"), _("Missing")]

    def lines():
        for n, r in enumerate(rows, start=1):
            c = r["compliance"]
            status = "" if c is None else (_("Complete") if c["complete"] else _("Incomplete"))
            yield [n, r["institution"].name, r["parent"].name if r["parent"] else "", r["point"].name,
                   r["expected"], r["present"], r["percentage"], status, _missing_text(c["missing"]) if c else ""]

    return build_workbook(_("Attendance"), headers, lines(), heading=heading,
                          widths=[6, 40, 30, 36, 10, 10, 10, 14, 36])
