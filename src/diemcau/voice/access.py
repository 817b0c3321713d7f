"""Who may read, send, moderate, direct and edit topics in a conference's opinions.

Taking part is the events module's rule (``events.access``: who sees and who directs a conference); moderation needs the
moderator role (or national organiser) with scope over the level the item has reached
(``at_unit``); reach is what was written in the user's scope or sent up above it.
"""


from django.db.models import Q

from diemcau.core.errors import ScopeError
from diemcau.events.access import sees_conference, visible_conferences
from diemcau.orgs.models import PATH_STEP
from diemcau.orgs.scoping import SYSTEM, scope_for

from .models import Opinion

VISIBLE = (Opinion.Status.APPROVED, Opinion.Status.ON_AIR, Opinion.Status.ANSWERED)


# --- access: who sees and directs a conference is events.access's ---------------------------------

def opinion_for(user, opinion_id, related=()) -> Opinion:
    """An item of a conference the user takes part in; :class:`ScopeError` (a 404) otherwise."""
    opinion = Opinion.objects.select_related("conference__host_unit", "at_unit", "author_unit", *related).filter(
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
        and sees_conference(user, opinion.conference)


# --- moderation ---------------------------------------------------------------------------------

def can_moderate(user, opinion: Opinion) -> bool:
    if user is SYSTEM:
        return True
    return scope_for(user).covers(opinion.at_unit.path, "moderate") and sees_conference(user, opinion.conference)


def require_moderator(user, opinion: Opinion):
    if not can_moderate(user, opinion):
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
