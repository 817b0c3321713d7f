"""The attendance board (bảng theo dõi điểm danh), the organiser's live roll-up, and the figures the reports share.

:func:`board_data` gathers, for one session and one unit's subtree: the roll-up (expected,
present, by category, per child unit, compliance), the rows per bridge point, the institutions
that are missing, and the arrivals over time. Grouped queries only; loops run over institutions,
points and minutes, never over people.

Live updates: the check-in services publish a "dirty" notice on commit (:mod:`.board_notices`);
the consumers' per-process hub (:mod:`.consumers`) recomputes each watched unit at most once per tick.
"""

import datetime

from django.db.models import Q, Sum
from django.utils import timezone

from diemcau.core.dbrouter import reading_replica
from diemcau.events.models import Session
from diemcau.orgs.models import Person, Unit
from diemcau.points.models import Assignment, BridgePoint

from . import counts, rollup
from .models import CheckIn

# Long lists on the board are cut here; the reports have every row.
ROW_LIMIT = 40
# The chart has at most this many bars; minutes are grouped in steps to stay under it.
MAX_BARS = 90
STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 240, 720, 1440]


def group_name(session_id: int) -> str:
    """The channel-layer group that hears about new check-ins of a session."""
    return f"attendance-board-{session_id}"


# --- figures ----------------------------------------------------------------------------------
def institution_figures(session: Session, unit: Unit) -> list[dict]:
    """Per institution of the subtree assigned to the session: its point, expected and present."""
    assignments = Assignment.objects.filter(session=session).filter(rollup.subtree_q("institution__path", unit))
    # Both from the running counts (present: one person once, at their first check-in's institution;
    # expected: as the delegations' rules say, kept when assignments or delegations change), not a scan
    # and not the rules recomputed on every tick: the rows add up to the roll-up's own sums.
    figures = counts.by_institution(session, unit)
    expected = {pk: e for pk, (_p, e) in figures.items()}
    present = {pk: p for pk, (p, _e) in figures.items()}
    headcount_points = set(CheckIn.objects.filter(session=session, method=CheckIn.Method.HEADCOUNT)
                           .values_list("point_id", flat=True).distinct())
    rows = []
    for a in assignments.values("institution_id", "institution__name", "institution__path",
                                "institution__parent__name", "point_id").order_by("institution__path"):
        pk = a["institution_id"]
        rows.append({"institution_id": pk, "institution": a["institution__name"],
                     "parent": a["institution__parent__name"] or "", "point_id": a["point_id"],
                     "path": a["institution__path"],
                     "expected": expected.get(pk, 0), "present": present.get(pk, 0),
                     "percentage": rollup.percentage_of(present.get(pk, 0), expected.get(pk, 0)),
                     "by_headcount": a["point_id"] in headcount_points})
    return rows


def point_rows(session: Session, unit: Unit, institutions: list[dict]) -> list[dict]:
    """Per bridge point, the unit's share: its institutions' expected and present people, plus the
    latest headcount when the point is hosted in the subtree. The rows add up to the roll-up."""
    by_point: dict[int, dict] = {}
    for i in institutions:
        row = by_point.setdefault(i["point_id"], {"expected": 0, "present": 0, "institutions": 0})
        row["expected"] += i["expected"]
        row["present"] += i["present"]
        row["institutions"] += 1
    heads = (rollup.latest_headcounts(session).filter(rollup.subtree_q("point__hall__unit__path", unit))
             .values("point_id").annotate(n=Sum("count")).values_list("point_id", "n"))
    headcount = {}
    for pk, n in heads:
        headcount[pk] = n or 0
        by_point.setdefault(pk, {"expected": 0, "present": 0, "institutions": 0})["present"] += n or 0
    names = {p["pk"]: p for p in BridgePoint.objects.filter(pk__in=by_point).values(
        "pk", "name", "hall__name", "hall__unit__name", "hall__unit__path")}
    rows = []
    for pk, r in by_point.items():
        p = names.get(pk, {})
        rows.append({"point_id": pk, "point": p.get("name", ""), "host": p.get("hall__unit__name", ""),
                     "path": p.get("hall__unit__path", ""), "hall": p.get("hall__name", ""),
                     "expected": r["expected"], "present": r["present"], "institutions": r["institutions"],
                     "headcount": headcount.get(pk), "percentage": rollup.percentage_of(r["present"], r["expected"])})
    rows.sort(key=lambda r: (r["path"], r["point"]))
    return rows


def arrivals(session: Session, unit: Unit) -> list[tuple[datetime.datetime, int]]:
    """People of the subtree arriving per minute: each person once, at their first check-in. From the
    running counts per minute (:func:`counts.arrivals_in`), not a scan of the session's check-ins."""
    return counts.arrivals_in(session, unit)


