"""The summary for policy as an official document: the .xlsx (every breakdown, formula-safe), the print
page in the administrative style, the PDF."""

import io
import re

import pytest
from django.core.cache import cache
from django.utils import timezone
from openpyxl import load_workbook

from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, opinions, stored, summary
from diemcau.voice.models import StoredSummary
from tests.reports.pdftext import pdf_text
from tests.voice.test_summary import items  # noqa: F401  (fixture)

pytestmark = pytest.mark.smoke


def test_summary_xlsx_has_every_breakdown_and_is_formula_safe(read_summary, conference, items, make_user,  # noqa: F811
                                                               client):
    client.force_login(make_user("pt", Role.ANALYST))
    old = client.get(f"/voice/{conference.pk}/summary/?format=xlsx")  # the page's old address of the .xlsx
    assert old.status_code == 302 and old["Location"] == f"/voice/{conference.pk}/summary/print/?format=xlsx"
    r = read_summary(client, old["Location"])
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


def test_printable_report_in_the_administrative_style(read_summary, conference, items, make_user,  # noqa: F811
                                                      client):
    client.force_login(make_user("pt", Role.ANALYST))
    html = read_summary(client, f"/voice/{conference.pk}/summary/print/?place=Hà Nội").content.decode()
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html and "Độc lập - Tự do - Hạnh phúc" in html
    assert re.search(r"Hà Nội, ngày \d\d tháng \d{1,2} năm \d{4}", html)
    for section in ("I. TÌNH HÌNH CHUNG", "II. TỔNG HỢP THEO CHỦ ĐỀ", "V. NHỮNG Ý KIẾN", "VI. CÁC NHÓM QUAN ĐIỂM"):
        assert section in html
    assert "reports/document.css" in html and "BỘ GIÁO DỤC VÀ ĐÀO TẠO" in html
    assert "=HYPERLINK(&quot;http://x&quot;)" in html


def test_pdf_of_the_summary(read_summary, conference, items, make_user, client):  # noqa: F811
    client.force_login(make_user("pt", Role.ANALYST))
    r = read_summary(client, f"/voice/{conference.pk}/summary/print/pdf/?place=Hà Nội&date=05/02/2024")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    text = pdf_text(r.content)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Hà Nội, ngày 05 tháng 02 năm 2024" in text
    assert "TỔNG HỢP THEO CHỦ ĐỀ" in text and "Tiền lương và phụ cấp" in text


def test_the_document_reads_the_stored_summary_and_says_when_it_was_computed(
        conference, items, make_user, client, teacher, monkeypatch, settings,  # noqa: F811
        django_capture_on_commit_callbacks):
    cache.clear()  # the debounce windows of earlier tests
    settings.VOICE_REFRESH_SECONDS = 3600
    client.force_login(make_user("pt", Role.ANALYST))
    url = f"/voice/{conference.pk}/summary/print/"
    with django_capture_on_commit_callbacks(execute=False):  # queued; the worker has not run it yet
        pending = client.get(f"{url}pdf/")
    assert pending.status_code == 202 and 'id="summary-pending"' in pending.content.decode()
    stored.recompute(conference.pk)  # what the worker runs
    html = client.get(url).content.decode()
    assert "đã gửi\n    4 ý kiến" in html
    computed = timezone.localtime(StoredSummary.objects.get(conference=conference).computed_at)
    assert f"Số liệu tổng hợp đến {computed:%H} giờ {computed:%M} ngày {computed:%d/%m/%Y}." in html

    # A new item: the document keeps the stored figures until the background job has recomputed them.
    with django_capture_on_commit_callbacks(execute=False):
        moderation.approve(SYSTEM, opinions.submit(teacher("school_d"), conference, "Thiếu giáo viên tiếng Anh"))
    monkeypatch.setattr(summary, "policy_summary", lambda *a, **k: pytest.fail("the document computed the summary"))
    assert "đã gửi\n    4 ý kiến" in client.get(url).content.decode()
    monkeypatch.undo()
    stored.recompute(conference.pk)
    assert "đã gửi\n    5 ý kiến" in client.get(url).content.decode()
