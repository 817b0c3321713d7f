"""The attendance report as an official document: .xlsx sheets, formula-safe cells, the print page
in the administrative style (Vietnamese whatever the interface language), the PDF, scope."""

import io

import pytest
from openpyxl import load_workbook

from diemcau.orgs.models import Role
from tests.attendance.conftest import morning_so_far, planning, world  # noqa: F401  (fixtures)

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

    from diemcau.reports.document import date_line

    w, t = morning_so_far, morning_so_far["t"]
    url = f"/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/report/"
    client.force_login(organiser_bavi)
    page = client.get(url).content.decode()
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page and "Độc lập - Tự do - Hạnh phúc" in page
    assert "BÁO CÁO" in page and "Kết quả tham dự hội nghị" in page
    assert date_line("Ba Vì", timezone.localdate()) in page  # the place: the district in the unit's name
    assert f"Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-{t['bavi'].code}" in page
    assert escape(t["bavi"].name.upper()) in page and escape(w["bavi_point"].name) in page
    assert escape(t["school_a"].name) in page  # a composition breach
    assert "reports/document.css" in page and "reports/fonts.css" in page
    assert f'href="/attendance/sessions/{w["session"].pk}/units/{t["bavi"].pk}/report/pdf/?' in page
    dated = client.get(url + "?date=05/01/2024&place=Hà Nội").content.decode()
    assert "Hà Nội, ngày 05 tháng 01 năm 2024" in dated
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, t["socson"]))
    assert client.get(url).status_code == 404
    assert client.get(url + "pdf/").status_code == 404


def test_an_english_interface_still_prints_a_vietnamese_document(client, morning_so_far, organiser_bavi):  # noqa: F811
    from django.conf import settings

    w, t = morning_so_far, morning_so_far["t"]
    url = f"/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/report/?date=15/08/2023"
    client.force_login(organiser_bavi)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(url).content.decode()
    assert '<html lang="en"' in page and ">Print</button>" in page  # the interface is English ...
    doc = page[page.index('<article class="doc"'):page.index("</article>")]
    # ... the document is not: no "day 15 month 08", no English label, the model's labels in Vietnamese.
    assert "ngày 15 tháng 8 năm 2023" in doc and "day 15" not in doc
    for english in ("REPORT", "Bridge point", "Recipients", "Management board", "Teacher", "Composition rule"):
        assert english not in doc, english
    assert "ban giám hiệu" in doc and "giáo viên" in doc  # "By category" from Person.Category, in Vietnamese
    assert "Quy định thành phần" in doc  # school A's rule, Delegation.Rule's label in Vietnamese
    book = load_workbook(io.BytesIO(client.get(
        f"/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/report.xlsx").content))
    assert book.sheetnames == ["Điểm danh", "Điểm cầu", "Đơn vị vắng mặt", "Chưa đủ thành phần"]
    missing = [r[8] for r in sheet_rows(book, "Điểm danh") if r[8]]
    assert sorted(missing) == ["Nhân viên: 1", "người có tên vắng mặt: 1"]  # not "Staff: 1"


def test_pdf_of_the_report_is_a_real_pdf_in_vietnamese(client, morning_so_far, organiser_bavi):  # noqa: F811
    from tests.reports.pdftext import pdf_fonts, pdf_text

    w, t = morning_so_far, morning_so_far["t"]
    client.force_login(organiser_bavi)
    r = client.get(f"/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/report/pdf/?date=15/08/2023")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    assert r["Content-Disposition"].startswith('inline; filename="bao-cao-diem-danh-')
    text = pdf_text(r.content)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "Ba Vì, ngày 15 tháng 8 năm 2023" in text and t["school_a"].name in text
    assert all("Tinos" in name for name in pdf_fonts(r.content))  # the shipped font, nothing else
