"""The recording (bản ghi) of each session's programme, kept as HLS VOD with chapters.

The runtime records from the root on the path it already has for HLS: the programme's RTP is
forwarded to one more pair of ports (``layout.PORTS["recording"]``) and an :class:`~.media.HlsPackager`
with ``keep_all`` copies it (H.264 copied, Opus → AAC) into ``var/recordings/<session>-<start>/``,
restarting after a discontinuity when the director switches source, as the live packager does.
:func:`start` opens the :class:`Recording` row; :func:`finish` stops ffmpeg, turns the EVENT playlist
into VOD (``#EXT-X-PLAYLIST-TYPE:VOD`` … ``#EXT-X-ENDLIST``) and stores its duration and size.

Chapters (:func:`chapters`), in seconds from the recording's start: the session's agenda items, the
floor grants (who spoke when), and any marks the caller adds (the questions answered on air, which
are voice's: ``site`` composes them, live never imports voice). :func:`chapters_vtt` writes them as a
WebVTT chapters file. Who may watch: whoever sees the conference (``events.access``).
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from diemcau.core import audit
from diemcau.core.errors import ScopeError
from diemcau.events.access import sees_conference
from diemcau.events.models import Session

from .media import HlsPackager
from .models import FloorEvent, Recording

PLAYLIST = HlsPackager.PLAYLIST
SEGMENT_SECONDS = 4.0
_EXTINF = re.compile(r"^#EXTINF:([0-9.]+)", re.M)
_DATE_TIME = re.compile(r"^#EXT-X-PROGRAM-DATE-TIME:(\S+)", re.M)


def recordings_dir() -> Path:
    return Path(settings.VAR_DIR) / "recordings"


def start(session: Session, video_port: int, audio_port: int, *, started_at=None) -> tuple[Recording, HlsPackager]:
    """Open a session's recording and start its ffmpeg on the given RTP ports."""
    started_at = started_at or timezone.now()
    folder = f"{session.pk}-{started_at:%Y%m%d-%H%M%S}"
    recording = Recording.objects.create(session=session, folder=folder, started_at=started_at)
    packager = HlsPackager(f"rec-{recording.pk}", video_port, audio_port, recordings_dir() / folder,
                           segment_seconds=SEGMENT_SECONDS, keep_all=True)
    packager.start()
    audit.record(None, "live.recording_started", recording, unit_path=session.conference.host_unit.path)
    return recording, packager


def finalize(playlist: Path) -> tuple[float, datetime.datetime | None]:
    """Make a recorded EVENT playlist a closed VOD playlist; returns its duration in seconds and the wall
    time of its first picture (the first ``#EXT-X-PROGRAM-DATE-TIME``)."""
    text = playlist.read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#EXT-X-PLAYLIST-TYPE")
             and line != "#EXT-X-ENDLIST"]
    lines.insert(1, "#EXT-X-PLAYLIST-TYPE:VOD")
    lines.append("#EXT-X-ENDLIST")
    tmp = playlist.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(playlist)
    first = _DATE_TIME.search(text)
    return sum(float(x) for x in _EXTINF.findall(text)), (
        datetime.datetime.strptime(first.group(1), "%Y-%m-%dT%H:%M:%S.%f%z") if first else None)


def finish(recording: Recording, packager: HlsPackager | None) -> Recording:
    """Stop the recording, close its playlist as VOD, store its duration and size."""
    if packager is not None:
        packager.stop()
    folder = recordings_dir() / recording.folder
    playlist = folder / PLAYLIST
    with transaction.atomic():
        recording = Recording.objects.select_for_update().select_related("session__conference__host_unit").get(
            pk=recording.pk)
        recording.ended_at = timezone.now()
        if playlist.exists() and playlist.stat().st_size:
            recording.duration_s, first_picture = finalize(playlist)
            # Chapters count from the first recorded picture (ffmpeg probes the RTP for a second or so
            # after start): the playlist's own clock, so a chapter lands on its moment in the video.
            recording.started_at = first_picture or recording.started_at
            recording.size_bytes = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
            recording.state = Recording.State.READY
        else:
            recording.state = Recording.State.FAILED
        recording.save(update_fields=["started_at", "ended_at", "duration_s", "size_bytes", "state"])
        audit.record(None, "live.recording_finished", recording,
                     unit_path=recording.session.conference.host_unit.path,
                     after={"state": recording.state, "duration_s": recording.duration_s,
                            "size_bytes": recording.size_bytes})
    return recording


