"""In a real browser: a teacher sends an anonymous question from a phone; the district organiser's
audit log (desktop and phone) records the act as "Ẩn danh", without the teacher or the text.
A conference outside the teacher's line is "not found" (Trust items 4 and 10)."""

import datetime
from pathlib import Path

import pytest

from diemcau.events.models import Conference
from diemcau.orgs.models import Role

from .conftest import login as _login
from .conftest import shot

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
QUESTION = "Vì sao giáo viên phải đi trực trường vào ngày nghỉ mà không có phụ cấp?"


def login(page, username):
    page.context.clear_cookies()
    _login(page, username)


@pytest.fixture
def world(transactional_db, tree, make_user, person_factory):
    day = datetime.date(2026, 11, 20)
    ours = Conference.objects.create(title="Hội nghị gặp mặt nhà giáo huyện Ba Vì", date=day,
                                     host_unit=tree["bavi"], place="Ba Vì")
    theirs = Conference.objects.create(title="Hội nghị huyện Sóc Sơn", date=day, host_unit=tree["socson"])
    person_factory(tree["school_a"], name="Đỗ Thị Thầm Lặng", user=make_user("gv_thamlang"))
    make_user("tc_bavi", Role.UNIT_ORGANISER, tree["bavi"])
    return {"ours": ours, "theirs": theirs}


def test_an_anonymous_question_leaves_no_name_in_the_audit_log(browser, page, phone, world):
    login(phone, "gv_thamlang")
    phone.goto(phone.base_url + f"/voice/{world['ours'].pk}/")
    phone.fill("#id_text", QUESTION)
    phone.check("input[name=anonymous]")
    phone.click("form button[type=submit].primary")
    phone.wait_for_selector("ul.messages")
    assert QUESTION in phone.content()  # the author still sees their own item

    # Outside the teacher's line: the same page as a conference that does not exist.
    response = phone.goto(phone.base_url + f"/voice/{world['theirs'].pk}/")
    assert response.status == 404

    for p, size in ((page, "desktop"), (phone, "phone")):
        login(p, "tc_bavi")
        p.goto(p.base_url + "/audit/?action=voice.")
        row = p.locator("tbody tr", has_text="voice.opinion.submit")
        assert row.count() == 1
        text = row.inner_text()
        assert "Ẩn danh gửi ý kiến #" in text  # the sentence names nobody
        body = p.content()
        for secret in ("gv_thamlang", "Đỗ Thị Thầm Lặng", QUESTION[:30]):
            assert secret not in body
        shot(p, f"audit-log-anonymous-{size}")
        DOCS.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(DOCS / f"audit-log-anonymous-opinion-{size}.png"), full_page=True)
