"""The planning pages: each renders, stays in scope, and calls the services."""

import io

import pytest
from django.utils.html import escape
from openpyxl import Workbook, load_workbook

from diemcau.orgs.scoping import SYSTEM
from diemcau.points import assignment, bridge_points
from diemcau.points import halls as points_halls
from diemcau.points.models import Assignment, AssignmentImport, BridgePoint, Proposal

from .conftest import unit

pytestmark = pytest.mark.smoke


@pytest.fixture
def bavi_client(client, organiser_bavi):
    client.force_login(organiser_bavi)
    return client


@pytest.fixture
def bavi_point(planning):
    return bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["bavi"],
                                      contact_name="Nguyễn Văn Kỹ", contact_phone="0912345678")


def test_conference_pages_render(bavi_client, planning, bavi_point):
    conf, morning = planning["conference"], planning["morning"]
    assignment.assign(SYSTEM, morning, unit("THPT_BAVI"), bavi_point)
    html = bavi_client.get("/events/").content.decode()
    assert escape(conf.title) in html
    html = bavi_client.get(f"/events/{conf.pk}/").content.decode()
    assert "Phiên buổi sáng" in html and 'id="missing"' in html
    html = bavi_client.get(f"/events/sessions/{morning.pk}/").content.decode()
    assert "Trường THPT Ba Vì" in html and "Phù Linh" not in html  # Sóc Sơn's school is not Ba Vì's
    response = bavi_client.get(f"/events/sessions/{morning.pk}/export/")
    ws = load_workbook(io.BytesIO(response.content)).active
    assert any("Trường THPT Ba Vì" in (c or "") for row in ws.iter_rows(values_only=True) for c in row
               if isinstance(c, str))


def test_points_pages_render(bavi_client, planning, bavi_point):
    conf = planning["conference"]
    html = bavi_client.get(f"/points/conference/{conf.pk}/").content.decode()
    assert "Phòng GD&amp;ĐT huyện Ba Vì" in html and "Điểm cầu Sở GD&amp;ĐT Hà Nội" in html  # relay line
    assert bavi_client.get(f"/points/{bavi_point.pk}/").status_code == 200
    assert bavi_client.get(f"/points/{planning['hanoi_point'].pk}/").status_code == 200  # upstream: readable
    assert bavi_client.get(f"/points/{planning['hanoi_point'].pk}/edit/").status_code == 403
    assert bavi_client.get(f"/points/halls/?unit={planning['t']['bavi'].pk}").status_code == 200
    assert bavi_client.get(f"/points/conference/{conf.pk}/new/").status_code == 200


def test_points_outside_the_line_are_not_found(bavi_client, planning):
    hall = points_halls.create_hall(SYSTEM, planning["t"]["hcm"], name="Hội trường", capacity=100)
    point = bridge_points.create_point(SYSTEM, planning["conference"], hall)
    assert bavi_client.get(f"/points/{point.pk}/").status_code == 404
    assert bavi_client.get(f"/points/halls/?unit={planning['t']['hcm'].pk}").status_code == 404
    assert bavi_client.get(f"/points/sessions/{planning['morning'].pk}/plan/?unit={planning['t']['hanoi'].pk}"
                           ).status_code == 404


def test_readiness_and_check_through_the_page(bavi_client, planning, bavi_point):
    url = f"/points/{bavi_point.pk}/"
    bavi_client.post(url + "edit/", {"name": bavi_point.name, "contact_name": "A", "contact_phone": "0912",
                                     "has_camera": "on", "has_microphone": "on", "has_speakers": "on",
                                     "has_display": "on", "has_computer": "on", "bandwidth_mbps": "30",
                                     "sessions": [planning["morning"].pk]})
    bavi_client.post(url + "readiness/", {"state": "equipped"})
    bavi_client.post(url + "check/", {"passed": "1", "note": "Tốt", "bandwidth_mbps": "32"})
    point = BridgePoint.objects.get(pk=bavi_point.pk)
    assert point.readiness == "checked" and point.check_result == "passed"
    assert list(point.sessions.all()) == [planning["morning"]]
    response = bavi_client.post(url + "readiness/", {"state": "ended"}, follow=True)
    assert "không thể" in response.content.decode().lower() or "cannot" in response.content.decode()


