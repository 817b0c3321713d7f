"""Before the day in a real browser: Ba Vì confirms Hà Nội's convocation through the e-mailed link on a
phone and Hà Nội's roll-up changes; the convocation page, its PDF and the readiness board (desktop and
phone screenshots; the PDF's first page rendered to PNG by pdftoppm, for people to look at)."""

import datetime
import shutil
import subprocess

import pytest
from django.urls import reverse

from diemcau.convocations import confirming
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import rehearsals
from tests.attendance.conftest import world  # noqa: F401  (the fixtures)
from tests.convocations.conftest import convoked, people  # noqa: F401
from tests.points.conftest import at, bavi_institutions, planning  # noqa: F401

from .conftest import SCREENSHOTS, login, shot

pytestmark = pytest.mark.slow


@pytest.mark.timeout(300)
def test_bavi_confirms_by_the_link_and_hanois_rollup_changes(page, phone, convoked):  # noqa: F811
    cid = convoked["conference"].pk
    rehearsals.create_slot(SYSTEM, convoked["bavi_point"], starts_at=at(14) - datetime.timedelta(days=1),
                           ends_at=at(14, 30) - datetime.timedelta(days=1))
    login(page, "sohanoi")
    page.goto(page.base_url + reverse("reports:convocations", args=[cid]))
    assert page.locator("#rollup-confirmed").inner_text().replace(" ", "") == "0/2"
    shot(page, "convocations-rollup-before-desktop")

    link = reverse("reports:convocation-confirm", args=[confirming.token_for(convoked["to_bavi"])])
    phone.goto(phone.base_url + link)
    assert "Phòng GD&ĐT huyện Ba Vì" in phone.locator("#confirm").inner_text()
    phone.click("#confirm-button")
    phone.wait_for_selector("#confirmed")
    shot(phone, "convocations-confirm-link-phone")

    page.reload()
    assert page.locator("#rollup-confirmed").inner_text().replace(" ", "") == "1/2"
    bavi_row = page.locator("#convocation-rollup tr", has_text="Ba Vì").inner_text()
    assert bavi_row.split("\t")[1:] == ["1", "1", "0"]
    shot(page, "convocations-rollup-desktop")

    # The convocation as Ba Vì received it, its PDF, and the readiness board of Ba Vì's organiser.
    url = reverse("reports:convocation", args=[convoked["hanoi_conv"].pk]) + f"?to={convoked['to_bavi'].pk}"
    page.goto(page.base_url + url)
    assert "Kính gửi: Phòng GD&ĐT huyện Ba Vì" in page.locator(".doc").inner_text()
    shot(page, "convocation-page-desktop")
    pdf = page.request.get(page.base_url + page.locator("#download-pdf").get_attribute("href"))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "convocation.pdf").write_bytes(pdf.body())
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(SCREENSHOTS / "convocation.pdf"),
                        str(SCREENSHOTS / "convocation-pdf")], check=True, timeout=60)
    page.context.clear_cookies()  # Hà Nội's organiser signs out; Ba Vì's signs in on both
    for p, name in ((page, "desktop"), (phone, "phone")):
        login(p, "pgdbavi")
        p.goto(p.base_url + reverse("points:readiness-board", args=[cid]))
        assert p.locator("[data-alarm]").count() >= 1
        shot(p, f"readiness-board-{name}")
        if p is phone:
            assert p.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scrolling
            p.goto(p.base_url + reverse("reports:convocations", args=[cid]))
            shot(p, "convocations-rollup-phone")