def arrivals_chart(series, expected: int, now=None) -> dict | None:
    """The arrivals chart as numbers (the page draws it: ``static/attendance/board.js``): arrivals per
    step of minutes from ``start`` (local time), the axis maximum, and what the cumulative line is a
    share of (``expected``, or the total when nothing is expected).

    A tick during a burst changes a few numbers here, not a drawing: the websocket sends ~100 bytes of
    counts instead of an SVG of a few kilobytes to every viewer.
    """
    if not series:
        return None
    tz = timezone.get_current_timezone()
    first = timezone.localtime(series[0][0], tz)
    last = timezone.localtime(series[-1][0], tz)
    now = timezone.localtime(now or timezone.now(), tz).replace(second=0, microsecond=0)
    if first <= now <= last + datetime.timedelta(hours=1):  # a live session: run the axis to now
        last = max(last, now)
    last = max(last, first + datetime.timedelta(minutes=10))
    span = int((last - first).total_seconds() // 60) + 1
    step = next((s for s in STEPS if span / s <= MAX_BARS), STEPS[-1])
    start = first - datetime.timedelta(minutes=(first.hour * 60 + first.minute) % step)
    n_bars = int((last - start).total_seconds() // 60) // step + 1
    counts = [0] * n_bars
    for at, n in series:
        counts[int((timezone.localtime(at, tz) - start).total_seconds() // 60) // step] += n
    total = sum(counts)
    peak = max(counts)
    return {"counts": counts, "start": start.hour * 60 + start.minute, "step": step, "scale": _nice(peak or 1),
            "reference": expected or total or 1, "total": total, "peak": peak,
            "from": start.strftime("%H:%M %d/%m/%Y"),
            "share": rollup.percentage_of(total, expected) if expected else None}


def _nice(n: int) -> int:
    """A round axis maximum at or above ``n`` (1, 2, 5 × 10^k)."""
    magnitude = 1
    while True:
        for m in (1, 2, 5):
            if m * magnitude >= n:
                return m * magnitude
        magnitude *= 10


def _bar(row: dict) -> float:
    return min(row["percentage"] or 0, 100)


@reading_replica  # figures may lag the primary by a moment: read from the replica when there is one
def board_data(session: Session, unit: Unit, *, limit: int = ROW_LIMIT) -> dict:
    """Everything the board shows for ``unit``'s subtree, as plain data (the hub renders it)."""
    summary = rollup.rollup(session, unit)
    institutions = institution_figures(session, unit)
    points = point_rows(session, unit, institutions)
    missing = [i for i in institutions if i["expected"] and not i["present"] and not i["by_headcount"]]
    compliance = summary["compliance"]
    breaches = [c for c in compliance if not c["complete"]]
    path_of = {i["institution_id"]: i["path"] for i in institutions}
    for c in breaches:
        c["missing_text"] = missing_text(c["missing"])
        c["path"] = path_of.get(c["institution_id"], "")
    for row in summary["children"] + points:
        row["bar"] = _bar(row)
    chart = arrivals_chart(arrivals(session, unit), summary["expected"])
    by_category = [{"key": key, "label": label, "n": summary["by_category"].get(key, 0)}
                   for key, label in Person.Category.choices]
    return {
        "session_id": session.pk, "unit_id": unit.pk, "unit": unit.name,
        "expected": summary["expected"], "present": summary["present"], "percentage": summary["percentage"],
        "absent": max(summary["expected"] - summary["present"], 0), "bar": _bar(summary),
        "by_category": by_category, "children": summary["children"],
        "points": points[:limit], "points_total": len(points),
        "institutions_total": len(institutions),
        "missing_institutions": missing[:limit], "missing_total": len(missing),
        "compliance_total": len(compliance), "compliance_complete": len(compliance) - len(breaches),
        "breaches": breaches[:limit], "breaches_total": len(breaches),
        "chart": chart, "computed_at": timezone.now(),
    }


def missing_text(missing: dict) -> str:
    """'Management board: 1, Teachers: 2' for a compliance row's ``missing`` (translated)."""
    from django.utils.translation import gettext as _

    labels = {"management": _("Management board"), "teacher": _("Teachers"), "staff": _("Staff"),
              "named": _("named people absent")}
    return ", ".join(f"{labels.get(k, k)}: {n}" for k, n in missing.items())


def figures(data: dict) -> dict:
    """The few numbers a websocket message carries beside its HTML (for scripts and the benchmark)."""
    return {"session": data["session_id"], "unit": data["unit_id"], "expected": data["expected"],
            "present": data["present"], "percentage": data["percentage"],
            "by_category": {c["key"]: c["n"] for c in data["by_category"]},
            "computed_at": data["computed_at"].timestamp()}


# --- where the board starts ---------------------------------------------------------------------
def default_unit(scope) -> Unit | None:
    """The user's top scoped unit: the ministry for national staff, their own unit otherwise."""
    return scope.roots().order_by("path").first()


def trail(scope, unit: Unit) -> list[Unit]:
    """The units from the top of the user's scope down to ``unit`` (for breadcrumbs and drill-up)."""
    ancestors = Unit.objects.filter(pk__in=unit.ancestor_ids()).order_by("path")
    return [u for u in ancestors if scope.can_see(u)]


def points_under(session: Session, unit: Unit):
    """Bridge points of the session hosted in the subtree or serving its institutions."""
    assigned = Assignment.objects.filter(session=session).filter(
        rollup.subtree_q("institution__path", unit)).values("point_id")
    return (BridgePoint.objects.filter(conference_id=session.conference_id)
            .filter(rollup.subtree_q("hall__unit__path", unit) | Q(pk__in=assigned)))
