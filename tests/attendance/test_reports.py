"""The unit's attendance report: one row per assigned institution, scoped, as .xlsx."""

import io

import pytest
from openpyxl import load_workbook

from diemcau.orgs.models import Role

from .conftest import morning_so_far  # noqa: F401  (fixture)

pytestmark = pytest.mark.smoke


def test_bavi_report_rows(client, morning_so_far, organiser_bavi, make_user):  # noqa: F811
    w = morning_so_far
    t = w["t"]
    client.force_login(organiser_bavi)
    response = client.get(f"/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/report.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [r for r in sheet.iter_rows(values_only=True) if r and isinstance(r[0], int)]
    by_name = {r[1]: r for r in rows}
    assert set(by_name) == {t["school_a"].name, t["school_b"].name, t["THPT_BAVI"].name}
    assert by_name[t["school_a"].name][4:7] == (4, 3, 75)
    assert by_name[t["school_a"].name][8].endswith(": 1")  # one staff member missing: incomplete
    assert by_name[t["school_b"].name][4:6] == (2, 1)
    assert by_name[t["THPT_BAVI"].name][4:6] == (80, 0)  # a headcount point: counted per point, not here
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, t["socson"]))
    assert client.get(f"/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/report.xlsx").status_code == 404


def sheet_rows(workbook, title):
    return [r for r in workbook[title].iter_rows(values_only=True) if r and isinstance(r[0], int)]


def test_report_sheets_missing_institutions_and_breaches(client, morning_so_far, national):  # noqa: F811
    w, t = morning_so_far, morning_so_far["t"]
    client.force_login(national)
    response = client.get(f"/attendance/sessions/{w['session'].pk}/units/{t['hanoi'].pk}/report.xlsx")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Điểm danh", "Điểm cầu", "Đơn vị vắng mặt", "Chưa đủ thành phần"]
    points = {r[1]: r[3:7] for r in sheet_rows(book, "Điểm cầu")}
    assert points[w["bavi_point"].name] == (2, 6, 4, 66.7)
    assert points[w["thpt_point"].name][2] == 15
    assert [r[1] for r in sheet_rows(book, "Đơn vị vắng mặt")] == [t["school_c"].name]
    breaches = {r[1]: r[3] for r in sheet_rows(book, "Chưa đủ thành phần")}
    assert set(breaches) == {t["school_a"].name, t["school_b"].name} and breaches[t["school_a"].name].endswith(": 1")


def test_report_cells_are_formula_safe(client, morning_so_far, national):  # noqa: F811
    from diemcau.orgs.models import Unit

    w, t = morning_so_far, morning_so_far["t"]
    Unit.objects.filter(pk=t["school_c"].pk).update(name='=HYPERLINK("http://evil","x")')
    client.force_login(national)
    book = load_workbook(io.BytesIO(client.get(
        f"/attendance/sessions/{w['session'].pk}/units/{t['hanoi'].pk}/report.xlsx").content))
    for title in book.sheetnames:
        for row in book[title].iter_rows():
            for cell in row:
                assert cell.data_type != "f", (title, cell.coordinate, cell.value)
    assert sheet_rows(book, "Đơn vị vắng mặt")[0][1] == "'=HYPERLINK(\"http://evil\",\"x\")"


def test_printable_report_in_the_administrative_style(client, morning_so_far, organiser_bavi, make_user):  # noqa: F811
    from django.utils import timezone
    from django.utils.html import escape

    w, t = morning_so_far, morning_so_far["t"]
    url = f"/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/report/"
    client.force_login(organiser_bavi)
    page = client.get(url).content.decode()
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page and "Độc lập - Tự do - Hạnh phúc" in page
    assert "BÁO CÁO" in page and "KẾT QUẢ THAM DỰ HỘI NGHỊ" in page
    today = timezone.localdate()
    assert f"Ba Vì, ngày {today:%d} tháng {today:%m} năm {today:%Y}" in page
    assert escape(t["bavi"].name.upper()) in page and escape(w["bavi_point"].name) in page
    assert escape(t["school_a"].name) in page  # a composition breach
    assert "@media print" not in page and "attendance/report.css" in page
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, t["socson"]))
    assert client.get(url).status_code == 404


def test_point_people_list_statuses_flags_and_scope(client, morning_so_far, organiser_bavi, make_user):  # noqa: F811
    from django.utils.html import escape

    w, t, p = morning_so_far, morning_so_far["t"], morning_so_far["people"]
    url = f"/attendance/sessions/{w['session'].pk}/points/{w['bavi_point'].pk}/people/"
    client.force_login(organiser_bavi)
    page = client.get(url).content.decode()
    # School A has no names (composition rule): all five of its people are listed; school B: its two named.
    for key in ("a_principal", "a_t1", "a_t2", "a_t3", "a_staff", "b_principal", "b_t1"):
        assert escape(p[key].full_name) in page
    assert escape(p["thpt_t1"].full_name) not in page
    book = load_workbook(io.BytesIO(client.get(url.replace("people/", "people.xlsx")).content))
    rows = {r[1]: r for r in book.active.iter_rows(values_only=True) if r and isinstance(r[0], int)}
    assert len(rows) == 7
    assert rows[p["a_t1"].full_name][6] == "Có mặt" and rows[p["a_t1"].full_name][9] == "Trùng lặp"
    assert rows[p["a_t3"].full_name][6] == "Vắng mặt" and rows[p["a_t3"].full_name][7] is None
    assert rows[p["b_principal"].full_name][5] == "Có" and rows[p["a_t1"].full_name][5] is None
    assert rows[p["b_principal"].full_name][8] == "Điểm danh"
    assert rows[p["a_t2"].full_name][7].count("/") == 2  # time dd/mm/yyyy
    # Checked in at THPT's point though assigned to Ba Vì's: listed there as another point's person.
    thpt = client.get(f"/attendance/sessions/{w['session'].pk}/points/{w['thpt_point'].pk}/people/").content.decode()
    assert escape(p["b_principal"].full_name) in thpt and escape(p["thpt_t1"].full_name) in thpt
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, t["socson"]))
    assert client.get(url).status_code == 404
    assert client.get(url.replace("people/", "people.xlsx")).status_code == 404
    # The Hà Nội point is hosted above Sóc Sơn, but serves its school: Sóc Sơn sees its own people only.
    hanoi = client.get(f"/attendance/sessions/{w['session'].pk}/points/{w['hanoi_point'].pk}/people/")
    assert hanoi.status_code == 200 and escape(p["c_t1"].full_name) in hanoi.content.decode()
