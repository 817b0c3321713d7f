"""What "anonymous" (ẩn danh) means for an item: its author is known only to the rate limiter.

The author stays on the row (``Opinion.author``): the flood limits count a person's recent items
and the author reads their own list. Nothing else renders, exports or audits it: pages and the API
show ``shown_author`` / ``shown_unit``, the summary counts anonymous items in an "anonymous" row,
the admin leaves the author out, and the audit log records the act, not the person:

- the author's own act (sending it) has no actor and no kiosk point;
- no entry about an anonymous item carries its text (its label is "Anonymous item #id", and a
  moderator's fix of its text is logged as the lengths before and after); the moderation trail
  (:class:`ModerationAction`) keeps the original text for the moderators, as for any item.

Moderators', directors' and analysts' own acts on an anonymous item keep their name: they act in
their role, not anonymously.
"""

from django.utils.translation import gettext as _

# The Vietnamese label, for the data migration that rewrites past entries (no translation there).
LABEL_VI = "Ý kiến ẩn danh #{id}"
TEXT_FIELDS = ("text",)


def audit_label(opinion) -> str:
    """What the audit log calls an item: its text, or a neutral label when it is anonymous."""
    if opinion.anonymous:
        return _("Anonymous item #%(id)s") % {"id": opinion.pk}
    return str(opinion)[:300]


def audit_changes(opinion, before, after):
    """The before/after an entry about ``opinion`` may carry: no text of an anonymous item."""
    if not opinion.anonymous:
        return before, after
    return _without_text(before), _without_text(after)


def _without_text(data):
    if not isinstance(data, dict):
        return data
    return {(f"{k}_length" if k in TEXT_FIELDS else k): (len(v or "") if k in TEXT_FIELDS else v)
            for k, v in data.items()}


def scrub_past_entries(AuditEntry, Opinion) -> int:
    """Rewrite the audit entries written before anonymity was kept: no author, no text.

    Takes the model classes so the data migration can pass its historical ones. Returns how many
    entries it changed.
    """
    changed = 0
    ids = [str(pk) for pk in Opinion.objects.filter(anonymous=True).values_list("pk", flat=True).iterator()]
    for start in range(0, len(ids), 1000):
        entries = AuditEntry.objects.filter(object_type="voice.opinion", object_id__in=ids[start:start + 1000])
        for entry in entries.iterator():
            after = _without_text(entry.after)
            if entry.action == "voice.opinion.submit" and isinstance(after, dict):
                after.pop("point", None)
            clean = {"object_repr": LABEL_VI.format(id=entry.object_id), "before": _without_text(entry.before),
                     "after": after,
                     "actor_id": None if entry.action == "voice.opinion.submit" else entry.actor_id}
            if any(getattr(entry, k) != v for k, v in clean.items()):
                AuditEntry.objects.filter(pk=entry.pk).update(**clean)
                changed += 1
    return changed
