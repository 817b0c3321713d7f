"""Pages' actions on live polls: the director asks, closes and shows results; phones and kiosks answer.

Thin: each calls :mod:`.polls`. Answers come from htmx forms and get the panel back (thanks, or the
refusal); a plain POST goes back to ``next``.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.forms import attempt
from diemcau.events.access import can_direct, sees_conference, visible_conferences

from . import polls
from .models import Poll


def _director_conference(request, cid):
    conference = get_object_or_404(visible_conferences(request.user).select_related("host_unit"), pk=cid)
    if not can_direct(request.user, conference):
        raise Http404
    return conference


# What an answer reads of its poll (the rule's host unit, the checks, the panel): a narrow look-up.
VOTE_COLUMNS = ("question", "kind", "audience", "choices", "state", "conference__host_unit__path")


def _poll(request, pk, only=()) -> Poll:
    # One look-up by key; events.access decides on the loaded host unit (no second query).
    found = Poll.objects.select_related("conference__host_unit")
    poll = get_object_or_404(found.only(*only) if only else found, pk=pk)
    if not sees_conference(request.user, poll.conference):
        raise Http404
    return poll


@login_required
@require_POST
def ask(request, cid):
    conference = _director_conference(request, cid)
    kind = request.POST.get("kind", Poll.Kind.CHOICE)
    choices = [line for line in request.POST.get("choices", "").splitlines() if line.strip()]
    attempt(request, lambda: polls.ask(request.user, conference, request.POST.get("question", ""), kind, choices,
                                       request.POST.get("audience", Poll.Audience.PEOPLE)), _("The poll is open."))
    return redirect("live:director", conference.pk)


def _back(request, poll):
    """htmx buttons of the pushed results get nothing back (the hub pushes the change); forms redirect."""
    if request.headers.get("HX-Request"):
        return HttpResponse(status=204)
    return redirect("live:director", poll.conference_id)


@login_required
@require_POST
def close(request, pk):
    poll = _poll(request, pk)
    if not can_direct(request.user, poll.conference):
        raise Http404
    attempt(request, lambda: polls.close(request.user, poll), _("The poll is closed."))
    return _back(request, poll)


@login_required
@require_POST
def show(request, pk):
    poll = _poll(request, pk)
    if not can_direct(request.user, poll.conference):
        raise Http404
    attempt(request, lambda: polls.show_on_kiosks(request.user, poll, request.POST.get("shown") == "1"))
    return _back(request, poll)


@login_required
@require_POST
def vote(request, pk):
    poll = _poll(request, pk, only=VOTE_COLUMNS)
    point_id = request.POST.get("point", "")
    point_id = int(point_id) if point_id.isdigit() else None
    problem = ""
    try:
        choice = int(request.POST.get("choice", ""))
    except ValueError:
        choice = -1
    answer = None
    try:
        answer, created = polls.vote(request.user, poll, choice, request.POST.get("client_id", ""),
                                     point_id=point_id)
        answer = answer if created else None  # a retry: the panel reads the poll as it is now
    except ScopeError:
        raise Http404 from None
    except DomainError as exc:
        # Answering again shows the answer already recorded (the panel reads it), not a refusal.
        problem = "" if exc.code == "already_voted" else exc.message
    if not request.headers.get("HX-Request"):
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = "/"
        return redirect(target)
    if poll.audience == Poll.Audience.POINTS:
        context = polls.kiosk_context(poll.conference_id, point_id)
        return render(request, "live/_poll_kiosk.html", {"conference": poll.conference, **context,
                                                         "problem": problem})
    context = polls.poll_panel_context(request.user, poll.conference, answered=answer)
    context["poll_panel"]["problem"] = problem
    return render(request, "live/_poll_panel.html", context)
