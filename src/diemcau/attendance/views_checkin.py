"""Check-in surfaces beyond the roll-call page: its offline data, the point's QR poster, self check-in.

- ``roll-call/data.json``: everyone expected at a point (names, folded names, institution) and who
  is present, so the roll-call screen (``rollcall.js``) searches and queues check-ins offline;
  the queue syncs through ``POST /api/attendance/checkins/batch/``.
- ``poster/``: the point's printable QR (one signed point token per session and point).
- ``/attendance/rollcall-sw.js``: the service worker that lets the roll-call page reload offline
  (served here, not under /static/, so its scope covers /attendance/).
- ``/attendance/c/<token>/``: the page that QR opens on a participant's phone; they sign in,
  see who they are (the person linked to their account) and confirm. Method ``qr_self``.

Thin, like the other views: :mod:`checkin` and :mod:`badges` decide; a point the user does not operate is a 404.
"""

import datetime
import uuid
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from diemcau.core import links
from diemcau.core.errors import DomainError
from diemcau.core.vntext import people_order
from diemcau.orgs.models import Person
from diemcau.points.shortcuts import operated_point

from . import badges, checkin, delegations
from .models import CheckIn

SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "attendance" / "rollcall-sw.js"


@login_required
@never_cache
def roll_call_data(request, sid, pk):
    """The point's expected people and who is present, for the roll-call screen's local search."""
    session, point = operated_point(request, sid, pk)
    people = list(checkin.people_at_point(session, point).order_by(*people_order(), "pk")
                  .values_list("pk", "full_name", "name_search", "unit_id", "unit__name", "category"))
    labels = dict(Person.Category.choices)
    present = CheckIn.objects.filter(session=session, person_id__in=[p[0] for p in people]).values_list(
        "person_id", flat=True).distinct()
    return JsonResponse({
        "session_id": session.pk, "point_id": point.pk,
        "people": [{"id": pk, "name": name, "folded": folded, "unit_id": unit_id, "unit": unit,
                    "category": str(labels.get(cat, cat))} for pk, name, folded, unit_id, unit, cat in people],
        "present": sorted(set(present)),
        "delegations": {str(k): v for k, v in delegations.delegation_people_at_point(session, point).items()},
    })


@login_required
def point_poster(request, sid, pk):
    """The point's self check-in QR, one page to print and put up at the hall's door."""
    session, point = operated_point(request, sid, pk)
    link = links.absolute_url(request, reverse("attendance:self-check-in",
                                               args=[badges.make_badge_token(session, point)]))
    return render(request, "attendance/point_poster.html", {
        "session": session, "conference": session.conference, "point": point, "link": link,
        "qr": badges.qr_svg(link)})


@login_required
def self_check_in(request, token):
    """A participant's phone after scanning the point's QR: see who you are, confirm, checked in."""
    context = {"token": token, "client_id": uuid.uuid4()}
    try:
        session, point = badges.read_point_token(token)
    except DomainError as exc:
        return render(request, "attendance/self_check_in.html", {**context, "error": exc.message,
                                                                  "code": exc.code}, status=400)
    person = Person.objects.filter(user=request.user, is_active=True).select_related("unit").first()
    # A poster of another session (the afternoon's, scanned in the morning) is worth a warning.
    early = session.starts_at - datetime.timedelta(hours=2)
    context.update(session=session, point=point, person=person, not_yet=timezone.now() < early)
    if person is not None:
        context["already"] = CheckIn.objects.filter(session=session, person=person).order_by("received_at").first()
    if request.method == "POST" and person is not None:
        try:
            result = checkin.check_in_by_badge(request.user, session=session, point=point, token=token,
                                               client_id=request.POST.get("client_id"),
                                               device=request.headers.get("User-Agent", "")[:100])
            context.update(done=result.checkin, created=result.created)
        except DomainError as exc:
            context.update(error=exc.message, code=exc.code)
            return render(request, "attendance/self_check_in.html", context, status=400)
    return render(request, "attendance/self_check_in.html", context)


def service_worker(request):
    """The roll-call screen's service worker; public, it holds no data."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
