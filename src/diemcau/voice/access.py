"""Who may read, send, moderate, direct and edit topics in a conference's opinions.

Taking part is the events module's rule (``events.access``: who sees and who directs a conference); moderation needs the
moderator role (or national organiser) with scope over the level the item has reached
(``at_unit``); reach is what was written in the user's scope or sent up above it.
"""


from django.db.models import Q

from diemcau.core.errors import ScopeError
from diemcau.events.access import sees_conference
from diemcau.orgs.models import PATH_STEP
from diemcau.orgs.scoping import SYSTEM, scope_for

from .models import Opinion

VISIBLE = (Opinion.Status.APPROVED, Opinion.Status.ON_AIR, Opinion.Status.ANSWERED)


# --- access: who sees and directs a conference is events.access's ---------------------------------

def opinion_for(user, opinion_id, related=()) -> Opinion:
    """An item of a conference the user takes part in; :class:`ScopeError` (a 404) otherwise.

    One look-up by the item's key (its conference's host unit and its levels joined); whether the
    user takes part is then ``events.access.sees_conference`` on the loaded host unit, no query.
    """
    found = Opinion.objects.select_related("conference__host_unit", "at_unit", "author_unit", *related).filter(
        pk=opinion_id).order_by()[:1]  # no ORDER BY: compiling one over ~100 joined columns costs ~2 ms
    opinion = next(iter(found), None)
    if opinion is None or not sees_conference(user, opinion.conference):
        raise ScopeError()
    return opinion


# The vote's one statement: the item's columns a vote reads and answers with (the API's OpinionOut),
# its levels, its topics, its conference's host unit, and the voter's person (Person.user is unique).
_OPINION = ("id", "conference_id", "kind", "text", "status", "anonymous", "upvotes", "agree", "disagree",
            "passes", "raised_by_people", "raised_by_units", "author_unit_id", "at_unit_id", "topic_id",
            "suggested_topic_id")
_UNIT = ("id", "path", "name")
_TOPIC = ("id", "key", "name")
_VOTE_LOOKUP = (
    "SELECT " + ", ".join(f"o.{c}" for c in _OPINION)
    + ", au.path, au.name, lu.path, lu.name, c.host_unit_id, hu.path, hu.name, t.key, t.name, st.key, st.name,"
    " p.id, p.unit_id"
    " FROM {opinion} o JOIN {unit} au ON au.id = o.author_unit_id JOIN {unit} lu ON lu.id = o.at_unit_id"
    " JOIN {conference} c ON c.id = o.conference_id JOIN {unit} hu ON hu.id = c.host_unit_id"
    " LEFT JOIN {topic} t ON t.id = o.topic_id LEFT JOIN {topic} st ON st.id = o.suggested_topic_id"
    " LEFT JOIN {person} p ON p.user_id = %s WHERE o.id = %s")


def vote_target(user, opinion_id: int):
    """:func:`opinion_for` for the vote's path, and the voter's person: ``(opinion, person or None)``.

    One statement by the item's key (plain SQL: the ORM spent more CPU compiling the joined look-up
    than the vote's own statements took); the rows become partial model instances (other fields are
    deferred, loaded if ever read). The rule is :func:`opinion_for`'s: ``events.access.sees_conference``
    on the loaded host unit; the item's reach is then :func:`can_see`'s, as before.
    """
    from django.db import connection

    from diemcau.events.models import Conference
    from diemcau.orgs.models import Person, Unit

    from .models import Topic

    sql = _VOTE_LOOKUP.format(opinion=Opinion._meta.db_table, unit=Unit._meta.db_table,
                              conference=Conference._meta.db_table, topic=Topic._meta.db_table,
                              person=Person._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [getattr(user, "pk", None), opinion_id])
        row = cursor.fetchone()
    if row is None:
        raise ScopeError()
    n = len(_OPINION)
    opinion = _partial(Opinion, _OPINION, row[:n])
    (au_path, au_name, lu_path, lu_name, host_id, host_path, host_name,
     t_key, t_name, st_key, st_name, person_id, person_unit) = row[n:]
    opinion.conference = _partial(Conference, ("id", "host_unit_id"), (opinion.conference_id, host_id))
    opinion.conference.host_unit = _partial(Unit, _UNIT, (host_id, host_path, host_name))
    opinion.author_unit = _partial(Unit, _UNIT, (opinion.author_unit_id, au_path, au_name))
    opinion.at_unit = _partial(Unit, _UNIT, (opinion.at_unit_id, lu_path, lu_name))
    opinion.topic = _partial(Topic, _TOPIC, (opinion.topic_id, t_key, t_name)) if opinion.topic_id else None
    opinion.suggested_topic = _partial(Topic, _TOPIC, (opinion.suggested_topic_id, st_key, st_name)) \
        if opinion.suggested_topic_id else None
    if not sees_conference(user, opinion.conference):
        raise ScopeError()
    person = None
    if person_id is not None:
        person = _partial(Person, ("id", "unit_id", "user_id"), (person_id, person_unit, user.pk))
        person.user = user  # the account is loaded already
    return opinion, person


def _partial(model, names, values):
    """A model instance as the database gave some of its columns (the others deferred)."""
    from django.db import connection

    given = dict(zip(names, values, strict=True))
    attnames = [f.attname for f in model._meta.concrete_fields if f.attname in given]  # from_db's order
    return model.from_db(connection.alias, attnames, [given[a] for a in attnames])


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
