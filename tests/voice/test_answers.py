"""Answers that reach the teachers: an item forwarded to the ministry is assigned to a department with a
due date, its moderator writes and publishes the answer, and the asker and voters are told on their
phone panel and by e-mail (a real SMTP server); an anonymous asker is told in the app only, never named."""

import datetime

import pytest
from django.utils import timezone

from diemcau.core.errors import DomainError, ScopeError
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import answers, moderation, on_air, opinions
from diemcau.voice.models import AnswerNotice


def _at_ministry(approved, text, **kwargs):
    item = approved(text, **kwargs)
    for _level in ("Ba Vì", "Hà Nội"):
        moderation.forward(SYSTEM, item)
    return moderation.forward(SYSTEM, item)  # Hà Nội → the ministry


@pytest.fixture
def mail_to(settings, smtp_server):
    settings.DEFAULT_FROM_EMAIL = "hoinghi@moet.gov.vn"
    return smtp_server


def test_an_answer_reaches_the_askers_phone_panel_and_the_smtp_server(
        client, conference, approved, teacher, moderator, make_user, tree, mail_to,
        django_capture_on_commit_callbacks):
    asker = teacher("school_a", name="Nguyễn Thị Lan")
    asker.email = "lan.gv@bavi.edu.vn"
    asker.save()
    item = _at_ministry(approved, "Khi nào có sách giáo khoa lớp 5 bản điện tử?", person=asker)
    voter = teacher("school_c", name="Trần Văn Hùng")
    voter.email = "hung@socson.edu.vn"
    voter.save()
    opinions.vote(voter, item, "upvote")
    no_address = teacher("school_d")
    opinions.vote(no_address, item, "upvote")
    ministry_mod = make_user("kiemduyet_bo", Role.MODERATOR, tree["ministry"])
    hanoi_mod = moderator("hanoi")
    assignment = answers.assign(ministry_mod, item, tree["hanoi"], timezone.localdate() + datetime.timedelta(days=14))
    with pytest.raises(ScopeError):  # Sóc Sơn's moderator does not answer for the department
        answers.write_answer(moderator("socson"), assignment, "…")
    answers.write_answer(hanoi_mod, assignment, "Sở đã cung cấp bản điện tử trên hệ thống học liệu từ 01/09.")
    with django_capture_on_commit_callbacks(execute=True):
        told = answers.publish(hanoi_mod, assignment)
    assert told == 3
    item.refresh_from_db()
    assert item.status == "answered" and item.answer.startswith("Sở đã cung cấp")
    assert dict(AnswerNotice.objects.values_list("person_id", "reason")) == {
        asker.pk: "asked", voter.pk: "voted", no_address.pk: "voted"}
    recipients = sorted(m["To"] for m in mail_to.messages)
    assert recipients == ["hung@socson.edu.vn", "lan.gv@bavi.edu.vn"]
    body = mail_to.messages[0].get_content()
    assert "bản điện tử trên hệ thống học liệu" in body and "Sở GD&ĐT Hà Nội" in body
    client.force_login(asker.user)
    home = client.get("/")
    assert 'id="answers-panel"' in home.text and "bản điện tử trên hệ thống học liệu" in home.text
    assert answers.publish(hanoi_mod, assignment) == 0  # publishing twice tells nobody twice
    assert len(mail_to.messages) == 2


def test_an_anonymous_asker_is_told_in_the_app_only_and_never_named(
        conference, approved, teacher, tree, mail_to, django_capture_on_commit_callbacks):
    asker = teacher("school_b", name="Phạm Thị Hoa")
    asker.email = "hoa@bavi.edu.vn"
    asker.save()
    item = opinions.submit(asker, conference, "Giáo viên mầm non có được giảm giờ dạy không?", anonymous=True)
    moderation.approve(SYSTEM, item)
    for _level in ("Ba Vì", "Hà Nội", "the ministry"):
        moderation.forward(SYSTEM, item)
    item.refresh_from_db()
    voter = teacher("school_d", name="Lê Văn Nam")
    voter.email = "nam@hcm.edu.vn"
    voter.save()
    opinions.vote(voter, item, "upvote")
    a = answers.assign(SYSTEM, item, tree["hcm"], timezone.localdate())
    answers.write_answer(SYSTEM, a, "Bộ đang xây dựng thông tư về định mức giờ dạy.")
    with django_capture_on_commit_callbacks(execute=True):
        answers.publish(SYSTEM, a)
    assert AnswerNotice.objects.filter(person=asker).exists()
    assert [m["To"] for m in mail_to.messages] == ["nam@hcm.edu.vn"]
    assert "Phạm Thị Hoa" not in mail_to.messages[0].get_content()


def test_only_items_at_the_ministry_are_assigned_and_the_summary_counts_by_unit(
        conference, approved, tree, make_user):
    low = approved("Đề nghị tăng phụ cấp đứng lớp")
    with pytest.raises(DomainError) as refused:
        answers.assign(SYSTEM, low, tree["hanoi"], timezone.localdate())
    assert refused.value.code == "not_at_top"
    late = _at_ministry(approved, "Bao giờ bỏ sổ đầu bài giấy?")
    answers.assign(SYSTEM, late, tree["hanoi"], timezone.localdate())
    live = approved("Chế độ thâm niên có được khôi phục?")
    director = make_user("dieuphoi", Role.DIRECTOR)
    on_air.put_on_air(director, live)
    on_air.answer(director, live, "Bộ đang trình Chính phủ.")
    rows = answers.answer_status(conference.opinions.all(), tree["ministry"])
    assert {r["unit"]: (r["live"], r["later"], r["open"]) for r in rows} == {
        "Bộ Giáo dục và Đào tạo": (1, 0, 0), "Sở GD&ĐT Hà Nội": (0, 0, 1)}


def test_the_answers_page_assigns_writes_and_publishes(client, conference, approved, teacher, moderator,
                                                       make_user, tree):
    asker = teacher("school_a")
    item = _at_ministry(approved, "Bao giờ có phụ cấp cho giáo viên điểm trường lẻ?", person=asker)
    client.force_login(make_user("kiemduyet_bo", Role.MODERATOR, tree["ministry"]))
    assert "điểm trường lẻ" in client.get(f"/voice/{conference.pk}/answers/").text
    due = (timezone.localdate() + datetime.timedelta(days=7)).isoformat()
    client.post(f"/voice/{conference.pk}/answers/assign/", {"opinion": item.pk, "unit": tree["hanoi"].pk,
                                                             "due_on": due})
    assignment = item.assignment
    client.force_login(moderator("hanoi"))
    page = client.get(f"/voice/{conference.pk}/answers/")
    assert "điểm trường lẻ" in page.text and "Sở GD&amp;ĐT Hà Nội" in page.text
    client.post(f"/voice/{conference.pk}/answers/write/", {"assignment": assignment.pk,
                                                            "answer": "Sở sẽ chi từ học kỳ II."})
    client.post(f"/voice/{conference.pk}/answers/publish/", {"assignment": assignment.pk})
    assert AnswerNotice.objects.filter(person=asker, opinion=item).exists()
    client.force_login(moderator("socson"))  # another district's moderator does not see it to answer
    assert "điểm trường lẻ" not in client.get(f"/voice/{conference.pk}/answers/").text
