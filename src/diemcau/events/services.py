"""The rules of conferences, sessions and agendas. Views, commands and the demo call these.

Every function that changes state takes the acting user first, checks their scope on the
conference's host unit, validates, writes inside one transaction and appends an audit entry.
Who is invited to a session is derived from its audience (levels of education within subtrees),
never stored.
"""

import datetime

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.edits import set_fields
from diemcau.core.errors import DomainError
from diemcau.orgs.models import EducationLevel, Unit, path_upper_bound
from diemcau.orgs.scoping import SYSTEM, require_scope, scope_for
from diemcau.orgs.services import clean_text

from .models import AgendaItem, Conference, Session

CONFERENCE_FIELDS = ["title", "date", "host_unit", "place", "description"]
SESSION_FIELDS = ["title", "starts_at", "ends_at", "audience_levels"]


# --- scope: who sees, directs and manages a conference is events.access's ---------------------
def _require_manage(actor, conference: Conference):
    require_scope(actor, conference.host_unit, "write")


# --- conferences ------------------------------------------------------------------------------
def _validate_conference(conf: Conference):
    conf.title = clean_text(conf.title, _("Title"), required=True, max_length=500)
    conf.place = clean_text(conf.place, _("Place"), max_length=100)
    conf.description = (conf.description or "").strip()
    if not isinstance(conf.date, datetime.date):
        raise DomainError(_("The conference needs a date."), "date_required")
    if conf.host_unit_id is None:
        raise DomainError(_("The conference needs a host unit."), "host_required")


@transaction.atomic
def create_conference(actor, *, title: str, date, host_unit: Unit, place: str = "",
                      description: str = "") -> Conference:
    """Create a conference hosted by ``host_unit`` (which the actor must manage)."""
    require_scope(actor, host_unit, "write")
    conf = Conference(title=title, date=date, host_unit=host_unit, place=place, description=description)
    _validate_conference(conf)
    conf.save()
    audit.record(actor, "conference.created", conf, unit_path=host_unit.path,
                 after=audit.snapshot(conf, CONFERENCE_FIELDS))
    return conf


@transaction.atomic
def update_conference(actor, conference: Conference, **fields) -> Conference:
    """Change a conference's title, date, place or description (the host stays)."""
    conf = Conference.objects.select_for_update().select_related("host_unit").get(pk=conference.pk)
    _require_manage(actor, conf)
    before = audit.snapshot(conf, CONFERENCE_FIELDS)
    set_fields(conf, fields, ("title", "date", "place", "description"))
    _validate_conference(conf)
    off_date = [s.title for s in conf.sessions.all() if timezone.localtime(s.starts_at).date() != conf.date]
    if off_date:
        raise DomainError(
            _("Sessions %(sessions)s are not on %(date)s; move them first.")
            % {"sessions": ", ".join(off_date), "date": conf.date.strftime("%d/%m/%Y")},
            "sessions_on_other_date",
        )
    conf.save()
    b, a = audit.changed(before, audit.snapshot(conf, CONFERENCE_FIELDS))
    if a:
        audit.record(actor, "conference.updated", conf, unit_path=conf.host_unit.path, before=b, after=a)
    return conf


# --- sessions ---------------------------------------------------------------------------------
def _validate_session(session: Session, conference: Conference, audience_units: list[Unit]):
    session.title = clean_text(session.title, _("Title"), required=True, max_length=300)
    if not session.starts_at or not session.ends_at:
        raise DomainError(_("A session needs a start and an end time."), "time_required")
    if session.ends_at <= session.starts_at:
        raise DomainError(_("A session must end after it starts."), "bad_time_window")
    if timezone.localtime(session.starts_at).date() != conference.date:
        raise DomainError(
            _("The session must take place on the conference's date, %(date)s.")
            % {"date": conference.date.strftime("%d/%m/%Y")},
            "session_outside_conference",
        )
    levels = int(session.audience_levels or 0)
    if levels & ~EducationLevel.ALL:
        raise DomainError(_("Unknown level of education in the audience."), "bad_levels")
    if not levels:
        raise DomainError(
            _("A session needs an audience: choose at least one level of education."),
            "session_without_audience",
        )
    host = conference.host_unit
    outside = [u.name for u in audience_units if not u.is_within(host)]
    if outside:
        raise DomainError(
            _("The audience must lie within %(host)s; these units do not: %(units)s.")
            % {"host": host.name, "units": ", ".join(outside)},
            "audience_outside_host",
        )


@transaction.atomic
def create_session(actor, conference: Conference, *, title: str, starts_at, ends_at,
                   audience_levels: int, audience_units=()) -> Session:
    """Add a session with its time window and audience to a conference."""
    conference = Conference.objects.select_related("host_unit").get(pk=conference.pk)
    _require_manage(actor, conference)
    units = list(audience_units)
    session = Session(conference=conference, title=title, starts_at=starts_at, ends_at=ends_at,
                      audience_levels=audience_levels)
    _validate_session(session, conference, units)
    session.save()
    session.audience_units.set(units)
    audit.record(actor, "session.created", session, unit_path=conference.host_unit.path,
                 after={**audit.snapshot(session, SESSION_FIELDS), "audience_units": [u.pk for u in units]})
    return session


