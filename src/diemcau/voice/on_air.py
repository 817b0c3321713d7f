"""The question being answered on screen: putting an item on air, answering it, taking it off.
"""

import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError
from diemcau.core.vntext import nfc
from diemcau.events.access import require_director

from . import answers
from .models import MAX_TEXT, Opinion
from .moderation import lock_opinion, log_moderation
from .notices import on_air_message

# --- live: the question being answered ------------------------------------------------------

ANSWER_TIME = re.compile(r"^(\d{1,2}):([0-5]\d):([0-5]\d)$")


def on_air(conference) -> Opinion | None:
    """The item being answered on screen now, if any."""
    return Opinion.objects.filter(conference=conference, status=Opinion.Status.ON_AIR).select_related(
        "author_unit", "at_unit", "topic").first()


def _clean_answer_time(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    m = ANSWER_TIME.match(value)
    if not m:
        raise DomainError(_("Write the time in the recording as hh:mm:ss, for example 01:05:30."), "bad_answer_time")
    return f"{int(m.group(1)):02d}:{m.group(2)}:{m.group(3)}"


def _leave_air(user, current: Opinion, answered: bool, answer: str = "", answer_time: str = ""):
    """Take the current item off screen: answered (keeping any answer) or back to the list."""
    now = timezone.now()
    if answered:
        current.status, current.answered_at = Opinion.Status.ANSWERED, now
        current.answer, current.answer_time = answer, answer_time
        current.save(update_fields=["status", "answered_at", "answer", "answer_time", "updated_at"])
        log_moderation(user, current, "answer", {"status": "on_air"},
             {"status": "answered", "answer": answer, "answer_time": answer_time})
        answers.tell(user, current)  # the askers and voters hear of it on their phone (and by e-mail)
    else:
        current.status = Opinion.Status.APPROVED
        current.save(update_fields=["status", "updated_at"])
        log_moderation(user, current, "off_air", {"status": "on_air"}, {"status": "approved"})


def put_on_air(user, opinion: Opinion, previous: str = "answered") -> Opinion:
    """Show an approved item on every screen as the one being answered now.

    One at a time per conference: the item on screen before becomes answered (``previous`` =
    "answered") or returns to the list ("return").
    """
    if previous not in ("answered", "return"):
        raise DomainError(_("Say whether the previous item was answered or returns to the list."), "bad_previous")
    conference = opinion.conference
    require_director(user, conference)
    with transaction.atomic():
        # Lock the conference's row: two directors clicking at once take turns.
        type(conference).objects.select_for_update().filter(pk=conference.pk).first()
        opinion = lock_opinion(opinion)
        if opinion.status == Opinion.Status.ON_AIR:
            return opinion
        if opinion.status != Opinion.Status.APPROVED:
            raise DomainError(_("Only approved items can be put on screen."), "not_approved")
        current = Opinion.objects.select_for_update().select_related("at_unit").filter(
            conference=conference, status=Opinion.Status.ON_AIR).first()
        if current is not None:
            _leave_air(user, current, answered=previous == "answered")
        opinion.status, opinion.on_air_at = Opinion.Status.ON_AIR, timezone.now()
        opinion.save(update_fields=["status", "on_air_at", "updated_at"])
        log_moderation(user, opinion, "on_air", {"status": "approved", "previous": getattr(current, "pk", None)},
             {"status": "on_air"})
        publish_on_commit(on_air_message(conference.pk))
    return opinion


def answer(user, opinion: Opinion, text: str = "", answer_time: str = "") -> Opinion:
    """Record the answer of the item on screen (or correct an answered one's), taking it off screen."""
    require_director(user, opinion.conference)
    text = nfc(text)
    if len(text) > MAX_TEXT * 4:
        raise DomainError(_("Keep the answer under %(max)d characters.") % {"max": MAX_TEXT * 4}, "too_long")
    answer_time = _clean_answer_time(answer_time)
    with transaction.atomic():
        opinion = lock_opinion(opinion)
        if opinion.status == Opinion.Status.ON_AIR:
            _leave_air(user, opinion, answered=True, answer=text, answer_time=answer_time)
            publish_on_commit(on_air_message(opinion.conference_id))
        elif opinion.status == Opinion.Status.ANSWERED:
            before = {"answer": opinion.answer, "answer_time": opinion.answer_time}
            opinion.answer, opinion.answer_time = text, answer_time
            opinion.save(update_fields=["answer", "answer_time", "updated_at"])
            log_moderation(user, opinion, "answer", before, {"answer": text, "answer_time": answer_time})
        else:
            raise DomainError(_("Only the item on screen, or one already answered, takes an answer."), "not_on_air")
    return opinion


def take_off_air(user, opinion: Opinion) -> Opinion:
    """Return the item on screen to the list unanswered (the screens show nothing)."""
    require_director(user, opinion.conference)
    with transaction.atomic():
        opinion = lock_opinion(opinion)
        if opinion.status != Opinion.Status.ON_AIR:
            raise DomainError(_("This item is not on screen."), "not_on_air")
        _leave_air(user, opinion, answered=False)
        publish_on_commit(on_air_message(opinion.conference_id))
    return opinion


def answered(conference):
    """Answered items, latest first, with their answers."""
    return Opinion.objects.filter(conference=conference, status=Opinion.Status.ANSWERED).select_related(
        "author_unit", "at_unit", "topic").order_by("-answered_at", "-pk")
