"""``manage.py run_live --record`` end to end, with the real Janus root it starts: the session on now is
recorded from the programme (the synthetic host studio, forwarded by the root), and stopping the command
leaves a closed HLS VOD that ffprobe reads and that plays from the chapter of an agenda item."""

import datetime
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.utils import timezone

from diemcau.events.models import AgendaItem, Session
from diemcau.live import recording
from diemcau.live.media import FFMPEG_BINARY
from diemcau.live.models import Recording
from tests.environment import missing
from tests.servers import child_env

from .conftest import live_base_port
from .test_recording import FFPROBE, ffprobe

ROOT = Path(__file__).resolve().parents[2]


def _wait(check, timeout: float, what: str, proc, log: Path) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    state = "exited" if proc.poll() is not None else "timed out"
    raise AssertionError(f"run_live {state} waiting for {what}:\n{log.read_text(errors='replace')[-3000:]}")


def _segments(folder: Path) -> int:
    """The recorded segments that hold some video (a packager restarted early leaves an empty one)."""
    playlist = folder / recording.PLAYLIST
    text = playlist.read_text() if playlist.exists() else ""
    return sum(float(x) > 0 for x in re.findall(r"^#EXTINF:([0-9.]+)", text, re.M))


@pytest.mark.django_db(transaction=True)
def test_run_live_record_leaves_a_vod_with_chapters_that_ffprobe_reads(live_world, tmp_path, settings):
    if not Path(FFMPEG_BINARY).exists() or not Path(FFPROBE).exists():
        missing("ffmpeg/ffprobe are not installed (apt-get install ffmpeg)")
    settings.VAR_DIR = tmp_path  # where the command's recordings land, read back here
    now, hour = timezone.now(), datetime.timedelta(hours=1)
    session = Session.objects.create(conference=live_world["conference"], title="Phiên toàn thể",
                                     starts_at=now - hour, ends_at=now + hour)
    AgendaItem.objects.create(session=session, starts_at=now - hour, title="Khai mạc")
    env = child_env(DIEMCAU_VAR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.pop("DIEMCAU_METRICS_PORT", None)
    log_path = tmp_path / "run_live.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "run_live", "--record", "--edges", "0",
                             "--conference", str(live_world["conference"].pk), "--root-port", str(live_base_port())],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        rec = _wait(lambda: Recording.objects.filter(session=session).first(), 120, "the recording to open", proc,
                    log_path)
        folder = recording.recordings_dir() / rec.folder
        _wait(lambda: _segments(folder) >= 1, 60, "the first recorded segment", proc, log_path)
        minister = AgendaItem.objects.create(session=session, starts_at=timezone.now(),
                                             title="Bộ trưởng trả lời câu hỏi của giáo viên Ba Vì")
        _wait(lambda: _segments(folder) >= 2, 60, "a segment after the chapter's start", proc, log_path)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()

    rec.refresh_from_db()
    assert rec.state == Recording.State.READY and rec.duration_s >= 4 and rec.size_bytes > 0
    playlist = folder / recording.PLAYLIST
    text = playlist.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    # one stream from the start: the recorder was not restarted when the forwarders first reached it
    # (append_list marks the opening; a restart marked a second and left an empty first segment)
    assert text.count("#EXT-X-DISCONTINUITY") == 1, text
    probed = ffprobe("-show_entries", "format=duration:stream=codec_name,codec_type", str(playlist))
    assert {s["codec_name"] for s in probed["streams"]} == {"h264", "aac"}
    assert abs(float(probed["format"]["duration"]) - rec.duration_s) < 2.0
    marks = recording.chapters(rec)
    assert [m["title"] for m in marks] == ["Khai mạc", minister.title]
    at = marks[1]["at"]
    assert marks[0]["at"] == 0 and 0 < at < rec.duration_s
    # Played from the Minister's chapter: ffmpeg seeks there in the VOD and decodes a picture.
    # (from the VOD's own start: the runtime's audio may begin a little before the first picture)
    start = float(ffprobe("-show_entries", "format=start_time", str(playlist))["format"]["start_time"])
    seek = subprocess.run([FFMPEG_BINARY, "-hide_banner", "-copyts", "-ss", str(at), "-i", str(playlist),
                           "-frames:v", "1", "-vf", "showinfo", "-f", "null", "-"], capture_output=True, text=True,
                          timeout=60)
    shown = float(re.search(r"pts_time:([0-9.]+)", seek.stderr).group(1))
    # the first picture is the keyframe at or next to the mark: within the programme's keyframe interval
    assert abs(shown - start - at) < 2.0
