"""The recordings' pages: a conference's recorded sessions, one recording with its chapters, its files.

Whoever sees the conference may watch (``live.recording.visible_recording``: else a 404). The files
are served here for the embedded default; behind nginx a deployment may serve ``var/recordings``
with the same scope check as an internal redirect.
"""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render

from diemcau.core.errors import ScopeError
from diemcau.events.shortcuts import visible_conference
from diemcau.live import recording

from .recordings import recording_chapters


def _recording(request, pk):
    try:
        return recording.visible_recording(request.user, pk)
    except ScopeError:
        raise Http404 from None


@login_required
def recordings(request, cid):
    conference = visible_conference(request, cid)
    return render(request, "site/recordings.html", {
        "conference": conference, "recordings": recording.session_recordings(request.user, conference)})


@login_required
def watch_recording(request, pk):
    rec = _recording(request, pk)
    marks = recording_chapters(rec)
    start = request.GET.get("t", "")
    return render(request, "site/recording.html", {
        "rec": rec, "conference": rec.session.conference, "chapters": marks,
        "start": float(start) if start.replace(".", "", 1).isdigit() else 0})


@login_required
def recording_file(request, pk, name):
    rec = _recording(request, pk)
    if name == "chapters.vtt":
        return HttpResponse(recording.chapters_vtt(recording_chapters(rec), rec.duration_s),
                            content_type="text/vtt; charset=utf-8")
    path = recording.file_path(rec, name)
    if path is None:
        raise Http404
    kind = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
    return FileResponse(open(path, "rb"), content_type=kind)
