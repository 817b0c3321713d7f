"""The audit log page: scoped to the organiser's subtree; participants have none."""

import pytest

from diemcau.orgs import services
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM

pytestmark = pytest.mark.smoke


@pytest.fixture
def bavi_client(client, organiser_bavi):
    client.force_login(organiser_bavi)
    return client


def test_audit_log_is_scoped(bavi_client, tree, national):
    services.update_unit(SYSTEM, tree["school_c"], short_name="Sóc Sơn change")
    services.update_unit(SYSTEM, tree["school_a"], short_name="Ba Vì change")
    html = bavi_client.get("/audit/").content.decode()
    assert "Tây Đằng A" in html
    assert "Phù Linh" not in html


def test_participant_cannot_open_the_audit_log(client, tree, make_user):
    user = make_user("gv", Role.PARTICIPANT, tree["school_a"])
    client.force_login(user)
    assert client.get("/audit/").status_code == 403


def test_entries_read_as_vietnamese_sentences_with_names(client, tree, make_user, django_assert_max_num_queries):
    import datetime

    from diemcau.events.models import Conference
    from diemcau.voice import moderation, opinions
    from tests.conftest import Person

    conference = Conference.objects.create(title="Hội nghị", date=datetime.date(2026, 11, 20),
                                           host_unit=tree["ministry"])
    mod = make_user("kiemduyet_hn", Role.MODERATOR, tree["hanoi"])
    mod.first_name, mod.last_name = "Nguyễn Văn", "An"
    mod.save()
    authors = [Person.objects.create(unit=tree["school_a"], code=f"GV-AUDIT-{n}", full_name="Lê Thị Hoa",
                                     category=Person.Category.TEACHER) for n in range(2)]
    items = [opinions.submit(authors[n % 2], conference, f"Đề nghị tăng phụ cấp cho giáo viên vùng khó số {n}")
             for n in range(6)]
    for item in items:
        moderation.approve(mod, item)
        moderation.forward(mod, item)  # school → Ba Vì
        moderation.forward(mod, item)  # Ba Vì → Hà Nội
    client.force_login(make_user("bo_audit", Role.NATIONAL_ORGANISER))
    with django_assert_max_num_queries(14):  # names in one query per kind, however many rows
        html = client.get("/audit/", {"action": "voice.opinion"}).content.decode()
    first = items[-1].pk
    assert (f"Nguyễn Văn An chuyển ý kiến #{first} từ Phòng GD&amp;ĐT huyện Ba Vì lên Sở GD&amp;ĐT Hà Nội"
            in html)
    assert f"Nguyễn Văn An duyệt ý kiến #{first}" in html
