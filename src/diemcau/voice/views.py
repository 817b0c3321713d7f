"""Pages of opinions and questions: a phone-sized form for participants, a queue for moderators.

Thin: the voice services (``opinions``, ``moderation``, ``on_air``, ``topic_list``) decide;
htmx swaps fragments (similar items while typing, a vote button, a moderated row).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core.errors import DomainError, ScopeError
from diemcau.events import access as event_access
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import scope_for

from . import access, analysis, moderation, opinions, pages, stored, topic_list
from . import on_air as voice_on_air
from . import similar as voice_similar
from .models import MAX_TEXT, Opinion, OpinionGroupsRun, Topic, TopicProposal


def _person(request):
    return Person.objects.filter(user=request.user).select_related("unit").first()


def _htmx(request) -> bool:
    return bool(request.headers.get("HX-Request"))


def _conference(request, conference_id):
    """The conference if the user takes part in it; 404 otherwise, as if it did not exist."""
    try:
        return event_access.visible_conference(request.user, conference_id)
    except ScopeError:
        raise Http404 from None


def _opinion(request, pk):
    """An item of a conference the user takes part in; 404 otherwise."""
    try:
        return access.opinion_for(request.user, pk)
    except ScopeError:
        raise Http404 from None


@login_required
def send(request, conference_id):
    """The participant's page: write a question or an opinion, see similar items, see one's own."""
    conference = _conference(request, conference_id)
    person = _person(request)
    topics = topic_list.active_topics(conference)
    form = {"text": "", "kind": Opinion.Kind.QUESTION, "topic": "", "session": "", "anonymous": False}
    error = None
    # A kiosk opens this page with ?point=<id>: what is sent there carries the bridge point.
    point_id = request.POST.get("point") or request.GET.get("point") or ""
    point_id = point_id if point_id.isdigit() else ""
    if request.method == "POST":
        form = {"text": request.POST.get("text", ""), "kind": request.POST.get("kind", Opinion.Kind.QUESTION),
                "topic": request.POST.get("topic", ""), "session": request.POST.get("session", ""),
                "anonymous": bool(request.POST.get("anonymous"))}
        topic = conference.voice_topics.filter(pk=form["topic"], active=True).first() \
            if form["topic"].isdigit() else None
        session = conference.sessions.filter(pk=form["session"]).first() if form["session"].isdigit() else None
        try:
            point = opinions.kiosk_point(request.user, person, conference, point_id)
            opinions.submit(person, conference, form["text"], kind=form["kind"], session=session, topic=topic,
                            anonymous=form["anonymous"], point=point)
        except DomainError as e:
            error = e
        else:
            messages.success(request, _("Sent. The moderators of your unit will review it."))
            return redirect(request.get_full_path())
    return render(request, "voice/send.html", {
        "conference": conference, "person": person, "topics": topics, "sessions": conference.sessions.all(),
        "form": form, "error": error, "max_text": MAX_TEXT, "point_id": point_id,
        "mine": opinions.my_opinions(person, conference) if person else [],
    }, status=400 if error else 200)


@login_required
def similar(request, conference_id):
    """Visible items like the text being typed (an htmx fragment)."""
    conference = _conference(request, conference_id)
    items = voice_similar.similar(conference, request.GET.get("text", "")[:2000], request.user)
    person = _person(request)
    voted = set(person.opinion_votes.filter(opinion__in=items, family="up").values_list("opinion_id", flat=True)) \
        if person else set()
    return render(request, "voice/_similar.html", {"items": items, "voted": voted})


@login_required
@require_POST
def vote(request, pk):
    opinion = _opinion(request, pk)
    if not access.can_see(request.user, opinion):
        raise Http404
    error = None
    try:
        opinions.vote(_person(request), opinion, request.POST.get("kind", "upvote"))
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
    if not scope.has_role(*moderation.MODERATOR_ROLES):
        raise Http404


@login_required
def moderate(request, conference_id):
    """The moderator's queue: pending items in scope, suggested duplicates, what reached this level."""
    conference = _conference(request, conference_id)
    _require_moderator(request, conference)
    filters = pages.QueueFilters.from_query(request.GET)
    return render(request, "voice/moderate.html", pages.moderation_context(request.user, conference, filters))


@login_required
@require_POST
def moderate_bulk(request, conference_id):
    """Approve or forward the ticked items of the queue: one service call, each item logged and audited."""
    conference = _conference(request, conference_id)
    _require_moderator(request, conference)
    ids = [int(i) for i in request.POST.getlist("items") if i.isdigit()]
    try:
        result = moderation.bulk(request.user, conference, request.POST.get("action", ""), ids)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if result["done"]:
            messages.success(request, _("%(n)d items done.") % {"n": len(result["done"])})
        for pk, message in result["refused"][:20]:
            messages.error(request, _("Item #%(pk)d: %(message)s") % {"pk": pk, "message": message})
    back = request.POST.get("next", "")
    query = back if back.startswith("?") and "\n" not in back else ""
    return redirect(reverse("voice:moderate", args=[conference.pk]) + query)