def test_assign_by_hand_page(bavi_client, planning, bavi_point):
    morning, bavi = planning["morning"], planning["t"]["bavi"]
    url = f"/points/sessions/{morning.pk}/assign/?unit={bavi.pk}"
    html = bavi_client.get(url).content.decode()
    assert "Trường THPT Ba Vì" in html and escape(bavi_point.name) in html
    thpt, gdtx = unit("THPT_BAVI"), unit("GDTX_BAVI")
    response = bavi_client.post(url, {f"p_{thpt.pk}": bavi_point.pk, f"was_{thpt.pk}": "",
                                      f"p_{gdtx.pk}": bavi_point.pk, f"was_{gdtx.pk}": "", "action": "save"})
    assert response.status_code == 302
    assert Assignment.objects.filter(session=morning, point=bavi_point).count() == 2
    # Moving too many schools is refused with the reason, and nothing changes.
    others = [unit(c) for c in ("THCS_TANLINH", "TH_TANLINH")]
    response = bavi_client.post(url, {"action": "move", "target": bavi_point.pk,
                                      "selected": [u.pk for u in others]})
    assert response.status_code == 200 and "150" in response.content.decode()
    assert Assignment.objects.filter(session=morning).count() == 2


def test_planner_page_runs_and_applies(bavi_client, planning, django_capture_on_commit_callbacks):
    morning, bavi = planning["morning"], planning["t"]["bavi"]
    url = f"/points/sessions/{morning.pk}/plan/?unit={bavi.pk}"
    html = bavi_client.get(url).content.decode()
    assert "Hội trường Phòng" in html
    halls = [h.pk for k, h in planning["halls"].items() if k not in ("ministry", "hanoi")]
    with django_capture_on_commit_callbacks(execute=True):
        response = bavi_client.post(url, {"unit": bavi.pk, "k": 3, "mode": "choose", "method": "heuristic",
                                          "hall": halls, "time_limit_s": 20})
    assert response.status_code == 302, response.content.decode()[:2000]
    proposal = Proposal.objects.get()
    html = bavi_client.get(response["Location"]).content.decode()
    assert "<svg" in html and "Trường THPT Ba Vì" in html and 'id="apply"' in html
    response = bavi_client.post(f"/points/proposals/{proposal.pk}/apply/", follow=True)
    assert Assignment.objects.filter(session=morning, method="planner").count() == 10
    proposal.refresh_from_db()
    assert proposal.status == "applied"


def test_planner_page_explains_bad_input(bavi_client, planning):
    morning, bavi = planning["morning"], planning["t"]["bavi"]
    url = f"/points/sessions/{morning.pk}/plan/?unit={bavi.pk}"
    halls = [planning["halls"]["bavi"].pk]
    html = bavi_client.post(url, {"unit": bavi.pk, "k": 3, "mode": "choose", "method": "heuristic",
                                  "hall": halls}).content.decode()
    assert "errorbox" in html and not Proposal.objects.exists()
    html = bavi_client.post(url, {"unit": bavi.pk, "k": 3, "mode": "choose", "method": "heuristic", "hall": halls,
                                  "pins": "KHONG_CO = 1"}).content.decode()
    assert "KHONG_CO" in html and not Proposal.objects.exists()


def _sheet(rows, headers=("Mã đơn vị", "Tên đơn vị", "Điểm cầu")):
    wb = Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH PHÂN CÔNG"])
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "phan-cong.xlsx"
    return buf


def test_import_preview_then_confirm(bavi_client, planning, bavi_point):
    morning, bavi = planning["morning"], planning["t"]["bavi"]
    url = f"/points/sessions/{morning.pk}/import/?unit={bavi.pk}"
    assert bavi_client.get(url).status_code == 200
    upload = _sheet([("THPT_BAVI", "Trường THPT Ba Vì", bavi_point.name),
                     ("GDTX_BAVI", "Trung tâm GDNN-GDTX Ba Vì", bavi_point.name.upper())])
    response = bavi_client.post(url, {"unit": bavi.pk, "file": upload})
    assert response.status_code == 302
    batch = AssignmentImport.objects.get()
    assert batch.status == "ready" and batch.summary["counts"]["create"] == 2
    assert not Assignment.objects.exists()  # the preview writes nothing
    bavi_client.post(f"/points/imports/{batch.pk}/confirm/")
    assert Assignment.objects.filter(method="import").count() == 2
    bavi_client.post(f"/points/imports/{batch.pk}/confirm/")  # confirming twice changes nothing
    assert Assignment.objects.count() == 2


