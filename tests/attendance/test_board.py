"""The live board's figures (hand-checked on Ba Vì's morning), its dirty notices, chart and pages."""

import datetime

import pytest
from django.utils import timezone, translation
from django.utils.html import escape

from diemcau.attendance import board, board_notices, board_rows
from diemcau.attendance.models import CheckIn
from diemcau.orgs.models import Role

from .conftest import MGMT, STAFF, TEACHER, headcount, morning_so_far, roll_call  # noqa: F401  (fixture)

pytestmark = pytest.mark.smoke


def test_board_figures_by_hand(morning_so_far):  # noqa: F811
    w = morning_so_far
    t, s = w["t"], w["session"]
    data = board.board_data(s, t["bavi"])
    assert (data["expected"], data["present"], data["absent"]) == (86, 19, 67)
    assert {c["key"]: c["n"] for c in data["by_category"]} == {MGMT: 2, TEACHER: 14, STAFF: 3}
    # Per point, the district's share: Ba Vì's point has schools A (3 of 4) and B (1 of 2); THPT's
    # point counts by headcount (12 + 3). The points add up to the totals.
    points = {p["point"]: (p["institutions"], p["expected"], p["present"], p["headcount"]) for p in data["points"]}
    assert points == {w["bavi_point"].name: (2, 6, 4, None), w["thpt_point"].name: (1, 80, 15, 15)}
    assert sum(p["present"] for p in data["points"]) == data["present"]
    assert sum(p["expected"] for p in data["points"]) == data["expected"]
    # Nobody is missing: THPT is counted by headcount, so it is never "absent" per institution.
    assert data["missing_total"] == 0
    assert {b["institution"]: b["missing"] for b in data["breaches"]} == {
        t["school_a"].name: {STAFF: 1}, t["school_b"].name: {"named": 1}}
    assert (data["compliance_total"], data["compliance_complete"]) == (2, 0)
    # Arrivals: each person once at their first check-in (school B's principal came twice).
    assert data["chart"]["total"] == 4

    hanoi = board.board_data(s, t["hanoi"])
    assert [m["institution"] for m in hanoi["missing_institutions"]] == [t["school_c"].name]
    assert {c["unit"] for c in hanoi["children"]} == {t["bavi"].name, t["socson"].name}
    assert board.board_data(s, t["hcm"])["chart"] is None


def test_dirty_notices_name_the_paths_touched(world):
    p, t = world["people"], world["t"]
    row = roll_call(world, p["a_t1"]).checkin
    assert board_notices.dirty_notices([row]) == {world["session"].pk: [t["school_a"].path]}
    heads = headcount(world, {TEACHER: 5})
    notice = board_notices.dirty_notices(heads)[world["session"].pk]
    assert notice in ([], [t["THPT_BAVI"].path])  # the host's path when it is at hand, else the whole session
    fresh = CheckIn.objects.get(pk=row.pk)  # nothing cached: the whole session is dirty
    assert board_notices.dirty_notices([fresh]) == {world["session"].pk: []}
    # Notices queued meanwhile go as one per session: their paths merged, none named absorbing the rest.
    a, b = {"type": "hub.dirty", "paths": ["0001", "0003"]}, {"type": "hub.dirty", "paths": ["0002", "0001"]}
    assert board_notices.merge(a, b) == {"type": "hub.dirty", "paths": ["0001", "0002", "0003"]}
    assert board_notices.merge(a, {"type": "hub.dirty", "paths": []})["paths"] == []


