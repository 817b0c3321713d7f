"""The watch page: the programme for one person on their own device, the question on air, and
their attendance by video (:mod:`.watching`)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import ensure_csrf_cookie

from diemcau.core.errors import DomainError
from diemcau.events.access import sees_conference, visible_conferences
from diemcau.live import hls as live_hls
from diemcau.live import polls, viewers
from diemcau.voice import answers

from .watching import check_in_by_video


@login_required
@ensure_csrf_cookie
def watch(request, cid):
    conference = get_object_or_404(visible_conferences(request.user).select_related("host_unit"), pk=cid)
    try:
        issued = viewers.join_as_viewer(request.user, conference)
    except DomainError as exc:
        issued, checkin, problem = None, None, exc.message
    else:
        checkin, problem = check_in_by_video(request.user, conference), ""
    hls = None
    if (live_hls.hls_folder(conference.pk) / "index.m3u8").exists() and sees_conference(request.user, conference):
        hls = live_hls.hls_link(request.user, conference)
    config = issued.as_config() if issued else {}
    config.update(ws="", conference_id=conference.pk)
    return render(request, "site/watch.html", {"conference": conference, "config": config, "problem": problem,
                                               "checkin": checkin, "hls": hls,
                                               **polls.poll_panel_context(request.user, conference),
                                               **answers.answers_panel_context(request.user)})
