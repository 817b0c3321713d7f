"""The summary for policy's section on the day's polls, the answers by unit and the moments questions
were answered in the recording (a link that plays from there)."""

import datetime
import uuid

from django.utils import timezone

from diemcau.events.models import Session
from diemcau.live import polls
from diemcau.live.models import Recording
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import on_air


def test_the_summary_shows_polls_answers_and_the_moment_in_the_recording(conference, approved, teacher, make_user,
                                                                          client):
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
    html = client.get(f"/voice/{conference.pk}/summary/print/?place=Hà Nội").content.decode()
    assert "VII. THĂM DÒ NHANH, TRẢ LỜI Ý KIẾN VÀ BẢN GHI HỘI NGHỊ" in html and "VIII. KIẾN NGHỊ" in html
    assert "tập huấn chương trình mới" in html and "Sở GD&amp;ĐT TP Hồ Chí Minh" in html
    assert "Trả lời trực tiếp" in html
    assert f'href="/live/recordings/{rec.pk}/?t=1800"' in html and "00:30:00" in html
