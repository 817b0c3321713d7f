"""The recording: a real programme (the synthetic studio's RTP) recorded by ffmpeg as HLS VOD, closed
with ENDLIST, ffprobed, played from a chapter mark, its storage per hour measured; chapters from the
agenda, the floor grants and the questions answered on air."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from diemcau.events.models import AgendaItem, Conference, Session
from diemcau.live import recording
from diemcau.live.media import FFMPEG_BINARY, SyntheticFeed
from diemcau.live.models import Recording
from tests.environment import missing
from tests.live.test_media import free_rtp_ports

FFPROBE = "/usr/bin/ffprobe"


def record_programme(session: Session, seconds: float, agenda_at: list[tuple[float, str]]) -> Recording:
    """Record ``seconds`` of the synthetic programme for ``session``; agenda items at those offsets from
    when the first segment was written."""
    if not Path(FFMPEG_BINARY).exists() or not Path(FFPROBE).exists():
        missing("ffmpeg/ffprobe are not installed (apt-get install ffmpeg)")
    video, audio = free_rtp_ports()
    rec, packager = recording.start(session, video, audio)
    feed = SyntheticFeed([("127.0.0.1", video, audio)], label="Phiên khai mạc", size="640x360")
    feed.start()
    try:
        packager.wait_for_playlist(timeout=20, segments=1)
        seen = timezone.now()  # about a segment after the first picture
        for offset, title in agenda_at:
            AgendaItem.objects.create(session=session, starts_at=seen + datetime.timedelta(seconds=offset),
                                      title=title)
        packager.wait_for_playlist(timeout=20, segments=int(seconds))
    finally:
        feed.stop()
    return recording.finish(rec, packager)


def ffprobe(*args) -> dict:
    out = subprocess.run([FFPROBE, "-v", "error", "-of", "json", *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def session(tree, settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(recording, "SEGMENT_SECONDS", 1.0)
    conference = Conference.objects.create(title="Hội nghị tổng kết năm học", date=timezone.localdate(),
                                           host_unit=tree["ministry"])
    now, hour = timezone.now(), datetime.timedelta(hours=1)
    return Session.objects.create(conference=conference, title="Phiên sáng",
                                  starts_at=now - hour, ends_at=now + 2 * hour)


def test_a_recorded_session_is_a_closed_vod_that_plays_from_a_chapter_mark(session):
    # The opening began before the recording; the Minister's item a second after the first segment.
    rec = record_programme(session, 4, [(-10, "Khai mạc"), (1.0, "Bộ trưởng trả lời câu hỏi")])
    assert rec.state == "ready" and 3 <= rec.duration_s <= 8
    playlist = recording.recordings_dir() / rec.folder / "index.m3u8"
    text = playlist.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    probed = ffprobe("-show_entries", "format=duration:stream=codec_name,codec_type", str(playlist))
    assert {s["codec_name"] for s in probed["streams"]} == {"h264", "aac"}
    assert abs(float(probed["format"]["duration"]) - rec.duration_s) < 1.5
    marks = recording.chapters(rec)
    assert [m["title"] for m in marks] == ["Khai mạc", "Bộ trưởng trả lời câu hỏi"]
    minister = marks[1]["at"]
    assert marks[0]["at"] == 0 and 0.5 <= minister <= 3.5
    # Playing from the chapter: ffmpeg seeks in the VOD and decodes the picture at that moment.
    start = float(ffprobe("-select_streams", "v", "-read_intervals", "%+#1", "-show_entries", "frame=pts_time",
                          str(playlist))["frames"][0]["pts_time"])
    seek = subprocess.run([FFMPEG_BINARY, "-hide_banner", "-copyts", "-ss", str(minister), "-i", str(playlist),
                           "-frames:v", "1", "-vf", "showinfo", "-f", "null", "-"], capture_output=True, text=True,
                          timeout=60)
    shown = float(re.search(r"pts_time:([0-9.]+)", seek.stderr).group(1))
    assert abs(shown - start - minister) < 0.2
    vtt = recording.chapters_vtt(marks, rec.duration_s)
    assert vtt.startswith("WEBVTT") and "00:00:0" in vtt and "Bộ trưởng trả lời câu hỏi" in vtt
    per_hour = recording.bytes_per_hour(rec)
    print(f"recording: {rec.size_bytes} bytes for {rec.duration_s:.1f} s = {per_hour / 1e6:.0f} MB per hour")
    assert 50e6 < per_hour < 1.5e9  # the 800 kbit/s programme plus AAC audio: some 400 MB an hour


def test_the_recording_is_scoped_to_who_saw_the_conference(session, client, make_user, tree):
    from diemcau.orgs.models import Role

    rec = Recording.objects.create(session=session, folder="x", started_at=timezone.now(), state="ready",
                                   duration_s=10)
    stranger_conf = Conference.objects.create(title="Hội nghị Sóc Sơn", date=timezone.localdate(),
                                              host_unit=tree["socson"])
    other = Recording.objects.create(
        session=Session.objects.create(conference=stranger_conf, title="Phiên", starts_at=timezone.now(),
                                       ends_at=timezone.now()), folder="y", started_at=timezone.now(), state="ready")
    client.force_login(make_user("bavi_org", Role.UNIT_ORGANISER, tree["bavi"]))
    assert client.get(f"/live/recordings/{rec.pk}/").status_code == 200
    assert client.get(f"/live/recordings/{other.pk}/").status_code == 404
    assert client.get(f"/live/recordings/{other.pk}/chapters.vtt").status_code == 404
    assert client.get(f"/live/recordings/{rec.pk}/../../settings.py").status_code == 404
