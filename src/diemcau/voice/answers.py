"""Answers that reach the teachers (trả lời ý kiến sau hội nghị): assigned, written, published, told.

The flow, each step in its transaction with its audit entry:

1. :func:`assign`: an item forwarded up to the top of the tree (the ministry) is given to a responsible
   unit below it (a department of the ministry, a provincial department) with a due date, by a
   moderator of the level the item has reached (``voice.access.require_moderator``).
2. :func:`write_answer`: a moderator of the responsible unit (scope covers that unit, mode
   "moderate": :func:`can_answer`) writes or corrects the answer.
3. :func:`publish`: the answer becomes the item's answer (status "answered"); one :class:`AnswerNotice`
   per person who asked it (its author and the authors of items merged into it) or voted for it
   (upvote or agree), shown on their phone (:func:`answers_panel_context`), and e-mailed by a job
   (``voice.answer_mail``, retried) to those with an address. An anonymous asker is told in the app
   only, and no notice, page or e-mail ever names who asked.

:func:`answer_status` is the summary's view: per responsible unit, what was answered live (on air),
answered later (published here) and is still open.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from diemcau.core import audit, tasks
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.vntext import nfc
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for

from . import anonymity
from .access import require_moderator
from .models import MAX_TEXT, AnswerAssignment, AnswerNotice, Opinion, Vote
from .moderation import lock_opinion, log_moderation
from .notices import opinion_notice

MAIL_JOB = "voice.answer_mail"
PANEL_SIZE = 10


def _record(user, opinion: Opinion, action: str, after: dict) -> None:
    audit.record(user, f"voice.opinion.{action}", opinion, after=after, unit_path=opinion.at_unit.path,
                 object_repr=anonymity.audit_label(opinion))


# --- assigning ----------------------------------------------------------------------------------------

def assign(user, opinion: Opinion, unit: Unit, due_on: datetime.date) -> AnswerAssignment:
    """Give an item that reached the top of the tree to ``unit`` (below that top) to answer by ``due_on``."""
    require_moderator(user, opinion)
    if due_on < timezone.localdate():
        raise DomainError(_("The due date cannot be in the past."), "bad_due_date")
    with transaction.atomic():
        opinion = lock_opinion(opinion)
        if opinion.at_unit.parent_id is not None:
            raise DomainError(_("Only items forwarded to the ministry are assigned for an answer."), "not_at_top")
        if opinion.status not in (Opinion.Status.APPROVED, Opinion.Status.ANSWERED):
            raise DomainError(_("Only approved items can be assigned for an answer."), "not_approved")
        if unit.pk == opinion.at_unit_id or not unit.path.startswith(opinion.at_unit.path):
            raise DomainError(_("Choose a unit under the ministry to answer it."), "bad_unit")
        assignment, created = AnswerAssignment.objects.select_for_update().get_or_create(
            opinion=opinion, defaults={"unit": unit, "due_on": due_on, "assigned_by": _user(user)})
        if assignment.state == AnswerAssignment.State.PUBLISHED:
            raise DomainError(_("The answer is already published."), "already_published")
        if not created:
            assignment.unit, assignment.due_on = unit, due_on
            assignment.save(update_fields=["unit", "due_on"])
        _record(user, opinion, "assign", {"unit": unit.pk, "due_on": due_on.isoformat()})
        publish_on_commit(opinion_notice(opinion, "assign"))
    return assignment


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def can_answer(user, assignment: AnswerAssignment) -> bool:
    """A moderator (or national organiser) whose scope covers the responsible unit writes its answer."""
    return user is SYSTEM or scope_for(user).covers(assignment.unit.path, "moderate")


def require_answerer(user, assignment: AnswerAssignment) -> None:
    if not can_answer(user, assignment):
        raise ScopeError()


def assigned_to(user):
    """The assignments of the units the user answers for, earliest due first."""
    qs = AnswerAssignment.objects.select_related("opinion", "unit").order_by("due_on", "pk")
    if user is SYSTEM:
        return qs
    return qs.filter(scope_for(user).q("unit__path", "moderate"))


# --- writing and publishing ---------------------------------------------------------------------------

def write_answer(user, assignment: AnswerAssignment, text: str) -> AnswerAssignment:
    """Write (or correct, before publishing) the responsible unit's answer."""
    require_answerer(user, assignment)
    text = nfc(text or "").strip()
    if not text:
        raise DomainError(_("Write the answer."), "empty_answer")
    if len(text) > MAX_TEXT * 4:
        raise DomainError(_("Keep the answer under %(max)d characters.") % {"max": MAX_TEXT * 4}, "too_long")
    with transaction.atomic():
        assignment = AnswerAssignment.objects.select_for_update().select_related("opinion__at_unit").get(
            pk=assignment.pk)
        if assignment.state == AnswerAssignment.State.PUBLISHED:
            raise DomainError(_("The answer is already published."), "already_published")
        assignment.answer, assignment.answered_by = text, _user(user)
        assignment.state = AnswerAssignment.State.DRAFTED
        assignment.save(update_fields=["answer", "answered_by", "state"])
        _record(user, assignment.opinion, "answer_draft", {"unit": assignment.unit_id})
    return assignment