@login_required
def ranked(request, conference_id):
    """What came up to the user's level (the ministry: the national list), ranked, with counts."""
    conference = _conference(request, conference_id)
    # The moderator's whole subtree by default; "?below=0" keeps to what reached their level.
    below = request.GET.get("below") != "0"
    return render(request, "voice/ranked.html", pages.ranked_context(request.user, conference, below))


ACTIONS = ("approve", "reject", "edit", "tag", "forward", "merge")


@login_required
@require_POST
def act(request, pk, action):
    """One moderation action on one item; htmx gets the item's row back, with any error in it."""
    if action not in ACTIONS:
        raise Http404
    opinion = _opinion(request, pk)
    if not access.can_moderate(request.user, opinion):
        raise Http404
    error = None
    try:
        if action == "approve":
            opinion = moderation.approve(request.user, opinion)
        elif action == "reject":
            opinion = moderation.reject(request.user, opinion, request.POST.get("reason", ""))
        elif action == "edit":
            opinion = moderation.edit(request.user, opinion, request.POST.get("text", ""))
        elif action == "tag":
            topic_id = request.POST.get("topic", "")
            topic = get_object_or_404(Topic, pk=topic_id, conference_id=opinion.conference_id) if topic_id else None
            opinion = moderation.tag(request.user, opinion, topic)
        elif action == "forward":
            opinion = moderation.forward(request.user, opinion)
        elif action == "merge":
            target_id = request.POST.get("target", "")
            if not target_id.isdigit():
                raise Http404
            moderation.merge(request.user, opinion, _opinion(request, int(target_id)),
                             override_reason=request.POST.get("override_reason", ""))
            opinion.refresh_from_db()
    except ScopeError:
        raise Http404 from None
    except DomainError as e:
        error = e
    if _htmx(request):
        conference = opinion.conference
        return render(request, "voice/_mod_item.html", {
            "o": opinion, "error": error, "topics": topic_list.active_topics(conference),
            "out_of_scope": not access.can_moderate(request.user, opinion),
            "targets": moderation.ranked(request.user, conference, include_below=True)[:200],
            "merge_note": moderation.opposite_merge_reason(opinion) if opinion.status == Opinion.Status.MERGED else "",
        })
    if error:
        messages.error(request, error.message)
    return redirect("voice:moderate", opinion.conference_id)


# --- live: the question being answered ------------------------------------------------------

@login_required
def on_air(request, conference_id):
    """The item being answered now, as an HTML fragment for kiosks and the viewer page (htmx)."""
    conference = _conference(request, conference_id)
    return render(request, "voice/_on_air.html", {"conference": conference, "o": voice_on_air.on_air(conference)})


@login_required
def director(request, conference_id):
    """The director's controls: what is on screen, the approved items ranked, the answered ones."""
    conference = _conference(request, conference_id)
    if not event_access.can_direct(request.user, conference):
        raise Http404
    return render(request, "voice/director.html", {
        "conference": conference, "current": voice_on_air.on_air(conference),
        "candidates": list(opinions.live_candidates(request.user, conference)[:100]),
        "answered": list(voice_on_air.answered(conference)[:50]),
    })


LIVE_ACTIONS = ("on_air", "answer", "off_air")


@login_required
@require_POST
def director_act(request, pk, action):
    """Put an item on screen, record its answer, or take it off; back to the director's page."""
    if action not in LIVE_ACTIONS:
        raise Http404
    opinion = _opinion(request, pk)
    if not event_access.can_direct(request.user, opinion.conference):
        raise Http404
    try:
        if action == "on_air":
            voice_on_air.put_on_air(request.user, opinion, previous=request.POST.get("previous", "answered"))
            messages.success(request, _("On screen now."))
        elif action == "answer":
            voice_on_air.answer(request.user, opinion, request.POST.get("answer", ""),
                                request.POST.get("answer_time", ""))
            messages.success(request, _("The answer is recorded."))
        else:
            voice_on_air.take_off_air(request.user, opinion)
            messages.success(request, _("Taken off screen; it is back in the list."))
    except ScopeError:
        raise Http404 from None
    except DomainError as e:
        messages.error(request, e.message)
    return redirect("voice:director", opinion.conference_id)


# --- the topic list -------------------------------------------------------------------------

@login_required
def topics(request, conference_id):
    """Edit the conference's topics; propose new ones from what no topic fits (a background job)."""
    conference = _conference(request, conference_id)
    if not access.can_edit_topics(request.user, conference):
        raise Http404
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            job = _topic_action(request, conference, action)
        except ScopeError:
            raise Http404 from None
        except DomainError as e:
            messages.error(request, e.message)
        else:
            if job is not None:
                return redirect(f"{request.path}?job={job.pk}")
            messages.success(request, _("Saved."))
        return redirect("voice:topics", conference.pk)
    all_topics = list(conference.voice_topics.all())
    counts = dict(Opinion.objects.filter(conference=conference).exclude(status=Opinion.Status.REJECTED)
                  .values_list("topic").annotate(n=Count("pk")).values_list("topic", "n"))
    for t in all_topics:
        t.items = counts.get(t.pk, 0)
    job_id = request.GET.get("job", "")
    job = request.user.jobs.filter(pk=job_id).first() if job_id.isdigit() else None
    proposals = list(analysis.proposals(conference))
    for p in proposals:
        p.samples = analysis.proposal_samples(p)
    return render(request, "voice/topics.html", {
        "conference": conference, "active": [t for t in all_topics if t.active],
        "retired": [t for t in all_topics if not t.active], "proposals": proposals, "job": job,
        "job_done_url": request.path,
    })


