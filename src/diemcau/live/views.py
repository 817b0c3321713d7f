"""Pages of the live conference: kiosk, technical check, studio, director console, site board.
The watch page (programme plus a video check-in) is the site's: it composes live and attendance.

Each page checks scope (out of scope → 404), issues the page's Janus token through the services and
hands the browser a small JSON config; the work happens in the page's script and over websockets.
"""


from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponseForbidden
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils._os import safe_join
from django.views.decorators.csrf import ensure_csrf_cookie

from diemcau.core.errors import DomainError
from diemcau.events.access import can_direct, require_director, visible_conferences
from diemcau.points.access import operates_point
from diemcau.points.models import BridgePoint

from . import access, programme, thumbs, tokens
from . import hls as live_hls
from . import nodes as live_nodes
from .models import LiveToken, Programme


def _conference(request, cid):
    return get_object_or_404(visible_conferences(request.user).select_related("host_unit"), pk=cid)


def _operated_point(request, pk) -> BridgePoint:
    point = get_object_or_404(BridgePoint.objects.select_related("hall__unit", "conference__host_unit"), pk=pk)
    if not operates_point(request.user, point):
        raise Http404
    return point


def _director_conference(request, cid):
    conference = _conference(request, cid)
    try:
        require_director(request.user, conference)
    except DomainError:
        raise Http404 from None
    return conference


def _config(request, issued, **extra) -> dict:
    config = issued.as_config() if issued else {}
    config.update(extra)
    return config


def _issue(request, conference, purpose, point=None):
    try:
        return tokens.issue_token(request.user, conference, purpose, point), ""
    except DomainError as exc:
        if exc.code in ("out_of_scope", "point_out_of_scope", "not_director"):
            raise Http404 from None
        return None, exc.message


@login_required
def index(request, cid):
    conference = _conference(request, cid)
    return render(request, "live/index.html", {
        "conference": conference,
        "kiosks": access.kiosk_points(request.user, conference),
        "is_director": can_direct(request.user, conference),
        "programme": programme.programme(conference),
    })


@login_required
@ensure_csrf_cookie  # the kiosk posts its thumbnails with the CSRF header
def kiosk(request, pk):
    point = _operated_point(request, pk)
    issued, problem = _issue(request, point.conference, LiveToken.Purpose.KIOSK, point)
    config = _config(request, issued, point_id=point.pk, point_name=point.name,
                     ws=f"/ws/live/kiosk/{point.pk}/", conference_id=point.conference_id)
    return render(request, "live/kiosk.html", {"point": point, "config": config, "problem": problem})


@login_required
def technical_check(request, pk):
    point = _operated_point(request, pk)
    issued, problem = _issue(request, point.conference, LiveToken.Purpose.CHECK, point)
    config = _config(request, issued, point_id=point.pk, save_url=f"/api/live/points/{point.pk}/check")
    checks = point.technical_checks.select_related("checked_by")[:10]
    return render(request, "live/check.html", {"point": point, "config": config, "problem": problem,
                                               "checks": checks})


@login_required
@ensure_csrf_cookie  # the page renews its Janus token with the CSRF header
def studio(request, cid):
    conference = _director_conference(request, cid)
    issued, problem = _issue(request, conference, LiveToken.Purpose.STUDIO)
    host = issued.token.point if issued else None
    # The studio reports its figures as the host point's kiosk when this person runs the host point.
    ws = f"/ws/live/kiosk/{host.pk}/" if host is not None and operates_point(request.user, host) else ""
    return render(request, "live/studio.html", {"conference": conference, "config": _config(request, issued, ws=ws),
                                                "problem": problem})


@login_required
@ensure_csrf_cookie
def director(request, cid):
    conference = _director_conference(request, cid)
    issued, problem = _issue(request, conference, LiveToken.Purpose.DIRECTOR)
    points = list(access.board_points(request.user, conference).values("pk", "name"))
    config = _config(request, issued, ws=f"/ws/live/director/{conference.pk}/",
                     board_ws=f"/ws/live/board/{conference.pk}/", points=points,
                     thumb_url=reverse("live:thumbnail", args=[0]),
                     ages_url=f"/api/live/conferences/{conference.pk}/thumbnails")
    return render(request, "live/director.html", {"conference": conference, "config": config, "problem": problem,
                                                  "sources": Programme.Source.choices})


@login_required
def site_board(request, cid):
    """The live site board (status wall): pushed by the site-board hub, swapped by htmx's ws extension."""
    conference = _conference(request, cid)
    return render(request, "live/site_board.html", {"conference": conference,
                                                    "ws_path": f"/ws/live/board/{conference.pk}/?htmx=1"})


@login_required
def nodes(request, cid):
    conference = _conference(request, cid)
    if not can_direct(request.user, conference):
        raise Http404
    return render(request, "live/nodes.html", {"conference": conference, "plan": live_nodes.node_plan(conference)})


@login_required
def thumbnail(request, pk):
    """A point's latest thumbnail, for whoever's board shows the point (others: 404)."""
    point = get_object_or_404(BridgePoint.objects.select_related("conference"), pk=pk)
    if not access.board_points(request.user, point.conference).filter(pk=point.pk).exists():
        raise Http404
    try:
        response = FileResponse(open(thumbs.path_for(point.pk), "rb"), content_type="image/jpeg")
    except OSError:
        raise Http404 from None
    response["Cache-Control"] = "no-store"
    return response


def hls(request, cid, expires, signature, path):
    """The programme's HLS files behind a signed, expiring link (a cache serves them in production).

    No session is needed: the link is the credential, issued by the viewer page to those invited
    (``live_hls.hls_link``), so nginx can check the same signature (deploy/nginx/hls-secure-link.conf).
    """
    if not live_hls.hls_link_ok(cid, expires, signature):
        return HttpResponseForbidden()
    try:
        full = safe_join(str(live_hls.hls_folder(cid)), path)
    except Exception:
        raise Http404 from None
    try:
        return FileResponse(open(full, "rb"))
    except OSError:
        raise Http404 from None