def _recipients(opinion: Opinion) -> dict[int, str]:
    """Person id → reason: those who asked it (author, merged items' authors) first, then voters."""
    askers = {opinion.author_id, *Opinion.objects.filter(merged_into=opinion).values_list("author_id", flat=True)}
    voters = set(Vote.objects.filter(opinion=opinion, kind__in=(Vote.Kind.UPVOTE, Vote.Kind.AGREE))
                 .values_list("person_id", flat=True))
    return {**{p: AnswerNotice.Reason.VOTED for p in voters - askers},
            **{p: AnswerNotice.Reason.ASKED for p in askers}}


def publish(user, assignment: AnswerAssignment) -> int:
    """Publish the written answer: the item is answered, the askers and voters are told. Returns how many."""
    require_answerer(user, assignment)
    with transaction.atomic():
        assignment = AnswerAssignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.state == AnswerAssignment.State.PUBLISHED:
            return 0
        if not assignment.answer:
            raise DomainError(_("Write the answer before publishing it."), "empty_answer")
        opinion = lock_opinion(assignment.opinion)
        now = timezone.now()
        assignment.state, assignment.published_at = AnswerAssignment.State.PUBLISHED, now
        assignment.save(update_fields=["state", "published_at"])
        before = {"status": opinion.status}
        opinion.status, opinion.answered_at, opinion.answer = Opinion.Status.ANSWERED, now, assignment.answer
        opinion.save(update_fields=["status", "answered_at", "answer", "updated_at"])
        log_moderation(user, opinion, "answer", before, {"status": "answered", "unit": assignment.unit_id})
        return tell(user, opinion)


def tell(user, opinion: Opinion) -> int:
    """Tell the askers and voters of an answered item (a notice each, e-mail by a job); in the caller's
    transaction. Called on publishing here and when an item is answered on air (``on_air``)."""
    recipients = _recipients(opinion)
    AnswerNotice.objects.bulk_create(
        [AnswerNotice(person_id=p, opinion=opinion, reason=r) for p, r in recipients.items()],
        ignore_conflicts=True)
    if _mail_recipients(opinion).exists():
        tasks.enqueue(MAIL_JOB, owner=_user(user), opinion=opinion.pk)
    return len(recipients)


# --- e-mail -------------------------------------------------------------------------------------------

def _mail_recipients(opinion: Opinion):
    """Notices still to e-mail: people with an address, never an anonymous asker (told in the app only)."""
    qs = AnswerNotice.objects.filter(opinion=opinion, emailed_at__isnull=True).exclude(person__email="")
    if opinion.anonymous:
        qs = qs.exclude(person_id=opinion.author_id)
    return qs.select_related("person")


def answer_mail(notice: AnswerNotice) -> EmailMessage:
    """The e-mail telling one person the answer (Vietnamese; it names the responsible unit, never the asker)."""
    opinion = notice.opinion
    with translation.override("vi"):
        context = {"notice": notice, "opinion": opinion, "unit": getattr(opinion, "assignment", None)
                   and opinion.assignment.unit, "conference": opinion.conference}
        subject = _("Answer to a question of %(conference)s") % {"conference": opinion.conference.title}
        body = render_to_string("voice/answer_mail.txt", context)
    return EmailMessage(subject=subject[:200], body=body, from_email=settings.DEFAULT_FROM_EMAIL,
                        to=[notice.person.email])


