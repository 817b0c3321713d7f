"""Moderation up the tree: approve, reject, edit, tag, forward, merge, and the queues and rankings.

Each change locks the item, checks the moderator's scope, writes a :class:`ModerationAction` and an
audit entry (anonymity kept) and raises :class:`DomainError` with a stable code when a rule refuses.
"""


from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.vntext import nfc
from diemcau.orgs.models import Role, Unit
from diemcau.orgs.scoping import scope_for

from . import anonymity
from .access import VISIBLE, require_moderator
from .models import ModerationAction, Opinion, Topic, Vote
from .near_duplicates import opposite_texts
from .notices import opinion_notice
from .opinions import clean_opinion_text, recount

MODERATOR_ROLES = (Role.MODERATOR, Role.NATIONAL_ORGANISER)


def log_moderation(user, opinion: Opinion, action: str, before=None, after=None, reason: str = ""):
    ModerationAction.objects.create(opinion=opinion, actor=user if getattr(user, "is_authenticated", False) else None,
                                    action=action, before=before, after=after, reason=reason)
    logged_before, logged_after = anonymity.audit_changes(opinion, before, after)
    audit.record(user, f"voice.opinion.{action}", opinion, before=logged_before, after=logged_after,
                 unit_path=opinion.at_unit.path, object_repr=anonymity.audit_label(opinion))
    publish_on_commit(opinion_notice(opinion, action))


def opposite_merge_reason(opinion: Opinion) -> str:
    """The reason a moderator gave for merging this item into an opposite one ("" if none)."""
    action = opinion.moderation.filter(action=ModerationAction.Action.MERGE).order_by("-pk").first()
    return action.reason if action and (action.after or {}).get("opposite") else ""


def lock_opinion(opinion: Opinion) -> Opinion:
    return Opinion.objects.select_for_update().select_related("at_unit").get(pk=opinion.pk)


def approve(user, opinion: Opinion) -> Opinion:
    """Let a pending item be seen and voted on in its scope."""
    require_moderator(user, opinion)
    with transaction.atomic():
        opinion = lock_opinion(opinion)
        if opinion.status != Opinion.Status.PENDING:
            raise DomainError(_("Only pending items can be approved."), "not_pending")
        opinion.status = Opinion.Status.APPROVED
        opinion.save(update_fields=["status", "updated_at"])
        log_moderation(user, opinion, "approve", {"status": "pending"}, {"status": "approved"})
    return opinion


def reject(user, opinion: Opinion, reason: str) -> Opinion:
    """Refuse an item, with a reason its author sees."""
    require_moderator(user, opinion)
    reason = nfc(reason)[:500]
    if not reason:
        raise DomainError(_("Give the author a reason for the rejection."), "reason_required")
    with transaction.atomic():
        opinion = lock_opinion(opinion)
        if opinion.status not in (Opinion.Status.PENDING, Opinion.Status.APPROVED):
            raise DomainError(_("This item can no longer be rejected."), "bad_status")
        before = opinion.status
        opinion.status, opinion.reject_reason = Opinion.Status.REJECTED, reason
        opinion.save(update_fields=["status", "reject_reason", "updated_at"])
        log_moderation(user, opinion, "reject", {"status": before}, {"status": "rejected"}, reason)
    return opinion


def edit(user, opinion: Opinion, text: str) -> Opinion:
    """Fix typos in an item's text; the original stays in the moderation log."""
    require_moderator(user, opinion)
    text = clean_opinion_text(text)
    with transaction.atomic():
        opinion = lock_opinion(opinion)
        if opinion.status in (Opinion.Status.MERGED, Opinion.Status.REJECTED):
            raise DomainError(_("This item can no longer be edited."), "bad_status")
        if text == opinion.text:
            return opinion
        before = opinion.text
        opinion.text = text
        opinion.save(update_fields=["text", "updated_at"])
        log_moderation(user, opinion, "edit", {"text": before}, {"text": text})
    return opinion


