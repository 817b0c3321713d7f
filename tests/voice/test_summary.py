"""The summary for policy: figures by topic, level, area and category; scope. (Its document: tests/reports.)"""

import datetime

import pytest
from django.utils import timezone

from diemcau.orgs.models import Person, Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, opinions, summary, topic_list
from diemcau.voice.models import Opinion

pytestmark = pytest.mark.smoke


@pytest.fixture
def items(conference, teacher, person_factory, tree):
    """Ba Vì: two items at school A (primary), one anonymous at school B (preschool); one in Sóc Sơn;
    one rejected. Topics set by moderators."""
    topics = {t.key: t for t in topic_list.ensure_topics(conference)}
    a1 = opinions.submit(teacher("school_a"), conference, "Lương giáo viên tiểu học quá thấp so với công sức")
    a2 = opinions.submit(person_factory(tree["school_a"], category=Person.Category.STAFF, user=None),
                         conference, "=HYPERLINK(\"http://x\") hồ sơ sổ sách nhiều")
    b1 = opinions.submit(teacher("school_b"), conference, "Phụ cấp của giáo viên mầm non chưa tương xứng",
                         anonymous=True)
    c1 = opinions.submit(teacher("school_c"), conference, "Sóc Sơn thiếu phòng học bộ môn")
    bad = opinions.submit(teacher("school_a"), conference, "Nội dung không phù hợp")
    for op, key in ((a1, "luong_phu_cap"), (a2, "ho_so_cong_viec"), (b1, "luong_phu_cap"), (c1, "co_so_vat_chat")):
        moderation.tag(SYSTEM, moderation.approve(SYSTEM, op), topics[key])
    moderation.reject(SYSTEM, bad, "Không phù hợp")
    day = timezone.make_aware(datetime.datetime(2026, 11, 20, 9, 15))
    Opinion.objects.filter(pk__in=[a1.pk, b1.pk]).update(created_at=day)
    Opinion.objects.filter(pk__in=[a2.pk, c1.pk]).update(created_at=day + datetime.timedelta(days=1, hours=1))
    return {"a1": a1, "a2": a2, "b1": b1, "c1": c1}


def by_label(rows):
    return {r["label"]: r["count"] for r in rows}


def test_summary_of_the_whole_tree(conference, items, make_user, tree):
    s = summary.policy_summary(make_user("pt", Role.ANALYST), conference)
    assert s["unit"] == tree["ministry"] and s["total"] == 4 and s["people"] == 4 and s["units"] == 3
    assert by_label(s["topics"]) == {"Tiền lương và phụ cấp": 2, "Khối lượng công việc, hồ sơ sổ sách": 1,
                                     "Cơ sở vật chất, trường lớp, thiết bị": 1}
    assert by_label(s["levels"]) == {"Tiểu học": 2, "Trung học cơ sở": 1, "Ẩn danh": 1}
    assert by_label(s["areas"]) == {"Sở GD&ĐT Hà Nội": 3, "Ẩn danh": 1}
    assert by_label(s["categories"]) == {"Giáo viên": 2, "Nhân viên": 1, "Ẩn danh": 1}
    assert by_label(s["days"]) == {"20/11/2026": 2, "21/11/2026": 2}
    assert [r["label"] for r in s["hours"]] in (["09:00"], ["10:00"])
    assert {r["key"]: r["count"] for r in s["status"]}["rejected"] == 1
    salary = next(t for t in s["topics"] if t["label"] == "Tiền lương và phụ cấp")
    assert {q["unit"] for q in salary["quotes"]} == {"Trường Tiểu học Tây Đằng A", "Ẩn danh"}


def test_summary_is_scoped_to_the_subtree(conference, items, moderator, tree, teacher, client, make_user,
                                          django_capture_on_commit_callbacks):
    s = summary.policy_summary(moderator("bavi"), conference)
    assert s["unit"] == tree["bavi"] and s["total"] == 3
    assert "Trường THCS Phù Linh" not in str(s["areas"])
    assert by_label(s["areas"]) == {"Trường Tiểu học Tây Đằng A": 2, "Ẩn danh": 1}
    client.force_login(moderator("bavi", "kd2"))
    assert client.get(f"/voice/{conference.pk}/summary/?unit={tree['socson'].pk}").status_code == 404
    assert client.get(f"/voice/{conference.pk}/summary/?unit={tree['school_a'].pk}").status_code == 200
    client.force_login(teacher().user)
    for url in ("summary/", "summary/print/", "summary/?format=xlsx", "summary/print/?format=xlsx",
                "summary/print/pdf/"):
        assert client.get(f"/voice/{conference.pk}/{url}").status_code == 404
    client.force_login(make_user("hn", Role.UNIT_ORGANISER, tree["hanoi"]))
    with django_capture_on_commit_callbacks(execute=True):  # the first visit queues the stored summary
        assert "summary-pending" in client.get(f"/voice/{conference.pk}/summary/").content.decode()
    html = client.get(f"/voice/{conference.pk}/summary/").content.decode()
    assert 'id="total">4<' in html.replace(" ", "") or ">4</dd>" in html