@tasks.handler(MAIL_JOB, retryable=True)
def _send_answer_mails(job, progress):
    """E-mail each notice not yet e-mailed; a notice is marked when its message is accepted, so a retry
    sends only the rest."""
    opinion = Opinion.objects.select_related("conference", "assignment__unit").get(pk=job.params["opinion"])
    todo = list(_mail_recipients(opinion))
    sent = 0
    with get_connection() as connection:
        for i, notice in enumerate(todo):
            notice.opinion = opinion
            connection.send_messages([answer_mail(notice)])
            AnswerNotice.objects.filter(pk=notice.pk).update(emailed_at=timezone.now())
            sent += 1
            progress(i + 1, len(todo))
    return {"sent": sent}


# --- the phone's panel and the summary ----------------------------------------------------------------

def answers_panel_context(user) -> dict:
    """Context of ``voice/_answers_panel.html``: the latest answers told to the user's person."""
    person = Person.objects.filter(user=user).first() if getattr(user, "is_authenticated", False) else None
    notices = []
    if person is not None:
        notices = list(AnswerNotice.objects.filter(person=person).select_related(
            "opinion__conference", "opinion__assignment__unit")[:PANEL_SIZE])
    return {"answers_panel": {"notices": notices, "unread": sum(1 for n in notices if n.read_at is None)}}


def mark_read(person: Person) -> int:
    """The person has seen their answers (the panel's button)."""
    return AnswerNotice.objects.filter(person=person, read_at__isnull=True).update(read_at=timezone.now())


def answer_status(items, host_unit: Unit) -> list[dict]:
    """Per responsible unit: answered live (on air), answered later, still open, and overdue.

    ``items`` is the summary's scoped query of the conference's items; answers given on air count for
    the conference's host unit; items assigned and not yet published are open for their unit.
    """
    today = timezone.localdate()
    rows: dict[int, dict] = {}

    def row(unit_id, name):
        return rows.setdefault(unit_id, {"unit": name, "live": 0, "later": 0, "open": 0, "overdue": 0})

    live = items.filter(status=Opinion.Status.ANSWERED, on_air_at__isnull=False, assignment__isnull=True).count()
    if live:
        row(host_unit.pk, host_unit.name)["live"] += live
    for a in AnswerAssignment.objects.filter(opinion__in=items.values("pk")).select_related("unit", "opinion"):
        r = row(a.unit_id, a.unit.name)
        if a.state == AnswerAssignment.State.PUBLISHED:
            r["later"] += 1
        else:
            r["open"] += 1
            r["overdue"] += a.due_on < today
    return sorted(rows.values(), key=lambda r: r["unit"])


def on_air_marks(conference, start, end) -> list[dict]:
    """The questions answered on air between ``start`` and ``end``, as chapter marks for a recording
    (``live.recording.chapters``' extra marks): when each went on screen, its text, its unit unless
    anonymous."""
    items = Opinion.objects.filter(conference=conference, on_air_at__gte=start, on_air_at__lte=end,
                                   status=Opinion.Status.ANSWERED).select_related("author_unit")
    marks = []
    for o in items:
        where = "" if o.anonymous else f" ({o.author_unit.name})"
        text = o.text if len(o.text) <= 90 else o.text[:89] + "…"
        marks.append({"when": o.on_air_at, "title": _("Question: %(text)s") % {"text": text} + where,
                      "kind": "question", "ref": o.pk})
    return marks


def awaiting_assignment(user, conference):
    """Items that reached the top of the tree, not yet given to a unit, that the user moderates there."""
    items = Opinion.objects.filter(conference=conference, at_unit__parent__isnull=True, status=Opinion.Status.APPROVED,
                                   assignment__isnull=True).select_related("at_unit", "author_unit", "topic")
    if user is not SYSTEM:
        items = items.filter(scope_for(user).q("at_unit__path", "moderate"))
    return items.order_by(*("-upvotes", "created_at"))


def responsible_units(conference) -> list[Unit]:
    """The units an answer may be given to: those directly under the conference's top unit."""
    top = conference.host_unit
    while top.parent_id is not None:
        top = top.parent
    return list(Unit.objects.filter(parent=top, is_active=True).order_by("kind", "name"))
