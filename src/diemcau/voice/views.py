"""Pages of opinions and questions: a phone-sized form for participants, a queue for moderators.

Thin: :mod:`diemcau.voice.services` decides; htmx swaps fragments (similar items while typing,
a vote button, a moderated row).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.scoping import scope_for
from diemcau.events.models import Conference
from diemcau.orgs.models import Person

from . import services
from .models import MAX_TEXT, Opinion, Topic


def _person(request):
    return Person.objects.filter(user=request.user).select_related("unit").first()


def _htmx(request) -> bool:
    return bool(request.headers.get("HX-Request"))


@login_required
def send(request, conference_id):
    """The participant's page: write a question or an opinion, see similar items, see one's own."""
    conference = get_object_or_404(Conference, pk=conference_id)
    person = _person(request)
    topics = services.ensure_topics(conference)
    form = {"text": "", "kind": Opinion.Kind.QUESTION, "topic": "", "session": "", "anonymous": False}
    error = None
    if request.method == "POST":
        form = {"text": request.POST.get("text", ""), "kind": request.POST.get("kind", Opinion.Kind.QUESTION),
                "topic": request.POST.get("topic", ""), "session": request.POST.get("session", ""),
                "anonymous": bool(request.POST.get("anonymous"))}
        topic = conference.voice_topics.filter(pk=form["topic"]).first() if form["topic"].isdigit() else None
        session = conference.sessions.filter(pk=form["session"]).first() if form["session"].isdigit() else None
        try:
            services.submit(person, conference, form["text"], kind=form["kind"], session=session, topic=topic,
                            anonymous=form["anonymous"])
        except DomainError as e:
            error = e
        else:
            messages.success(request, _("Sent. The moderators of your unit will review it."))
            return redirect("voice:send", conference.pk)
    return render(request, "voice/send.html", {
        "conference": conference, "person": person, "topics": topics, "sessions": conference.sessions.all(),
        "form": form, "error": error, "max_text": MAX_TEXT,
        "mine": services.my_opinions(person, conference) if person else [],
    }, status=400 if error else 200)


@login_required
def similar(request, conference_id):
    """Visible items like the text being typed (an htmx fragment)."""
    conference = get_object_or_404(Conference, pk=conference_id)
    items = services.similar(conference, request.GET.get("text", "")[:2000], request.user)
    person = _person(request)
    voted = set(person.opinion_votes.filter(opinion__in=items, family="up").values_list("opinion_id", flat=True)) \
        if person else set()
    return render(request, "voice/_similar.html", {"items": items, "voted": voted})


@login_required
@require_POST
def vote(request, pk):
    opinion = get_object_or_404(Opinion.objects.select_related("at_unit", "author_unit"), pk=pk)
    if not services.can_see(request.user, opinion):
        raise Http404
    error = None
    try:
        services.vote(_person(request), opinion, request.POST.get("kind", "upvote"))
    except DomainError as e:
        error = e
    opinion.refresh_from_db()
    if _htmx(request):
        return render(request, "voice/_vote.html", {"o": opinion, "error": error,
                                                         "voted": set() if error else {opinion.pk}})
    if error:
        messages.error(request, error.message)
    return redirect("voice:send", opinion.conference_id)


def _require_moderator(request, conference):
    scope = scope_for(request.user)
    if not scope.has_role(*services.MODERATOR_ROLES):
        raise Http404


@login_required
def moderate(request, conference_id):
    """The moderator's queue: pending items in scope, suggested duplicates, what reached this level."""
    conference = get_object_or_404(Conference, pk=conference_id)
    _require_moderator(request, conference)
    queue = list(services.moderation_queue(request.user, conference)[:200])
    # The moderator's whole subtree: items approved at a school still need forwarding or merging.
    level = list(services.ranked(request.user, conference, include_below=True)[:200])
    groups = services.suggested_duplicates(request.user, conference)
    return render(request, "voice/moderate.html", {
        "conference": conference, "queue": queue, "level": level, "groups": groups,
        "topics": services.ensure_topics(conference), "targets": level,
    })


@login_required
def ranked(request, conference_id):
    """What came up to the user's level (the ministry: the national list), ranked, with counts."""
    conference = get_object_or_404(Conference, pk=conference_id)
    below = request.GET.get("below") == "1"
    items = list(services.ranked(request.user, conference, include_below=below)[:500])
    return render(request, "voice/ranked.html", {"conference": conference, "items": items, "below": below})


ACTIONS = ("approve", "reject", "edit", "tag", "forward", "merge")


@login_required
@require_POST
def act(request, pk, action):
    """One moderation action on one item; htmx gets the item's row back, with any error in it."""
    if action not in ACTIONS:
        raise Http404
    opinion = get_object_or_404(Opinion.objects.select_related("at_unit", "author_unit"), pk=pk)
    if not services.can_moderate(request.user, opinion):
        raise Http404
    error = None
    try:
        if action == "approve":
            opinion = services.approve(request.user, opinion)
        elif action == "reject":
            opinion = services.reject(request.user, opinion, request.POST.get("reason", ""))
        elif action == "edit":
            opinion = services.edit(request.user, opinion, request.POST.get("text", ""))
        elif action == "tag":
            topic_id = request.POST.get("topic", "")
            topic = get_object_or_404(Topic, pk=topic_id, conference_id=opinion.conference_id) if topic_id else None
            opinion = services.tag(request.user, opinion, topic)
        elif action == "forward":
            opinion = services.forward(request.user, opinion)
        elif action == "merge":
            target = get_object_or_404(Opinion, pk=request.POST.get("target") or 0)
            services.merge(request.user, opinion, target)
            opinion.refresh_from_db()
    except ScopeError:
        raise Http404 from None
    except DomainError as e:
        error = e
    if _htmx(request):
        conference = opinion.conference
        return render(request, "voice/_mod_item.html", {
            "o": opinion, "error": error, "topics": services.ensure_topics(conference),
            "targets": services.ranked(request.user, conference, include_below=True)[:200],
        })
    if error:
        messages.error(request, error.message)
    return redirect("voice:moderate", opinion.conference_id)