@transaction.atomic
def update_session(actor, session: Session, *, audience_units=None, **fields) -> Session:
    """Change a session's title, time window or audience.

    An audience that would leave already-assigned institutions uninvited is refused: their
    assignments must be removed first, so nothing is dropped silently.
    """
    session = Session.objects.select_for_update().select_related("conference__host_unit").get(pk=session.pk)
    conference = session.conference
    _require_manage(actor, conference)
    before = {**audit.snapshot(session, SESSION_FIELDS),
              "audience_units": sorted(session.audience_units.values_list("pk", flat=True))}
    set_fields(session, fields, ("title", "starts_at", "ends_at", "audience_levels"))
    units = list(audience_units) if audience_units is not None else list(session.audience_units.all())
    _validate_session(session, conference, units)
    invited = invited_institutions_for(conference, session.audience_levels, units)
    dropped = session.assignments.exclude(institution__in=invited).select_related("institution")
    if dropped.exists():
        names = [a.institution.name for a in dropped[:5]]
        raise DomainError(
            _("%(n)d assigned institutions would no longer be invited (%(names)s). Remove their "
              "assignments first.") % {"n": dropped.count(), "names": ", ".join(names)},
            "audience_drops_assigned",
        )
    session.save()
    session.audience_units.set(units)
    after = {**audit.snapshot(session, SESSION_FIELDS), "audience_units": sorted(u.pk for u in units)}
    b, a = audit.changed(before, after)
    if a:
        audit.record(actor, "session.updated", session, unit_path=conference.host_unit.path, before=b, after=a)
    return session


@transaction.atomic
def delete_session(actor, session: Session):
    """Remove a session that has no assignments yet."""
    session = Session.objects.select_for_update().select_related("conference__host_unit").get(pk=session.pk)
    _require_manage(actor, session.conference)
    if session.assignments.exists():
        raise DomainError(_("Institutions are assigned to points for this session; remove those "
                            "assignments first."), "session_has_assignments")
    audit.record(actor, "session.deleted", session, unit_path=session.conference.host_unit.path,
                 before=audit.snapshot(session, SESSION_FIELDS))
    session.delete()


# --- agenda -----------------------------------------------------------------------------------
@transaction.atomic
def add_agenda_item(actor, session: Session, *, starts_at, title: str, speaker: str = "",
                    ends_at=None) -> AgendaItem:
    """Add an item to a session's programme; it must fit in the session's time window."""
    session = Session.objects.select_related("conference__host_unit").get(pk=session.pk)
    _require_manage(actor, session.conference)
    item = AgendaItem(session=session, starts_at=starts_at, ends_at=ends_at,
                      title=clean_text(title, _("Title"), required=True, max_length=300),
                      speaker=clean_text(speaker, _("Speaker"), max_length=200))
    if starts_at is None:
        raise DomainError(_("An agenda item needs a start time."), "time_required")
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError(_("An agenda item must end after it starts."), "bad_time_window")
    if not (session.starts_at <= starts_at < session.ends_at) or (ends_at and ends_at > session.ends_at):
        raise DomainError(
            _("The item must lie within the session, %(start)s–%(end)s.")
            % {"start": timezone.localtime(session.starts_at).strftime("%H:%M"),
               "end": timezone.localtime(session.ends_at).strftime("%H:%M")},
            "agenda_outside_session",
        )
    item.save()
    audit.record(actor, "agenda.added", item, unit_path=session.conference.host_unit.path,
                 after=audit.snapshot(item, ["starts_at", "ends_at", "title", "speaker", "session"]))
    return item


@transaction.atomic
def remove_agenda_item(actor, item: AgendaItem):
    item = AgendaItem.objects.select_related("session__conference__host_unit").get(pk=item.pk)
    _require_manage(actor, item.session.conference)
    audit.record(actor, "agenda.removed", item, unit_path=item.session.conference.host_unit.path,
                 before=audit.snapshot(item, ["starts_at", "ends_at", "title", "speaker", "session"]))
    item.delete()


# --- audience ---------------------------------------------------------------------------------
def _subtrees_q(units, path_field: str = "path") -> Q:
    condition = Q(pk__in=[])
    for u in units:
        condition |= Q(**{f"{path_field}__gte": u.path, f"{path_field}__lt": path_upper_bound(u.path)})
    return condition


def invited_institutions_for(conference: Conference, levels: int, units) -> QuerySet:
    """Active institutions teaching any of ``levels`` within ``units`` (or the host's subtree)."""
    roots = list(units) or [conference.host_unit]
    return (
        Unit.objects.filter(_subtrees_q(roots), kind=Unit.Kind.INSTITUTION, is_active=True)
        .annotate(level_match=F("levels").bitand(int(levels)))
        .filter(level_match__gt=0)
    )


def audience_roots(session: Session) -> list[Unit]:
    return list(session.audience_units.all()) or [session.conference.host_unit]


def invited_institutions(session: Session, user=None, within: Unit | None = None) -> QuerySet:
    """The institutions a session invites, optionally limited to ``user``'s scope and a subtree."""
    qs = invited_institutions_for(session.conference, session.audience_levels, session.audience_units.all())
    if within is not None:
        qs = qs.filter(path__gte=within.path, path__lt=path_upper_bound(within.path))
    if user is not None and user is not SYSTEM:
        qs = scope_for(user).filter(qs, "path", "read")
    return qs


def counts_by_level(session: Session, institutions: QuerySet) -> list[dict]:
    """How many of ``institutions`` teach each level of the session's audience."""
    rows = []
    for bit, key, label in EducationLevel.CHOICES:
        if session.audience_levels & bit:
            n = institutions.annotate(has_bit=F("levels").bitand(bit)).filter(has_bit__gt=0).count()
            rows.append({"level": key, "label": str(label), "count": n})
    return rows


def session_summary(session: Session, user) -> dict:
    """Invited and assigned institutions of a session as the user sees them."""
    invited = invited_institutions(session, user)
    total = invited.count()
    assigned = session.assignments.filter(institution__in=invited).aggregate(n=Count("id"))["n"]
    return {"invited": total, "assigned": assigned, "unassigned": total - assigned,
            "by_level": counts_by_level(session, invited)}
