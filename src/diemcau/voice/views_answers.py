"""The answers page (trả lời ý kiến): items at the ministry given to a unit with a due date, and the
answers the user's units write and publish. Thin: each action calls :mod:`.answers`."""

import datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.forms import attempt
from diemcau.events.shortcuts import visible_conference
from diemcau.orgs.models import Unit

from . import access, answers
from .models import AnswerAssignment


@login_required
def page(request, conference_id):
    conference = visible_conference(request, conference_id)
    return render(request, "voice/answers.html", {
        "conference": conference, "waiting": answers.awaiting_assignment(request.user, conference)[:100],
        "assigned": answers.assigned_to(request.user).filter(opinion__conference=conference),
        "units": answers.responsible_units(conference),
        "default_due": (timezone.localdate() + datetime.timedelta(days=14)).isoformat()})


def _due(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise DomainError(_("Choose the due date."), "bad_due_date") from None


@login_required
@require_POST
def act(request, conference_id, action):
    conference = visible_conference(request, conference_id)
    post = request.POST
    if action == "assign":
        try:
            opinion = access.opinion_for(request.user, post.get("opinion") or 0)
        except ScopeError:
            raise Http404 from None
        unit = get_object_or_404(Unit, pk=post.get("unit") or 0)
        attempt(request, lambda: answers.assign(request.user, opinion, unit, _due(post.get("due_on", ""))),
                _("The item is assigned."))
    else:
        assignment = get_object_or_404(AnswerAssignment.objects.select_related("unit", "opinion"),
                                       pk=post.get("assignment") or 0, opinion__conference=conference)
        if action == "write":
            attempt(request, lambda: answers.write_answer(request.user, assignment, post.get("answer", "")),
                    _("The answer is saved."))
        elif action == "publish":
            attempt(request, lambda: answers.publish(request.user, assignment),
                    _("The answer is published to the askers and voters."))
    return redirect("voice:answers", conference.pk)
