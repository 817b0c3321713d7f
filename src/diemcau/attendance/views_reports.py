"""The organiser's live board and a point's people (page, .xlsx).

Thin: :mod:`board` and :mod:`reports` compute, templates show. A session, unit or point outside the
user's read scope is a 404. The unit's attendance report, an official document, is
in ``diemcau.reports``. The board's page is rendered here once; the websocket
(:mod:`consumers`) keeps it current, and ``board/live/`` serves the same fragment to poll.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from diemcau.core.excel import xlsx_response
from diemcau.events.shortcuts import visible_session
from diemcau.orgs import services as orgs
from diemcau.orgs.scoping import scope_for
from diemcau.points.access import operates_point
from diemcau.points.models import Assignment
from diemcau.points.shortcuts import session_point

from . import board as figures
from . import board_rows, reports


def _unit(request, uid):
    return get_object_or_404(scope_for(request.user).units(), pk=uid)


@login_required
def board_start(request, sid):
    """The board of the user's top unit: the nation for the ministry, the district for its office."""
    session = visible_session(request, sid)
    unit = figures.default_unit(scope_for(request.user))
    if unit is None:
        raise Http404
    return redirect("attendance:board", sid=session.pk, uid=unit.pk)


@login_required
def board(request, sid, uid):
    """A unit's live roll-up for a session: figures, child units, points, compliance, arrivals."""
    session = visible_session(request, sid)
    unit = _unit(request, uid)
    scope = scope_for(request.user)
    return render(request, "attendance/board.html", {
        "session": session, "conference": session.conference, "unit": unit,
        "board_html": board_rows.board_html(figures.board_data(session, unit)), "trail": figures.trail(scope, unit),
        "roots": list(scope.roots().order_by("path")[:20]),
        # Once per page, not per live push: headcounts change by import, not by check-in.
        "roster_gaps": orgs.unit_roster_gaps(unit),
        "ws_path": f"/ws/attendance/sessions/{session.pk}/units/{unit.pk}/board/"})


@login_required
def board_live(request, sid, uid):
    """The board's live part alone: what the websocket pushes, for a browser that must poll."""
    session = visible_session(request, sid)
    unit = _unit(request, uid)
    return HttpResponse(board_rows.board_html(figures.board_data(session, unit)))


def _visible_point(request, sid, pk):
    """The point if the user operates it, sees its host unit, or sees an institution assigned to it;
    with the filter that keeps its people to the user's scope (none for its operators)."""
    session, point = session_point(request, sid, pk)
    scope = scope_for(request.user)
    if operates_point(request.user, point):
        return session, point, None
    within = scope.q("unit__path")
    sees_host = scope.can_see(point.hall.unit)
    sees_some = Assignment.objects.filter(session=session, point=point).filter(
        scope.q("institution__path")).exists()
    if not (sees_host or sees_some):
        raise Http404
    return session, point, within if not scope.reads_everything else None


@login_required
def point_people(request, sid, pk):
    """Who is expected at one point, present or not, when and how, with duplicate flags."""
    session, point, within = _visible_point(request, sid, pk)
    rows = reports.point_people(session, point, within)
    counts = {key: sum(r["status"] == key for r in rows) for key in ("here", "elsewhere", "absent")}
    return render(request, "attendance/point_people.html", {
        "session": session, "conference": session.conference, "point": point, "rows": rows, "counts": counts,
        "flagged": sum(r["duplicate"] or r["other_point"] for r in rows)})


@login_required
def point_people_xlsx(request, sid, pk):
    session, point, within = _visible_point(request, sid, pk)
    rows = reports.point_people(session, point, within)
    orgs.record_personal_export(request.user, "attendance.point_people", point.hall.unit, rows=len(rows),
                                filters={"session": session.pk, "point": point.pk})
    return xlsx_response(reports.point_people_xlsx(session, point, rows),
                         f"danh-sach-{point.pk}-{session.pk}.xlsx")

