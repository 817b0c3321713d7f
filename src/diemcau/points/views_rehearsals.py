"""Pages of the days before: rehearsal slots of a conference's points and the readiness board.

Thin: forms parse, ``points.rehearsals`` and ``points.readiness`` decide. A conference the user does
not see is a 404; the points shown are those of the user's subtrees (``points.access``).
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core.forms import attempt, submit
from diemcau.events.shortcuts import visible_conference
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import scope_for

from . import access, readiness, rehearsals
from .forms import RehearsalForm, RehearsalWindowForm
from .models import RehearsalSlot

CSS = "points/planning.css"


def _within(request) -> Unit | None:
    raw = request.GET.get("unit") or request.POST.get("unit") or ""
    if raw.isdigit():
        return get_object_or_404(scope_for(request.user).units("read"), pk=int(raw))
    return None


@login_required
def readiness_board(request, cid):
    """Each point of the user's part with its rehearsal, its check's deadline and its alarms."""
    conference = visible_conference(request, cid)
    within = _within(request)
    return render(request, "points/readiness_board.html", {
        "conference": conference, "unit": within, "board": readiness.board(request.user, conference, within),
        "css": CSS})


@login_required
def rehearsal_slots(request, cid):
    """The rehearsal slots of the user's points; organisers book one, or spread them over a window."""
    conference = visible_conference(request, cid)
    within = _within(request)
    writable = access.points_in_scope(request.user, conference, "write", within=within).order_by("name")
    form = RehearsalForm(request.POST if request.POST.get("action") == "one" else None, points=writable)
    window = RehearsalWindowForm(request.POST if request.POST.get("action") == "window" else None)
    if request.method == "POST":
        if not scope_for(request.user).write_paths:
            raise PermissionDenied
        unit = within or scope_for(request.user).roots("write").order_by("depth").first()
        done = (submit(request, form, lambda d: rehearsals.create_slot(
                    request.user, d["point"], starts_at=d["starts_at"], ends_at=d["ends_at"], note=d["note"]),
                    _("The rehearsal has been booked."))
                if request.POST.get("action") == "one" else
                submit(request, window, lambda d: rehearsals.generate_slots(
                    request.user, conference, unit, starts_at=d["window_start"], ends_at=d["window_end"],
                    minutes=d["minutes"]), _("Rehearsal slots have been spread over the window.")))
        if done is not None:
            return redirect(request.get_full_path())
    return render(request, "points/rehearsals.html", {
        "conference": conference, "unit": within, "slots": rehearsals.slots_in_scope(request.user, conference, within),
        "form": form, "window": window, "can_book": writable.exists(), "css": CSS})


@login_required
@require_POST
def rehearsal_delete(request, pk):
    slot = get_object_or_404(RehearsalSlot.objects.select_related("point__hall__unit", "point__conference"), pk=pk)
    visible_conference(request, slot.point.conference_id)
    if not access.can_change_point(request.user, slot.point):
        raise PermissionDenied
    attempt(request, lambda: rehearsals.delete_slot(request.user, slot), _("The rehearsal has been cancelled."))
    return redirect("points:rehearsals", slot.point.conference_id)