def tag(user, opinion: Opinion, topic: Topic | None) -> Opinion:
    """Set an item's topic; the choice teaches the topic suggester."""
    require_moderator(user, opinion)
    if topic is not None and topic.conference_id != opinion.conference_id:
        raise DomainError(_("This topic belongs to another conference."), "bad_topic")
    with transaction.atomic():
        opinion = lock_opinion(opinion)
        before = opinion.topic_id
        opinion.topic = topic
        opinion.save(update_fields=["topic", "updated_at"])
        log_moderation(user, opinion, "tag", {"topic": before}, {"topic": getattr(topic, "pk", None)})
    return opinion


def forward(user, opinion: Opinion) -> Opinion:
    """Send an approved item one level up the tree, to the moderators of the parent unit."""
    require_moderator(user, opinion)
    with transaction.atomic():
        opinion = lock_opinion(opinion)
        if opinion.status != Opinion.Status.APPROVED:
            raise DomainError(_("Only approved items can be forwarded."), "not_approved")
        parent = opinion.at_unit.parent
        if parent is None:
            raise DomainError(_("This item has already reached the top of the tree."), "at_top")
        before = opinion.at_unit_id
        opinion.at_unit = parent
        opinion.save(update_fields=["at_unit", "updated_at"])
        # Items merged into it travel with it, so every level counts them.
        Opinion.objects.filter(merged_into=opinion).update(at_unit=parent)
        log_moderation(user, opinion, "forward", {"at_unit": before}, {"at_unit": parent.pk})
    return opinion


def merge(user, source: Opinion, target: Opinion, override_reason: str = "") -> Opinion:
    """Merge a duplicate into another item: its votes and authors carry over, its text stays readable.

    Refused when merging an item into itself, into an item already merged (which would make a
    chain or a cycle), or across conferences. Both items must be in the moderator's scope.
    Opposite opinions ("ý kiến trái chiều", :func:`near_duplicates.opposite_texts`) are never
    suggested for merging and are listed apart; a moderator's own merge of such a pair is refused
    (``merge_opposite``: it would pool the votes of people who said contrary things) unless the
    moderator gives ``override_reason`` (the detector is lexical and can be wrong). The override is
    recorded with its reason on the item's history and in the audit log, and shown on the item.
    """
    override_reason = (override_reason or "").strip()[:500]
    if source.pk == target.pk:
        raise DomainError(_("An item cannot be merged into itself."), "merge_self")
    require_moderator(user, source)
    require_moderator(user, target)
    with transaction.atomic():
        # Lock both rows in a fixed order so two merges of the same pair cannot deadlock.
        locked = {o.pk: o for o in Opinion.objects.select_for_update().select_related("at_unit")
                  .filter(pk__in=[source.pk, target.pk]).order_by("pk")}
        source, target = locked[source.pk], locked[target.pk]
        if source.conference_id != target.conference_id:
            raise DomainError(_("Items of different conferences cannot be merged."), "merge_conference")
        seen, node = set(), target
        while node.merged_into_id is not None and node.pk not in seen:
            seen.add(node.pk)
            if node.merged_into_id == source.pk:
                raise DomainError(_("Merging these items would make a cycle."), "merge_cycle")
            node = Opinion.objects.get(pk=node.merged_into_id)
        if target.status == Opinion.Status.MERGED:
            raise DomainError(_("The target has itself been merged; merge into the item it was merged into."),
                              "merge_into_merged")
        if source.status == Opinion.Status.MERGED:
            raise DomainError(_("This item has already been merged."), "already_merged")
        if source.status == Opinion.Status.ON_AIR:
            raise DomainError(_("Take the item off screen before merging it."), "on_air")
        if target.status in (Opinion.Status.REJECTED, Opinion.Status.PENDING):
            raise DomainError(_("Approve the target item before merging into it."), "target_not_approved")
        opposite = opposite_texts(source.text, target.text)
        if opposite and not override_reason:
            raise DomainError(_("These two items say opposite things (opposite opinions): merging them would "
                                "add up the votes of people who disagree. To merge them anyway, give a reason."),
                              "merge_opposite", [{"target": target.pk}])
        # Votes move unless the person already voted the same way on the target; those stay
        # behind as the record of what happened.
        taken = set(target.votes.values_list("person_id", "family"))
        movable = [v.pk for v in source.votes.all() if (v.person_id, v.family) not in taken]
        Vote.objects.filter(pk__in=movable).update(opinion=target)
        # Flatten: items merged into the source now point at the target, so chains never form.
        Opinion.objects.filter(merged_into=source).update(merged_into=target)
        before = {"status": source.status, "merged_into": None}
        source.status, source.merged_into = Opinion.Status.MERGED, target
        source.save(update_fields=["status", "merged_into", "updated_at"])
        recount(source)
        recount(target)
        after = {"status": "merged", "merged_into": target.pk}
        if opposite:
            after.update(opposite=True, override_reason=override_reason)
        log_moderation(user, source, "merge", before, after, reason=override_reason if opposite else "")
    return target


