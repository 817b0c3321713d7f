"""The official list of bridge points as an official document: the .xlsx (which reads back as an
assignment list: tests/points/test_views.py), the print page in an English interface, the PDF."""

import datetime
import io

import pytest
from django.conf import settings
from django.utils.html import escape
from openpyxl import load_workbook

from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import assignment, bridge_points
from diemcau.reports.official_list import official_list_workbook
from tests.points.conftest import unit
from tests.reports.pdftext import pdf_text

pytestmark = pytest.mark.smoke


@pytest.fixture
def assigned(planning):
    point = bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["bavi"])
    bridge_points.update_point(SYSTEM, point, contact_name="Nguyễn Văn Kỹ", contact_phone="0912345678")
    assignment.move_institutions(SYSTEM, planning["morning"], [unit("THPT_BAVI"), unit("GDTX_BAVI")], point)
    return point


def test_official_list_workbook(planning, assigned, organiser_bavi):
    data = official_list_workbook(organiser_bavi, planning["conference"], planning["t"]["bavi"], "Hà Nội",
                                  datetime.date(2023, 8, 15))
    ws = load_workbook(io.BytesIO(data)).active
    values = [list(row) for row in ws.iter_rows(values_only=True)]
    assert values[0][0] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and values[1][0] == "Độc lập - Tự do - Hạnh phúc"
    heading = [r[0] for r in values[:10]]
    assert "PHÒNG GD&ĐT HUYỆN BA VÌ" in heading and "ĐIỂM CẦU VÀ ĐƠN VỊ ĐƯỢC PHÂN CÔNG" in heading
    assert "Hà Nội, ngày 15 tháng 8 năm 2023" in heading
    rows = [r for r in values if isinstance(r[0], int)]
    assert [r[11] for r in rows[:2]] == ["Trường THPT Ba Vì", "Trung tâm GDNN-GDTX Ba Vì"]
    assert rows[0][7:9] == ["Nguyễn Văn Kỹ", "0912345678"]


def test_official_list_page_and_pdf_in_an_english_interface(client, planning, assigned, organiser_bavi, make_user):
    conf, bavi = planning["conference"], planning["t"]["bavi"]
    client.force_login(organiser_bavi)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = f"/points/conference/{conf.pk}/official-list/"
    page = client.get(f"{url}?unit={bavi.pk}&date=05/02/2024&place=Ba Vì").content.decode()
    assert ">Print</button>" in page  # the interface is English, the document is not
    doc = page[page.index('<article class="doc"'):page.index("</article>")]
    assert "Ba Vì, ngày 05 tháng 02 năm 2024" in doc and "Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/DS-ĐC" in doc
    assert "điểm cầu" in doc and " point" not in doc and escape("Trường THPT Ba Vì") in doc
    assert f'href="{url}pdf/?unit={bavi.pk}&amp;place=Ba+V%C3%AC&amp;date=05%2F02%2F2024"' in page
    r = client.get(f"{url}pdf/?unit={bavi.pk}&date=05/02/2024&place=Ba Vì")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    text = pdf_text(r.content)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Ba Vì, ngày 05 tháng 02 năm 2024" in text
    assert "Trường THPT Ba Vì" in text and "Nguyễn Văn Kỹ" in text
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, planning["t"]["socson"]))
    assert client.get(f"{url}pdf/?unit={bavi.pk}").status_code == 404
