"""The official documents in a real browser: the attendance report and the official list on a
desktop and a phone, their PDFs (screenshots and the PDF files for people to look at)."""

import re

import pytest

from diemcau.demo import org_tree
from diemcau.demo import orgs as orgs_demo
from diemcau.orgs.models import Unit

from .conftest import SCREENSHOTS, login, shot
from .test_attendance_board import morning_under_way  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow


@pytest.mark.timeout(600)
def test_documents_print_pages_and_pdfs(page, phone, morning_under_way):  # noqa: F811
    session = morning_under_way["session"]
    conference = session.conference
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    report = f"/attendance/sessions/{session.pk}/units/{bavi.pk}/report/"
    official = f"/points/conference/{conference.pk}/official-list/?unit={bavi.pk}"
    for p in (page, phone):
        login(p, "bavi", orgs_demo.DEMO_PASSWORD)
    for name, url in (("reports-attendance-report", report), ("reports-official-list", official)):
        assert page.goto(page.base_url + url).status == 200
        heading = page.locator(".doc-header").inner_text()
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in heading and re.search(r"ngày \d\d tháng \d{1,2} năm", heading)
        shot(page, f"{name}-desktop")
        page.emulate_media(media="print")
        shot(page, f"{name}-print")
        page.emulate_media(media="screen")
        pdf_url = page.locator("#download-pdf").get_attribute("href")
        response = page.request.get(page.base_url + pdf_url)
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        body = response.body()
        assert body.startswith(b"%PDF-")
        (SCREENSHOTS / f"{name}.pdf").write_bytes(body)
        assert phone.goto(phone.base_url + url).status == 200
        assert phone.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scrolling
        shot(phone, f"{name}-phone")