def _topic_action(request, conference, action):
    """Run one action of the topics page; returns the job it started, if any."""
    post = request.POST
    user = request.user

    def topic(field="topic"):
        return get_object_or_404(Topic, pk=post.get(field) or 0, conference=conference)

    if action == "add":
        topic_list.add_topic(user, conference, post.get("name", ""), post.get("keywords", ""))
    elif action == "edit":
        topic_list.edit_topic(user, topic(), post.get("name", ""), post.get("keywords", ""))
    elif action == "retire":
        topic_list.retire_topic(user, topic())
    elif action == "merge":
        topic_list.merge_topic(user, topic(), topic("target"))
    elif action in ("accept", "dismiss"):
        proposal = get_object_or_404(TopicProposal, pk=post.get("proposal") or 0, conference=conference)
        if action == "accept":
            topic_list.accept_proposal(user, proposal, post.get("name") or None)
        else:
            topic_list.dismiss_proposal(user, proposal)
    elif action == "propose":
        return analysis.start_topic_proposals(user, conference)
    else:
        raise Http404
    return None


# --- opinion groups and the summary for policy ---------------------------------------------

def _analysis_unit(request):
    """The subtree analysed: ?unit=<id> within the user's scope, else the top of it; 404 outside."""
    unit_id = request.GET.get("unit") or request.POST.get("unit") or ""
    unit = get_object_or_404(Unit, pk=unit_id) if unit_id.isdigit() else None
    try:
        return analysis.analysis_unit(request.user, unit)
    except ScopeError:
        raise Http404 from None


GROUP_COLOURS = ["#1f5fa8", "#c0392b", "#2f8f5b", "#b7791f", "#7b4fa0", "#138496"]


def _scatter(result: dict) -> list[dict]:
    """The participants' 2-D projection scaled into a 0..400 × 0..300 SVG box."""
    points = result.get("scatter") or []
    if not points:
        return []
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx, sy = 380 / ((x1 - x0) or 1), 280 / ((y1 - y0) or 1)
    return [{"x": round(10 + (x - x0) * sx, 1), "y": round(290 - (y - y0) * sy, 1),
             "c": GROUP_COLOURS[g % len(GROUP_COLOURS)]} for x, y, g in points]


def _groups_context(run):
    if run is None or not run.result:
        return {}
    result = run.result
    top = max((g["n"] for g in result["groups"]), default=0) or 1
    groups = [{**g, "number": i + 1, "pct": round(100 * g["n"] / top), "colour": GROUP_COLOURS[i % len(GROUP_COLOURS)]}
              for i, g in enumerate(result["groups"])]
    return {"result": result, "group_rows": groups, "scatter": _scatter(result)}


@login_required
def groups(request, conference_id):
    """Opinion groups of the user's subtree: start a computation, follow it, see the groups."""
    conference = _conference(request, conference_id)
    unit = _analysis_unit(request)
    if request.method == "POST":
        run = analysis.start_groups(request.user, conference, unit)
        return redirect(f"{request.path}?unit={unit.pk}&run={run.pk}")
    latest = analysis.latest_groups(request.user, conference, unit)
    done = analysis.latest_done_groups(request.user, conference, unit)
    running = latest if latest and latest.status == OpinionGroupsRun.Status.RUNNING else None
    return render(request, "voice/groups.html", {
        "conference": conference, "unit": unit, "run": done, "latest": latest,
        "job": running.job if running and running.job and running.job.owner_id == request.user.pk else None,
        "job_done_url": f"{request.path}?unit={unit.pk}", **_groups_context(done),
    })


@login_required
def policy_summary(request, conference_id):
    """The summary for policy: a page with charts. Its official document (print, PDF, .xlsx) is in
    ``diemcau.reports``; the old ``?format=xlsx`` address of this page leads there."""
    conference = _conference(request, conference_id)
    unit = _analysis_unit(request)
    if request.GET.get("format") == "xlsx":
        return redirect(f"{reverse('reports:summary-print', args=[conference.pk])}?{request.GET.urlencode()}")
    # The stored result, recomputed in the background as items and votes arrive (never here).
    snapshot = stored.summary_for(request.user, conference, unit)
    if snapshot.data is None:
        return render(request, "voice/summary.html", {"conference": conference, "unit": unit,
                                                      "snapshot": snapshot, "s": None})
    data = stored.page_data(snapshot)
    context = {"s": data, "snapshot": snapshot, "conference": conference, "unit": unit,
               **_groups_context(data["groups"])}
    return render(request, "voice/summary.html", context)