def test_arrivals_chart_groups_minutes_as_numbers_for_the_page_to_draw():
    at = timezone.make_aware(datetime.datetime(2023, 8, 15, 7, 30))
    series = [(at, 3), (at + datetime.timedelta(minutes=1), 1), (at + datetime.timedelta(minutes=15), 2)]
    chart = board.arrivals_chart(series, expected=12, now=at - datetime.timedelta(days=1))
    assert chart["step"] == 1 and chart["total"] == 6 and chart["peak"] == 3 and chart["scale"] == 5
    assert [n for n in chart["counts"] if n] == [3, 1, 2] and chart["counts"][15] == 2
    assert chart["start"] == 7 * 60 + 30 and chart["reference"] == 12 and chart["share"] == 50.0
    long = [(at + datetime.timedelta(minutes=k), 1) for k in range(0, 300, 3)]
    assert board.arrivals_chart(long, expected=0, now=at)["step"] == 5
    assert len(board.arrivals_chart(long, expected=0, now=at)["counts"]) <= board.MAX_BARS
    # The row the websocket sends: the numbers and an empty drawing, not an SVG of every bar.
    with translation.override("vi"):
        html = board_rows.render_row("b-chart", {"k": "chart", "chart": chart}, 1)
    assert 'data-counts="3 1 0 ' in html and "<rect" not in html and len(html) < 1200


# --- pages ------------------------------------------------------------------------------------
def board_url(w, unit, tail=""):
    return f"/attendance/sessions/{w['session'].pk}/units/{unit.pk}/board/{tail}"


def test_board_page_scoped_and_drills_down(client, morning_so_far, organiser_bavi, national, make_user):  # noqa: F811
    w, t = morning_so_far, morning_so_far["t"]
    client.force_login(organiser_bavi)
    start = client.get(f"/attendance/sessions/{w['session'].pk}/board/")
    assert start.status_code == 302 and start["Location"] == board_url(w, t["bavi"])
    page = client.get(board_url(w, t["bavi"])).content.decode()
    assert 'data-figure="present">19<' in page and 'data-figure="expected">86<' in page
    assert f"/ws/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/board/" in page
    assert escape(t["school_a"].name) in page and "<svg" in page
    assert board_url(w, t["school_a"]) in page  # drill down to one school
    assert client.get(board_url(w, t["school_a"])).status_code == 200
    live = client.get(board_url(w, t["bavi"], "live/")).content.decode()
    assert 'data-figure="present">19<' in live and "<html" not in live
    assert client.get(board_url(w, t["hanoi"])).status_code == 404  # above the district
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, t["socson"]))
    assert client.get(board_url(w, t["bavi"])).status_code == 404
    assert client.get(board_url(w, t["bavi"], "live/")).status_code == 404
    client.force_login(national)
    start = client.get(f"/attendance/sessions/{w['session'].pk}/board/")
    assert start["Location"] == board_url(w, t["ministry"])
    page = client.get(board_url(w, t["ministry"])).content.decode()
    assert board_url(w, t["hanoi"]) in page and 'data-figure="present">19<' in page


def test_board_needs_a_login(client, world):
    response = client.get(board_url(world, world["t"]["bavi"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_board_warns_where_declared_headcounts_and_the_roster_differ(client, world, organiser_bavi):
    from diemcau.orgs.models import Unit
    from diemcau.orgs.services import unit_counts, unit_roster_gaps

    t = world["t"]
    gaps = unit_roster_gaps(t["bavi"])
    assert gaps and gaps == unit_counts(t["bavi"])["roster_gaps"]  # the unit page's rule, not a second one
    client.force_login(organiser_bavi)
    page = client.get(board_url(world, t["bavi"])).content.decode()
    assert "data-roster-gaps" in page and "Số lượng khai báo và danh sách người đã nhập không khớp" in page
    teachers = next(g for g in gaps if g["category"] == TEACHER)
    assert f"khai báo {teachers['declared']}, danh sách có {teachers['listed']}" in page
    assert f"/orgs/units/{t['bavi'].pk}/" in page
    assert "data-roster-gaps" not in client.get(board_url(world, t["bavi"], "live/")).content.decode()
    # Declared figures that match the list: no warning.
    school = t["school_a"]
    Unit.objects.filter(pk=school.pk).update(managers_count=1, teachers_count=3, staff_count=1)
    assert unit_roster_gaps(school) == []
    assert "data-roster-gaps" not in client.get(board_url(world, school)).content.decode()
