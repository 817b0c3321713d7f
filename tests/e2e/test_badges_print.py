"""The badges page prints: its button works under the content security policy (no inline handler),
and the print layout is A4 sheets of six with the conference's name and a QR a phone reads at arm's
length. Screenshots of the screen and of the print preview."""

import pytest
from playwright.sync_api import expect

from diemcau.orgs.models import Role
from tests.attendance.conftest import world  # noqa: F401  (fixtures reused)
from tests.points.conftest import bavi_institutions, planning  # noqa: F401

from .conftest import login, shot


@pytest.fixture
def principal(live_server, world, make_user):  # noqa: F811
    make_user("hieutruong", Role.PRINCIPAL, world["t"]["school_a"])
    return world


def test_print_button_prints_a4_sheets_with_the_conference_and_a_large_qr(page, principal):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    # Record the print dialog instead of opening one (headless has none to show).
    page.add_init_script("window.__printed = 0; window.print = function () { window.__printed += 1; };")
    login(page, "hieutruong")
    page.goto(f"{page.base_url}/attendance/sessions/{principal['session'].pk}/institutions/"
              f"{principal['t']['school_a'].pk}/badges/")
    expect(page.locator(".badge")).to_have_count(5)  # the five people of Tây Đằng A
    page.click("#print-badges")
    assert page.evaluate("window.__printed") == 1
    assert not [e for e in errors if "Content Security Policy" in e]
    shot(page, "badges-screen-desktop")

    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    badge = page.locator(".badge").first
    expect(badge.locator(".conf")).to_contain_text(principal["conference"].title)
    qr = badge.locator(".qr svg").bounding_box()
    # 4.8 cm at CSS's 96 px an inch = 181 px: at least 4.5 cm on paper.
    assert qr["width"] >= 170 and qr["height"] >= 170
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi, for the preview picture
    shot(page, "badges-print-a4")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + \
        pdf.count(b"/Type/Page") >= 1