def bytes_per_hour(recording: Recording) -> int:
    """The storage an hour of this recording takes (its size over its duration)."""
    return round(recording.size_bytes * 3600 / recording.duration_s) if recording.duration_s else 0


# --- watching -------------------------------------------------------------------------------------

def visible_recording(user, pk) -> Recording:
    """A ready recording of a conference the user sees; :class:`ScopeError` (a 404) otherwise."""
    recording = Recording.objects.select_related("session__conference__host_unit").filter(
        pk=pk, state=Recording.State.READY).first()
    if recording is None or not sees_conference(user, recording.session.conference):
        raise ScopeError()
    return recording


def session_recordings(user, conference):
    """The ready recordings of a conference the user sees, in the order of the sessions."""
    if not sees_conference(user, conference):
        raise ScopeError()
    return Recording.objects.filter(session__conference=conference, state=Recording.State.READY).select_related(
        "session").order_by("session__starts_at", "started_at")


def file_path(recording: Recording, name: str) -> Path | None:
    """A file of the recording's folder (the playlist or a segment), or None for any other name."""
    if name != PLAYLIST and not re.fullmatch(r"seg_\d{5}\.ts", name):
        return None
    path = recordings_dir() / recording.folder / name
    return path if path.is_file() else None


# --- chapters -------------------------------------------------------------------------------------

def chapters(recording: Recording, extra: list[dict] = ()) -> list[dict]:
    """The recording's chapter marks, in order: ``{"at": seconds, "title", "kind"}`` (agenda, floor, extra).

    ``extra`` marks carry ``"when"`` (a datetime) instead of ``"at"``; marks after the end are left out,
    and of those before the first picture only the latest is kept, at 0.
    """
    start_at = recording.started_at
    end_at = recording.ended_at or timezone.now()
    marks = [{"when": item.starts_at, "title": f"{item.title}{' – ' + item.speaker if item.speaker else ''}",
              "kind": "agenda"} for item in recording.session.agenda.all()]
    grants = FloorEvent.objects.filter(action="granted", request__conference_id=recording.session.conference_id,
                                       at__gte=start_at, at__lte=end_at).select_related("request__point")
    marks += [{"when": g.at, "title": f"{g.request.point.name}: {g.request.who}", "kind": "floor"} for g in grants]
    marks += list(extra)
    out, before = [], None
    for mark in sorted(marks, key=lambda m: m["when"]):
        at = (mark["when"] - start_at).total_seconds()
        if recording.duration_s and at > recording.duration_s:
            continue
        row = {"at": round(max(at, 0.0), 1), "title": mark["title"], "kind": mark["kind"],
               **({"ref": mark["ref"]} if "ref" in mark else {})}
        if at < 0:  # begun before the first picture: the latest such mark opens the recording
            before = row
        else:
            out.append(row)
    return ([before] if before else []) + out


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def chapters_vtt(marks: list[dict], duration: float) -> str:
    """The chapters as a WebVTT file: each runs until the next one (the last to the end)."""
    lines = ["WEBVTT", ""]
    for i, mark in enumerate(marks):
        end = marks[i + 1]["at"] if i + 1 < len(marks) else max(duration, mark["at"] + 1)
        lines += [f"{i + 1}", f"{_vtt_time(mark['at'])} --> {_vtt_time(end)}", mark["title"], ""]
    return "\n".join(lines)