# --- queues -------------------------------------------------------------------------------------

def moderation_queue(user, conference):
    """Pending items whose level lies in the moderator's scope, oldest first."""
    scope = scope_for(user)
    if not scope.has_role(*MODERATOR_ROLES):
        return Opinion.objects.none()
    qs = Opinion.objects.filter(conference=conference, status=Opinion.Status.PENDING)
    return scope.filter(qs, "at_unit__path", "moderate").select_related("author_unit", "at_unit", "topic",
                                                            "suggested_topic").order_by("created_at")


def _ranking(qs):
    return qs.order_by(-(F("upvotes") + F("agree")), "-raised_by_units", "-raised_by_people", "created_at")


def ranked(user, conference, unit: Unit | None = None, include_below: bool = False):
    """The approved items that have come up to a level, ranked by votes and how many raised them.

    ``unit`` defaults to the top of the user's scope; with ``include_below`` the items still at
    lower levels of its subtree are included too.
    """
    scope = scope_for(user)
    if unit is None:
        unit = scope.roots().order_by("depth", "path").first()
        if unit is None:
            return Opinion.objects.none()
    scope.require(unit)
    qs = Opinion.objects.filter(conference=conference, status__in=VISIBLE)
    qs = qs.filter(at_unit__path__startswith=unit.path) if include_below else qs.filter(at_unit=unit)
    return _ranking(scope.filter(qs, "at_unit__path").select_related("author_unit", "at_unit", "topic"))


def national(user, conference):
    """The ministry's list: items forwarded to the top of the tree, merged duplicates folded in."""
    top = Unit.objects.filter(parent__isnull=True).order_by("path").first()
    if top is None:
        return Opinion.objects.none()
    return ranked(user, conference, unit=top)


# --- many items at once -------------------------------------------------------------------------

BULK_ACTIONS = ("approve", "forward")
BULK_MAX = 200


def bulk(user, conference, action: str, ids: list[int]) -> dict:
    """Approve or forward the chosen items in one call: each as its own action (locked, logged,
    audited, published on commit), those a rule refuses left as they are and listed with why.

    Returns ``{"done": [pk, ...], "refused": [(pk, message), ...]}``. Items outside the moderator's
    scope or of another conference are refused like absent ones.
    """
    if action not in BULK_ACTIONS:
        raise DomainError(_("This action cannot be applied to several items."), "bad_bulk_action")
    ids = list(dict.fromkeys(int(i) for i in ids))[:BULK_MAX]
    if not ids:
        raise DomainError(_("Choose at least one item."), "nothing_chosen")
    one = approve if action == "approve" else forward
    items = {o.pk: o for o in Opinion.objects.filter(conference=conference, pk__in=ids).select_related("at_unit")}
    done, refused = [], []
    for pk in ids:
        opinion = items.get(pk)
        try:
            if opinion is None:
                raise ScopeError()
            with transaction.atomic():
                one(user, opinion)
            done.append(pk)
        except ScopeError:
            refused.append((pk, _("Not found.")))
        except DomainError as exc:
            refused.append((pk, exc.message))
    if done:
        audit.record(user, f"voice.opinion.bulk_{action}", conference, unit_path=conference.host_unit.path,
                     after={"items": done, "refused": [pk for pk, _m in refused]},
                     object_repr=str(conference)[:300])
    return {"done": done, "refused": refused}
