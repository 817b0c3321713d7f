"""The Ba Vì organiser plans 14 bridge points in the browser, reviews, applies, downloads the list."""

import io
import re

import pytest
from openpyxl import load_workbook

from diemcau.demo import events as demo
from diemcau.demo import org_tree
from diemcau.demo import orgs as orgs_demo
from diemcau.orgs.models import Unit
from diemcau.points.models import Assignment, BridgePoint, Hall

from .conftest import SCREENSHOTS, login, shot


@pytest.fixture
def demo_conference(transactional_db):
    """The demo tree and the seed's conference, with Ba Vì's planning left to the test."""
    orgs_demo.load()
    demo.load(plan_bavi=False)
    return demo.loaded()


def test_bavi_organiser_plans_reviews_applies_and_downloads(page, demo_conference):
    conference = demo_conference
    morning = conference.sessions.order_by("starts_at").first()
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    office_hall = Hall.objects.get(unit=bavi)

    login(page, "bavi", orgs_demo.DEMO_PASSWORD)
    page.goto(f"{page.base_url}/events/{conference.pk}/")
    assert page.locator("#missing").is_visible()
    shot(page, "planning-conference-before")
    page.get_by_role("link", name=re.compile("Planner|Lập phương án")).first.click()
    page.wait_for_url(re.compile(r"/points/sessions/\d+/plan/"))

    # Parameters: 14 points among the candidate halls, the office's hall always open.
    page.fill("#id_k", "14")
    page.check(f"input[name=fixed][value='{office_hall.pk}']")
    shot(page, "planning-planner-form")
    page.locator("#planner-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/points/proposals/\d+/"))
    page.wait_for_selector("#apply", timeout=30000)

    # Review: the table lists every Ba Vì school, the map draws 14 points.
    rows = page.locator("#proposal-rows tbody tr")
    assert rows.count() == 103
    assert page.locator("svg.map circle.hall").count() == 14
    shot(page, "planning-proposal")
    page.screenshot(path=str(SCREENSHOTS / "planning-proposal-top.png"))
    page.click("#apply")
    page.wait_for_selector(".msg.success")
    shot(page, "planning-proposal-applied")

    assigned = Assignment.objects.filter(session=morning, institution__path__startswith=bavi.path)
    assert assigned.count() == 103 and assigned.values("point").distinct().count() == 14

    # The official list: the printable page, then the .xlsx.
    page.get_by_role("link", name=re.compile("Official list|Danh sách chính thức")).first.click()
    page.wait_for_url(re.compile(r"/official-list/"))
    assert page.locator(".doc-header").inner_text().count("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") == 1
    shot(page, "planning-official-list")
    with page.expect_download() as download_info:
        page.click("#download-xlsx")
    data = download_info.value.path().read_bytes()
    ws = load_workbook(io.BytesIO(data)).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    header = values.index(next(r for r in values if r and r[0] == "STT"))
    columns = values[header]
    rows = [dict(zip(columns, r, strict=True)) for r in values[header + 1:] if r[0]]
    morning_rows = [r for r in rows if r["Phiên"] == morning.title]
    assert len(morning_rows) == 103
    assert len({r["Mã điểm cầu"] for r in morning_rows}) == 14
    expected = {a.institution.code: a.point_id for a in assigned.select_related("institution")}
    assert {r["Mã đơn vị"]: r["Mã điểm cầu"] for r in morning_rows} == expected
    for r in morning_rows:
        assert r["Số chỗ đã xếp"] <= r["Số chỗ"]
        assert r["Điểm cầu"] and r["Đơn vị được phân công"]
    assert sum(r["Số người"] for r in morning_rows) == 4890
    assert BridgePoint.objects.get(hall=office_hall).relay_parent.name == "Điểm cầu Sở GD&ĐT Hà Nội"


@pytest.fixture
def planned_demo(transactional_db):
    """The demo tree and the seed's conference with Ba Vì's 14 points planned and applied."""
    orgs_demo.load()
    demo.load()
    return demo.loaded()


def test_planning_pages_for_review(page, phone, planned_demo):
    """Every planning page renders for the Ba Vì organiser (screenshots for people to look at)."""
    conference = planned_demo
    morning = conference.sessions.order_by("starts_at").first()
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    office_point = BridgePoint.objects.get(conference=conference, hall__unit=bavi)
    school_point = BridgePoint.objects.filter(relay_parent=office_point).order_by("pk").first()
    login(page, "bavi", orgs_demo.DEMO_PASSWORD)
    pages = [
        ("events-list", "/events/", "table.grid"),
        ("conference", f"/events/{conference.pk}/", "#missing"),
        ("session", f"/events/sessions/{morning.pk}/", "table.grid"),
        ("points-tree", f"/points/conference/{conference.pk}/", "ul.rollup"),
        ("point-office", f"/points/{office_point.pk}/", "ol.stepper"),
        ("point-school", f"/points/{school_point.pk}/", "ol.stepper"),
        ("assign", f"/points/sessions/{morning.pk}/assign/?unit={bavi.pk}", "#assign-form"),
        ("import", f"/points/sessions/{morning.pk}/import/?unit={bavi.pk}", "input[type=file]"),
        ("halls", f"/points/halls/?unit={bavi.pk}", "table.grid"),
        ("point-edit", f"/points/{school_point.pk}/edit/", "form.planner-form"),
        ("official-list-page", f"/points/conference/{conference.pk}/official-list/?unit={bavi.pk}", ".doc"),
    ]
    for name, url, selector in pages:
        response = page.goto(page.base_url + url)
        assert response.status == 200, url
        assert page.locator(selector).first.is_visible(), url
        page.screenshot(path=str(SCREENSHOTS / f"planning-{name}.png"))
    # An assignment list with a mistake: the preview names the row and the column, nothing is written.
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Mã đơn vị", "Tên đơn vị", "Điểm cầu"])
    school = Assignment.objects.filter(session=morning, point=school_point).select_related("institution").first()
    ws.append([school.institution.code, school.institution.name, school_point.name])
    ws.append(["KHONG_CO_MA", "Trường không có", office_point.name])
    upload = SCREENSHOTS.parent / "phan-cong-thu.xlsx"
    wb.save(upload)
    page.goto(f"{page.base_url}/points/sessions/{morning.pk}/import/?unit={bavi.pk}")
    page.set_input_files("input[type=file]", str(upload))
    page.locator("form.planner-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/points/imports/\d+/"))
    page.screenshot(path=str(SCREENSHOTS / "planning-import-preview.png"), full_page=True)
    assert page.locator("tr.row-error").count() == 1
    assert "KHONG_CO_MA" in page.locator("tr.row-error").inner_text()
    # The conference page on a phone.
    login(phone, "bavi", orgs_demo.DEMO_PASSWORD)
    phone.goto(f"{phone.base_url}/events/{conference.pk}/")
    shot(phone, "planning-conference-phone")
    phone.goto(f"{phone.base_url}/points/sessions/{morning.pk}/assign/?unit={bavi.pk}")
    phone.screenshot(path=str(SCREENSHOTS / "planning-assign-phone.png"))
