"""The summary for policy's section on the day's polls, the answers by unit and the moments questions
were answered in the recording (a link that plays from there)."""

import datetime
import uuid
from io import BytesIO

from django.utils import timezone
from openpyxl import load_workbook

from diemcau.events.models import Session
from diemcau.live import polls
from diemcau.live.models import Recording
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import answers, moderation, on_air


def test_the_summary_shows_polls_answers_and_the_moment_in_the_recording(read_summary, conference, approved, teacher,
                                                                          make_user, client):
    poll = polls.ask(SYSTEM, conference, "Thầy cô có cần thêm tập huấn chương trình mới?", choices=["Có", "Không"])
    for unit_key in ("school_a", "school_d"):
        polls.vote(teacher(unit_key).user, poll, 0, uuid.uuid4())
    item = approved("Bao giờ tăng lương cơ sở cho giáo viên mầm non?", "school_b")
    now = timezone.now()
    session = Session.objects.create(conference=conference, title="Phiên sáng", starts_at=now, ends_at=now)
    rec = Recording.objects.create(session=session, folder="x", state="ready", duration_s=3600,
                                   started_at=now - datetime.timedelta(minutes=30),
                                   ended_at=now + datetime.timedelta(minutes=30))
    on_air.put_on_air(SYSTEM, item)
    on_air.answer(SYSTEM, item, "Từ 01/7 lương cơ sở tăng.")
    client.force_login(make_user("pt", Role.ANALYST))
    html = read_summary(client, f"/voice/{conference.pk}/summary/print/?place=Hà Nội").content.decode()
    assert "VII. THĂM DÒ NHANH, TRẢ LỜI Ý KIẾN VÀ BẢN GHI HỘI NGHỊ" in html and "VIII. KIẾN NGHỊ" in html
    assert "tập huấn chương trình mới" in html and "Sở GD&amp;ĐT TP Hồ Chí Minh" in html
    assert "Trả lời trực tiếp" in html
    assert f'href="/live/recordings/{rec.pk}/?t=1800"' in html and "00:30:00" in html


def _at_ministry(approved, text, unit_key):
    item = approved(text, unit_key)
    for _level in range(3):  # school's district → province → the ministry
        item = moderation.forward(SYSTEM, item)
    return item


def _sheet(book, title) -> list[tuple]:
    """A sheet's rows under its header row (the row that starts with "STT")."""
    rows = list(book[title].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "STT")
    return [r for r in rows[start + 1:] if r and r[0] is not None]


def test_the_summary_xlsx_has_the_polls_by_province_and_level_and_the_answers_by_status(
        read_summary, conference, approved, teacher, make_user, tree, client):
    poll = polls.ask(SYSTEM, conference, "Mức độ hài lòng với sách giáo khoa mới?", kind="scale")
    for unit_key, choice in (("school_a", 4), ("school_b", 1), ("school_b", 3), ("school_d", 4)):
        polls.vote(teacher(unit_key).user, poll, choice, uuid.uuid4())
    live = approved("Bao giờ tăng lương cơ sở cho giáo viên mầm non?", "school_b")
    on_air.put_on_air(SYSTEM, live)
    on_air.answer(SYSTEM, live, "Từ 01/7 lương cơ sở tăng.")
    due = timezone.localdate() + datetime.timedelta(days=7)
    later = answers.assign(SYSTEM, _at_ministry(approved, "Khi nào có sách điện tử lớp 5?", "school_a"),
                           tree["hanoi"], due)
    answers.write_answer(SYSTEM, later, "Sở đã cung cấp bản điện tử.")
    answers.publish(SYSTEM, later)
    answers.assign(SYSTEM, _at_ministry(approved, "Phụ cấp thu hút vùng khó khăn?", "school_c"), tree["hanoi"], due)
    client.force_login(make_user("pt_xlsx", Role.ANALYST))
    response = read_summary(client, f"/voice/{conference.pk}/summary/print/?format=xlsx")
    assert response.status_code == 200
    book = load_workbook(BytesIO(response.content), read_only=True)
    assert {"Thăm dò theo địa bàn", "Thăm dò theo cấp học", "Trả lời theo đơn vị", "Trả lời trực tiếp"} <= set(
        book.sheetnames)
    by_province = _sheet(book, "Thăm dò theo địa bàn")
    expected = polls.results(poll)
    assert len(by_province) == 5 * len(expected["provinces"]) and len(expected["provinces"]) >= 2
    for part in expected["provinces"]:  # per province: its total, and each option's votes summing to it
        rows = [r for r in by_province if r[2] == part["label"]]
        assert [r[4] for r in rows] == ["1", "2", "3", "4", "5"] and {r[3] for r in rows} == {part["total"]}
        assert sum(r[5] for r in rows) == part["total"] and rows[0][7] == part["mean"]
        assert rows[0][1] == "Mức độ hài lòng với sách giáo khoa mới?"
    assert sum(r[5] for r in by_province) == 4
    by_level = _sheet(book, "Thăm dò theo cấp học")
    assert {r[2] for r in by_level} == {r["label"] for r in expected["levels"]} and by_level
    status = {r[1]: r[2:] for r in _sheet(book, "Trả lời theo đơn vị")}
    assert status[tree["ministry"].name] == (1, 0, 0, 0)  # answered live, by the host
    assert status[tree["hanoi"].name] == (0, 1, 1, 0)  # one answered later, one still open
    moments = _sheet(book, "Trả lời trực tiếp")
    assert [r[1] for r in moments] == ["Bao giờ tăng lương cơ sở cho giáo viên mầm non?"]
