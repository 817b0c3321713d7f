"""The demo's "during and after": a live poll, a recording of a few seconds with chapters, and a Ba Vì
question the Minister answers on air, whose asker (the ``giaovien`` account) sees the answer at home.

Run after the voice demo (``load_demo_voice`` calls :func:`load`). While a few seconds of the synthetic
programme are recorded by ffmpeg (as the runtime records a session, ``live.recording``), the director
asks a poll that Ba Vì's teachers answer, the teacher's question reaches the ministry and goes on
screen, and the Minister answers it: the recording's chapters are the agenda item under way and that
question. Without ffmpeg the recording is left out (said in the report). Does nothing the second time.
"""

from __future__ import annotations

import random
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model

from diemcau.events.models import Session
from diemcau.live import polls, recording
from diemcau.live.media import FFMPEG_BINARY, MediaError, SyntheticFeed
from diemcau.live.models import Poll
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, on_air, opinions
from diemcau.voice.models import AnswerNotice, Opinion

from . import events as events_demo
from . import org_tree

QUESTION = ("Khi nào giáo viên tiểu học ở các xã miền núi của Ba Vì được hưởng phụ cấp thu hút "
            "theo Nghị định mới?")
MINISTER = ("Bộ trưởng: Bộ đã trình Chính phủ dự thảo nghị định; phụ cấp thu hút áp dụng cho giáo viên "
            "công tác tại xã đặc biệt khó khăn từ năm học tới. Sở GD&ĐT Hà Nội rà soát danh sách trước 30/9.")
POLL = "Thầy cô đánh giá chất lượng hình ảnh, âm thanh tại điểm cầu của mình (1 = rất kém, 5 = rất tốt)?"
VOTERS = 240


@dataclass
class Report:
    skipped: bool = False
    poll_votes: int = 0
    recording: str = ""
    question: int | None = None
    told: int = 0


def _free_rtp_ports() -> tuple[int, int]:
    """Two even UDP ports (and the RTCP port above each) that nothing uses now."""
    rng = random.Random()
    while True:
        base = rng.randrange(41000, 48000, 4)
        sockets = []
        try:
            for port in (base, base + 1, base + 2, base + 3):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base, base + 2
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()


def load() -> Report:
    conference = events_demo.loaded()
    if conference is None or Poll.objects.filter(conference=conference).exists():
        return Report(skipped=True)
    report = Report()
    User = get_user_model()
    director = User.objects.filter(username="dieuphoi").first() or SYSTEM
    session = Session.objects.filter(conference=conference).order_by("starts_at").first()
    packager = rec = None
    feed = None
    if Path(FFMPEG_BINARY).exists() and session is not None:
        video, audio = _free_rtp_ports()
        rec, packager = recording.start(session, video, audio)
        feed = SyntheticFeed([("127.0.0.1", video, audio)], label="Hội nghị trực tuyến toàn ngành")
        try:
            feed.start()
            packager.wait_for_playlist(timeout=30, segments=1)
        except MediaError as exc:
            report.recording = f"không ghi được: {exc}"
            feed.stop()
            feed = None
    try:
        report.poll_votes = _poll(conference, director)
        time.sleep(1.0 if feed else 0)
        report.question, report.told = _minister_answers(conference, director)
        if feed is not None:  # a few seconds more after the answer, so its chapter is inside the recording
            listed = packager.playlist_path.read_text().count("#EXTINF")
            packager.wait_for_playlist(timeout=30, segments=listed + 3)
    finally:
        if feed is not None:
            feed.stop()
    if rec is not None and not report.recording:
        rec = recording.finish(rec, packager)
        report.recording = f"bản ghi #{rec.pk}: {rec.duration_s:.0f} giây, {rec.size_bytes / 1e6:.1f} MB"
    return report


def _poll(conference, director) -> int:
    """The director's poll during the session; Ba Vì's teachers answer; its results go to every kiosk."""
    poll = polls.ask(director, conference, POLL, kind=Poll.Kind.SCALE)
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    people = list(Person.objects.filter(unit__path__startswith=bavi.path, unit__kind=Unit.Kind.INSTITUTION)
                  .select_related("unit").order_by("code"))
    rng = random.Random("after-day-poll")
    for person in rng.sample(people, min(VOTERS, len(people))):
        choice = rng.choices(range(5), weights=[1, 2, 6, 12, 9])[0]
        polls.vote(SYSTEM, poll, choice, uuid.uuid5(uuid.NAMESPACE_URL, f"demo-poll:{person.pk}"), person=person)
    polls.show_on_kiosks(director, poll, True)
    polls.close(director, poll)
    return poll.votes.count()


def _minister_answers(conference, director) -> tuple[int, int]:
    """The teacher of Tây Đằng A (account ``giaovien``) asks; Ba Vì and Hà Nội forward it; the Minister
    answers it on screen; the item on screen before goes back on screen after."""
    teacher = Person.objects.filter(user__username="giaovien").first()
    if teacher is None:
        bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
        teacher = Person.objects.filter(unit__path__startswith=bavi.path).order_by("code").first()
    item = opinions.submit(teacher, conference, QUESTION)
    item = moderation.approve(SYSTEM, item)
    while item.at_unit.parent_id is not None:
        item = moderation.forward(SYSTEM, item)
    colleagues = Person.objects.filter(unit=teacher.unit).exclude(pk=teacher.pk).order_by("code")[:12]
    for person in colleagues:
        opinions.vote(person, item, "upvote")
    before = on_air.on_air(conference)
    on_air.put_on_air(director, Opinion.objects.get(pk=item.pk), previous="return")
    on_air.answer(director, Opinion.objects.get(pk=item.pk), MINISTER)
    if before is not None:
        on_air.put_on_air(director, Opinion.objects.get(pk=before.pk))
    return item.pk, AnswerNotice.objects.filter(opinion_id=item.pk).count()


def describe(report: Report) -> str:
    """One line for the loader's output."""
    if report.skipped:
        return "Sau hội nghị: đã có thăm dò nhanh, không nạp lại."
    return (f"Thăm dò nhanh: {report.poll_votes} câu trả lời; {report.recording or 'không có bản ghi'}; "
            f"câu hỏi #{report.question} được Bộ trưởng trả lời trực tiếp, {report.told} người được báo.")