def test_import_reports_every_problem_and_writes_nothing(bavi_client, planning, bavi_point):
    morning, bavi = planning["morning"], planning["t"]["bavi"]
    url = f"/points/sessions/{morning.pk}/import/?unit={bavi.pk}"
    upload = _sheet([("THPT_BAVI", "", bavi_point.name),
                     ("THPT_BAVI", "", bavi_point.name),                      # twice
                     ("KHONG_CO", "", bavi_point.name),                       # unknown code
                     ("THCS_PHULINH", "", bavi_point.name),                   # Sóc Sơn: outside
                     ("TH_TANLINH", "", "Điểm cầu không có")])                # unknown point
    bavi_client.post(url, {"unit": bavi.pk, "file": upload})
    batch = AssignmentImport.objects.get()
    assert batch.status == "invalid"
    by_row = {p["row"]: p for p in batch.summary["problems"]}
    assert set(by_row) == {4, 5, 6, 7}
    assert by_row[5]["code"] == "unknown_institution" and "A (Mã đơn vị)" in by_row[5]["column"]
    assert by_row[6]["code"] == "out_of_scope"
    assert by_row[7]["code"] == "unknown_point" and "C (Điểm cầu)" in by_row[7]["column"]
    assert by_row[4]["code"] == "already_assigned"
    html = bavi_client.get(f"/points/imports/{batch.pk}/").content.decode()
    assert "KHONG_CO" in html and "row-error" in html
    response = bavi_client.post(f"/points/imports/{batch.pk}/confirm/", follow=True)
    assert response.status_code == 200 and not Assignment.objects.exists()


def test_official_list_round_trips_as_an_import(bavi_client, planning, bavi_point):
    morning, bavi = planning["morning"], planning["t"]["bavi"]
    assignment.move_institutions(SYSTEM, morning, [unit("THPT_BAVI"), unit("GDTX_BAVI")], bavi_point)
    conf = planning["conference"]
    html = bavi_client.get(f"/points/conference/{conf.pk}/official-list/?unit={bavi.pk}&date=15/08/2023").content
    html = html.decode()
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html and "Độc lập - Tự do - Hạnh phúc" in html
    assert "Hà Nội, ngày 15 tháng 8 năm 2023" in html and "PHÒNG GD&amp;ĐT HUYỆN BA VÌ" in html
    assert "Trường THPT Ba Vì" in html
    data = bavi_client.get(f"/points/conference/{conf.pk}/official-list/?unit={bavi.pk}&format=xlsx").content
    Assignment.objects.all().delete()
    upload = io.BytesIO(data)
    upload.name = "danh-sach.xlsx"
    bavi_client.post(f"/points/sessions/{morning.pk}/import/?unit={bavi.pk}", {"unit": bavi.pk, "file": upload})
    batch = AssignmentImport.objects.get()
    assert batch.status == "ready", batch.summary
    assert batch.summary["counts"]["create"] == 2


def test_participant_sees_no_planning(client, planning, make_user):
    from diemcau.orgs.models import Role

    teacher = make_user("gv", Role.PARTICIPANT, planning["t"]["school_a"])
    client.force_login(teacher)
    assert client.get(f"/points/sessions/{planning['morning'].pk}/plan/").status_code == 403
    assert client.get(f"/events/{planning['conference'].pk}/").status_code == 200


def test_the_keep_flag_on_the_point_form(bavi_client, planning, bavi_point):
    from diemcau.core.models import AuditEntry

    url = f"/points/{bavi_point.pk}/edit/"
    assert 'name="keep"' in bavi_client.get(url).content.decode()
    bavi_client.post(url, {"name": bavi_point.name, "contact_name": "A", "contact_phone": "0912", "keep": "on",
                           "sessions": [planning["morning"].pk]})
    assert BridgePoint.objects.get(pk=bavi_point.pk).keep
    entry = AuditEntry.objects.filter(action="point.updated", object_id=str(bavi_point.pk)).latest("pk")
    assert entry.before["keep"] is False and entry.after["keep"] is True
    assert "giữ theo yêu cầu của đơn vị" in bavi_client.get(f"/points/{bavi_point.pk}/").content.decode()
    # Who may not change Hà Nội's point may not mark it either.
    hanoi = planning["hanoi_point"]
    assert bavi_client.post(f"/points/{hanoi.pk}/edit/", {"name": hanoi.name, "keep": "on"}).status_code == 403
    assert not BridgePoint.objects.get(pk=hanoi.pk).keep
