"""Who may read, send, moderate, direct and edit topics in a conference's opinions.

Taking part is the events module's rule (:func:`visible_conferences`); moderation needs the
moderator role (or national organiser) with scope over the level the item has reached
(``at_unit``); reach is what was written in the user's scope or sent up above it.
"""


from django.db.models import Q

from diemcau.core.errors import ScopeError
from diemcau.core.scoping import SYSTEM, scope_for
from diemcau.events.services import visible_conferences
from diemcau.orgs.models import PATH_STEP, Role, RoleAssignment

from .models import Opinion

VISIBLE = (Opinion.Status.APPROVED, Opinion.Status.ON_AIR, Opinion.Status.ANSWERED)


# --- access: the conferences a user takes part in ----------------------------------------------

def takes_part(user, conference) -> bool:
    """True when the user may send to, read, moderate or analyse the conference's opinions.

    The rule is the events module's (:func:`visible_conferences`: hosted in the user's subtrees
    or above them), the one live uses too; finer rules (moderate, direct, analyse) come on top.
    """
    return user is SYSTEM or visible_conferences(user).filter(pk=conference.pk).exists()


def require_takes_part(user, conference):
    if not takes_part(user, conference):
        raise ScopeError()
    return conference


def conference_for(user, conference_id):
    """The conference, if the user takes part in it; :class:`ScopeError` (a 404) as if absent otherwise."""
    conference = visible_conferences(user).filter(pk=conference_id).first()
    if conference is None:
        raise ScopeError()
    return conference


def opinion_for(user, opinion_id) -> Opinion:
    """An item of a conference the user takes part in; :class:`ScopeError` (a 404) otherwise."""
    opinion = Opinion.objects.select_related("conference__host_unit", "at_unit", "author_unit").filter(
        pk=opinion_id, conference__in=visible_conferences(user).values("pk")).first()
    if opinion is None:
        raise ScopeError()
    return opinion


def _reach(scope) -> Q:
    """Items written in the scope, or forwarded up to a unit above it (a district's teachers see
    what their district sent on)."""
    above = {p[:i] for p in scope.read_paths for i in range(PATH_STEP, len(p) + 1, PATH_STEP)}
    return scope.q("author_unit__path") | Q(at_unit__path__in=above)


def visible_opinions(user, conference):
    """Approved or answered items the user may see and vote on."""
    qs = Opinion.objects.filter(conference=conference, status__in=VISIBLE)
    return qs.filter(_reach(scope_for(user))).select_related("author_unit", "at_unit", "topic")


def can_see(user, opinion: Opinion) -> bool:
    """True when the item is in the user's reach (written in their scope or sent up above it)."""
    scope = scope_for(user)
    path = opinion.at_unit.path
    return (scope.can_see(opinion.author_unit) or any(p.startswith(path) for p in scope.read_paths)) \
        and takes_part(user, opinion.conference)


# --- moderation ---------------------------------------------------------------------------------

def can_moderate(user, opinion: Opinion) -> bool:
    if user is SYSTEM:
        return True
    return scope_for(user).covers(opinion.at_unit.path, "moderate") and takes_part(user, opinion.conference)


def require_moderator(user, opinion: Opinion):
    if not can_moderate(user, opinion):
        raise ScopeError()


def can_direct(user, conference) -> bool:
    """True when the user directs the conference's live programme.

    A national organiser, or a director whose assignment covers the conference's host unit (an
    unscoped director covers every conference). The director role gives no moderation rights.
    """
    if user is SYSTEM:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    scope = scope_for(user)
    if scope.has_role(Role.NATIONAL_ORGANISER):
        return True
    if not scope.has_role(Role.DIRECTOR):
        return False
    host = conference.host_unit.path
    return any(unit_path is None or host.startswith(unit_path) for unit_path in RoleAssignment.objects.filter(
        user=user, role=Role.DIRECTOR).values_list("unit__path", flat=True))


def require_director(user, conference):
    if not can_direct(user, conference):
        raise ScopeError()


# --- the topic list -----------------------------------------------------------------------------

def can_edit_topics(user, conference) -> bool:
    """National organisers and the moderators at the top of the conference (its host unit or above)."""
    if user is SYSTEM:
        return True
    return scope_for(user).covers(conference.host_unit.path, "moderate")


def require_topic_editor(user, conference):
    if not can_edit_topics(user, conference):
        raise ScopeError()
