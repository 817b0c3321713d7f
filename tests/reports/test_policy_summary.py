"""The summary for policy as an official document: the .xlsx (every breakdown, formula-safe), the print
page in the administrative style, the PDF."""

import io
import re

import pytest
from openpyxl import load_workbook

from diemcau.orgs.models import Role
from tests.reports.pdftext import pdf_text
from tests.voice.test_summary import items  # noqa: F401  (fixture)

pytestmark = pytest.mark.smoke


def test_summary_xlsx_has_every_breakdown_and_is_formula_safe(conference, items, make_user, client):  # noqa: F811
    client.force_login(make_user("pt", Role.ANALYST))
    old = client.get(f"/voice/{conference.pk}/summary/?format=xlsx")  # the page's old address of the .xlsx
    assert old.status_code == 302 and old["Location"] == f"/voice/{conference.pk}/summary/print/?format=xlsx"
    r = client.get(old["Location"])
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(b"".join(r.streaming_content) if r.streaming else r.content))
    assert wb.sheetnames == ["Tổng hợp", "Chủ đề", "Cấp học", "Địa bàn", "Đối tượng", "Theo ngày", "Theo giờ",
                             "Ý kiến tiêu biểu", "Nhóm quan điểm", "Đồng thuận", "Thăm dò theo địa bàn",
                             "Thăm dò theo cấp học", "Trả lời theo đơn vị", "Trả lời trực tiếp"]
    cells = {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb}
    assert cells["Tổng hợp"][0][0] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert "TỔNG HỢP Ý KIẾN, CÂU HỎI CỦA NHÀ GIÁO, CÁN BỘ QUẢN LÝ VÀ NHÂN VIÊN" in [row[0] for row in cells["Tổng hợp"]]
    assert ["Ý kiến, câu hỏi (không tính bị từ chối)", 4] in cells["Tổng hợp"]
    assert [1, "Tiền lương và phụ cấp", 2, 50.0] in cells["Chủ đề"]
    assert [1, "Giáo viên", 2, 50.0] in cells["Đối tượng"]
    quotes = [row[3] for row in cells["Ý kiến tiêu biểu"] if row and isinstance(row[3], str)]
    assert "'=HYPERLINK(\"http://x\") hồ sơ sổ sách nhiều" in quotes
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f"


def test_printable_report_in_the_administrative_style(conference, items, make_user, client):  # noqa: F811
    client.force_login(make_user("pt", Role.ANALYST))
    html = client.get(f"/voice/{conference.pk}/summary/print/?place=Hà Nội").content.decode()
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html and "Độc lập - Tự do - Hạnh phúc" in html
    assert re.search(r"Hà Nội, ngày \d\d tháng \d{1,2} năm \d{4}", html)
    for section in ("I. TÌNH HÌNH CHUNG", "II. TỔNG HỢP THEO CHỦ ĐỀ", "V. NHỮNG Ý KIẾN", "VI. CÁC NHÓM QUAN ĐIỂM"):
        assert section in html
    assert "reports/document.css" in html and "BỘ GIÁO DỤC VÀ ĐÀO TẠO" in html
    assert "=HYPERLINK(&quot;http://x&quot;)" in html


def test_pdf_of_the_summary(conference, items, make_user, client):  # noqa: F811
    client.force_login(make_user("pt", Role.ANALYST))
    r = client.get(f"/voice/{conference.pk}/summary/print/pdf/?place=Hà Nội&date=05/02/2024")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    text = pdf_text(r.content)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Hà Nội, ngày 05 tháng 02 năm 2024" in text
    assert "TỔNG HỢP THEO CHỦ ĐỀ" in text and "Tiền lương và phụ cấp" in text
