"""The moderator sees opposite opinions ("ý kiến trái chiều") apart, with no merge button between them."""

import datetime

import pytest

from diemcau.events.models import Conference
from diemcau.orgs.models import Role
from diemcau.voice import opinions

from .conftest import login, shot


@pytest.fixture
def world(transactional_db, tree, make_user, person_factory):
    conference = Conference.objects.create(title="Bộ trưởng gặp gỡ nhà giáo 2026", date=datetime.date(2026, 11, 20),
                                           host_unit=tree["ministry"], place="Hà Nội")
    a = person_factory(tree["school_a"], name="Trần Văn Bình", user=make_user("gv_binh"))
    b = person_factory(tree["school_b"], name="Lê Thị Hoa", user=make_user("gv_hoa"))
    allow = opinions.submit(a, conference, "Đề nghị cho phép học sinh dùng điện thoại trong giờ học khi cần tra cứu")
    ban = opinions.submit(b, conference, "Đề nghị cấm học sinh dùng điện thoại trong giờ học khi cần tra cứu")
    make_user("kd_bavi", Role.MODERATOR, tree["bavi"])
    return {"conference": conference, "allow": allow, "ban": ban}


def test_moderator_sees_opposite_opinions_apart(page, phone, world):
    url = f"/voice/{world['conference'].pk}/moderate/"
    for p, name in ((page, "desktop"), (phone, "phone")):
        login(p, "kd_bavi")
        p.goto(p.base_url + url)
        section = p.locator("#opposed")
        assert section.get_by_text("Ý kiến trái chiều").first.is_visible()
        assert section.get_by_text(world["ban"].text).is_visible()
        assert p.locator("#duplicates").count() == 0  # never suggested for merging
        shot(p, f"voice-opposite-opinions-{name}")
