"""The rules of attendance: naming delegations, checking people in, headcounts, badges, roll-ups.

Web pages, the JSON API and the roll-call screen's offline queue all call these functions. Each one checks
its preconditions in turn and raises one :class:`DomainError` with a stable code; a check-in is
an appended row, never an update, and a retry with the same client id returns the first row.
"""

import datetime
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Substr
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError, ScopeError
from diemcau.events import services as events
from diemcau.events.models import Session
from diemcau.orgs.models import PATH_STEP, Person, Role, Unit, path_upper_bound
from diemcau.orgs.scoping import SYSTEM, scope_for
from diemcau.points.access import operated_points, operates_point
from diemcau.points.models import Assignment, BridgePoint

from .models import CheckIn, Delegation, DelegationMember

CATEGORIES = [c.value for c in Person.Category]
M = CheckIn.Method
PERSON_METHODS = {M.QR_SELF, M.QR_SCAN, M.ROLL_CALL, M.VIDEO}
SELF_METHODS = {M.QR_SELF, M.VIDEO}
# A scanner's clock may run a little fast; beyond this the scan time is refused as wrong.
CLOCK_SKEW = datetime.timedelta(minutes=5)
BADGE_SALT = "diemcau.attendance.badge"
# Badges stay valid until this long after their session ends, unless made with another expiry.
BADGE_GRACE = datetime.timedelta(hours=12)

# Sent on commit with ``checkins`` (a list of new CheckIn rows) for the live board to aggregate.
checkin_created = Signal()


# --- delegations ------------------------------------------------------------------------------
def _require_people_scope(actor, institution: Unit):
    if actor is SYSTEM:
        return
    if not scope_for(actor).can_change_people(institution):
        raise ScopeError()


def _clean_minimum(value, label) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = -1
    if n < 0:
        raise DomainError(_("%(field)s must be a whole number, zero or more.") % {"field": label},
                          "invalid_minimum")
    return n


@transaction.atomic
def name_delegation(actor, session: Session, institution: Unit, *, rule: str = Delegation.Rule.NAMED,
                    min_management=0, min_teachers=0, min_staff=0, members=()) -> Delegation:
    """Name (or rename) an institution's delegation to a session: its rule and its people.

    The principal of the institution, or an organiser above it, may do this.
    """
    _require_people_scope(actor, institution)
    if institution.kind != Unit.Kind.INSTITUTION:
        raise DomainError(_("Only an educational institution sends a delegation."), "not_institution")
    if not events.invited_institutions(session).filter(pk=institution.pk).exists():
        raise DomainError(_("%(unit)s is not invited to this session.") % {"unit": institution.name},
                          "not_invited")
    if rule not in Delegation.Rule.values:
        raise DomainError(_("Unknown delegation rule."), "invalid_rule")
    mins = [_clean_minimum(min_management, _("Management board")), _clean_minimum(min_teachers, _("Teachers")),
            _clean_minimum(min_staff, _("Staff"))]
    if rule != Delegation.Rule.COMPOSITION:
        mins = [0, 0, 0]
    elif not sum(mins):
        raise DomainError(_("A composition rule needs at least one minimum above zero."), "empty_rule")
    member_ids = sorted({getattr(m, "pk", m) for m in members})
    people = list(Person.objects.filter(pk__in=member_ids))
    strangers = [pk for pk in member_ids if pk not in {p.pk for p in people}]
    strangers += [p.pk for p in people if p.unit_id != institution.pk or not p.is_active]
    if strangers:
        raise DomainError(_("Some people named are not active members of %(unit)s.") % {"unit": institution.name},
                          "member_not_in_institution", details=[{"person_id": pk} for pk in strangers])
    if rule == Delegation.Rule.NAMED and not people:
        raise DomainError(_("Name at least one person."), "empty_delegation")

    delegation, created = Delegation.objects.get_or_create(session=session, institution=institution)
    delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
    before = None if created else {**audit.snapshot(delegation, ["rule", "min_management", "min_teachers",
                                                                  "min_staff"]),
                                   "members": sorted(delegation.members.values_list("person_id", flat=True))}
    delegation.rule = rule
    delegation.min_management, delegation.min_teachers, delegation.min_staff = mins
    delegation.named_by = actor if getattr(actor, "is_authenticated", False) else None
    delegation.save()
    delegation.members.all().delete()
    DelegationMember.objects.bulk_create([DelegationMember(delegation=delegation, person=p) for p in people])
    after = {**audit.snapshot(delegation, ["rule", "min_management", "min_teachers", "min_staff"]),
             "members": member_ids}
    audit.record(actor, "delegation.named", delegation, unit_path=institution.path, before=before, after=after)
    return delegation


def _category_counts(qs) -> dict[str, int]:
    counts = dict.fromkeys(CATEGORIES, 0)
    counts.update(dict(qs.values("category").annotate(n=Count("id")).values_list("category", "n")))
    return counts


def _expected(delegation: Delegation, named: dict[str, int], staff: dict[str, int]) -> dict[str, int]:
    """Expected people per category under the delegation's rule."""
    if delegation.rule == Delegation.Rule.ALL_STAFF:
        return staff
    if delegation.rule == Delegation.Rule.COMPOSITION:
        return {c: max(named[c], delegation.minimums()[c]) for c in CATEGORIES}
    return named


def _missing(delegation: Delegation, have: dict[str, int], staff: dict[str, int]) -> dict[str, int]:
    if delegation.rule == Delegation.Rule.ALL_STAFF:
        need = staff
    elif delegation.rule == Delegation.Rule.COMPOSITION:
        need = delegation.minimums()
    else:
        need = dict.fromkeys(CATEGORIES, 0)
    return {c: need[c] - have.get(c, 0) for c in CATEGORIES if need[c] > have.get(c, 0)}


def delegation_status(delegation: Delegation) -> dict:
    """Whether the people named meet the delegation's rule, and what is missing per category."""
    named = _category_counts(Person.objects.filter(delegations__delegation=delegation, is_active=True))
    staff = _category_counts(Person.objects.filter(unit_id=delegation.institution_id, is_active=True))
    missing = _missing(delegation, named, staff)
    if delegation.rule == Delegation.Rule.NAMED and not sum(named.values()):
        missing = {"named": 1}
    expected = _expected(delegation, named, staff)
    return {"complete": not missing, "missing": missing, "named": named, "expected": sum(expected.values()),
            "expected_by_category": expected}


# --- who may check in whom --------------------------------------------------------------------
def _within_reach(actor, session: Session, point: BridgePoint, person: Person, is_self: bool) -> bool:
    """True when the actor may learn of ``person`` while checking in at ``point``.

    Themselves, someone of their part of the tree, or someone whose institution is assigned to
    this point for this session (the roll call's own list). Anyone else is answered "not found",
    before any message can name them.
    """
    if actor is SYSTEM or is_self:
        return True
    if Assignment.objects.filter(session=session, point=point, institution_id=person.unit_id).exists():
        return True
    return scope_for(actor).can_see(person.unit)


def people_for_check_in(actor, items: list[dict]) -> dict[int, Person]:
    """The people an API request names, by id, loading only those the actor may learn of.

    A person outside the actor's reach is left out, so they look exactly like an id that does not
    exist ("not found"); :func:`check_in` checks the reach again per item, for its own point.
    """
    ids = {i.get("person_id") for i in items if i.get("person_id")}
    qs = Person.objects.select_related("unit").filter(pk__in=ids)
    if actor is SYSTEM:
        return qs.in_bulk()
    if not getattr(actor, "is_authenticated", False):
        return {}
    pairs = Assignment.objects.filter(session_id__in={i.get("session_id") for i in items},
                                      point_id__in={i.get("point_id") for i in items})
    return qs.filter(scope_for(actor).q("unit__path") | Q(unit_id__in=pairs.values("institution_id"))
                     | Q(user_id=actor.pk)).in_bulk()


def _check_point(session: Session, point: BridgePoint):
    if point.conference_id != session.conference_id:
        raise DomainError(_("This bridge point belongs to another conference."), "point_not_in_session")
    # The sessions a point serves, read once per point object (a batch reuses its points).
    served = point.__dict__.get("_diemcau_served")
    if served is None:
        served = point.__dict__["_diemcau_served"] = frozenset(point.sessions.values_list("pk", flat=True))
    if served and session.pk not in served:
        raise DomainError(_("This bridge point does not serve this session."), "point_not_in_session")


def check_in_window(session: Session) -> tuple[datetime.datetime, datetime.datetime]:
    """When ``session`` takes check-ins: its time window widened by the configured margins."""
    return (session.starts_at - datetime.timedelta(minutes=settings.CHECKIN_MARGIN_BEFORE_MINUTES),
            session.ends_at + datetime.timedelta(minutes=settings.CHECKIN_MARGIN_AFTER_MINUTES))


def _require_window(session: Session, now):
    """Refuse a check-in that arrives (server's clock) outside the session's window."""
    opens, closes = check_in_window(session)
    if not opens <= now <= closes:
        local = timezone.localtime
        raise DomainError(
            _("Check-ins for this session are taken from %(opens)s to %(closes)s only.")
            % {"opens": local(opens).strftime("%H:%M %d/%m/%Y"), "closes": local(closes).strftime("%H:%M %d/%m/%Y")},
            "outside_session_window")


@dataclass
class ScanTime:
    """The time a row records, and what the device claimed when that claim was not believed."""

    at: datetime.datetime
    clamped: bool = False
    claimed: datetime.datetime | None = None


def _scan_time(scanned_at, now, session: Session) -> ScanTime:
    """A device's scan time, kept only when plausible: not in the future, not too old, inside the window.

    Anything else is replaced by the server's time and flagged; a few minutes ahead is a clock
    running fast, taken as now without a flag.
    """
    if scanned_at is None:
        return ScanTime(now)
    if timezone.is_naive(scanned_at):
        raise DomainError(_("The scan time has no time zone."), "invalid_scan_time")
    if now < scanned_at <= now + CLOCK_SKEW:
        return ScanTime(now)
    opens, closes = check_in_window(session)
    oldest = now - datetime.timedelta(minutes=settings.CHECKIN_SCAN_MAX_AGE_MINUTES)
    if max(opens, oldest) <= scanned_at <= min(closes, now):
        return ScanTime(scanned_at)
    return ScanTime(now, clamped=True, claimed=scanned_at)


def _client_uuid(client_id) -> uuid.UUID:
    try:
        return client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (TypeError, ValueError, AttributeError):
        raise DomainError(_("The client id is not a UUID."), "invalid_client_id") from None


@dataclass
class CheckInResult:
    checkin: CheckIn
    created: bool


def _existing(session: Session, client_id: uuid.UUID, person, point) -> CheckInResult | None:
    row = CheckIn.objects.filter(session=session, client_id=client_id).first()
    if row is None:
        return None
    if row.point_id != point.pk or row.person_id != getattr(person, "pk", None):
        raise DomainError(_("This client id was already used for another check-in."), "client_id_reused")
    return CheckInResult(row, False)


def _publish(rows):
    if rows:
        transaction.on_commit(lambda: checkin_created.send(sender=CheckIn, checkins=rows))


@transaction.atomic
def check_in(actor, *, session: Session, point: BridgePoint, person: Person | None = None, method: str,
             client_id, scanned_at=None, device: str = "") -> CheckInResult:
    """Record one person's arrival at a point; a retry with the same ``client_id`` changes nothing.

    The person must belong to an institution assigned to the session. An operator of the point
    (or an organiser above it) checks anyone in; a participant only checks themselves in.
    """
    now = timezone.now()
    client_id = _client_uuid(client_id)
    if method not in PERSON_METHODS:
        raise DomainError(_("Unknown check-in method."), "invalid_method")
    if person is None:
        raise DomainError(_("Say who is checking in."), "person_required")
    if actor is not SYSTEM and not getattr(actor, "is_authenticated", False):
        raise ScopeError()
    is_self = actor is not SYSTEM and person.user_id is not None and person.user_id == actor.pk
    if not (operates_point(actor, point) or (is_self and method in SELF_METHODS)):
        raise ScopeError(_("You may not record check-ins at this bridge point."), "point_out_of_scope")
    if not _within_reach(actor, session, point, person, is_self):
        raise ScopeError(_("Not found."), "person_out_of_scope")
    _check_point(session, point)
    done = _existing(session, client_id, person, point)
    if done:
        return done  # a retry is answered as the first time, even once the window has closed
    _require_window(session, now)
    scan = _scan_time(scanned_at, now, session)
    # One person's check-ins are serialised so the duplicate flags are exact under concurrency.
    # Only the person's row is locked (``of``), not their institution's, which every colleague
    # checking in at the same time would otherwise queue on.
    person = Person.objects.select_for_update(of=("self",)).select_related("unit").get(pk=person.pk)
    if not person.is_active:
        raise DomainError(_("%(name)s is no longer active.") % {"name": person.full_name}, "person_inactive")
    assigned_point = (Assignment.objects.filter(session=session, institution_id=person.unit_id)
                      .order_by("pk").values_list("point_id", flat=True).first())
    if assigned_point is None:
        raise DomainError(_("%(name)s is not invited to this session.") % {"name": person.full_name},
                          "not_invited")
    # The person's earlier check-ins, read under the lock: the flags, and whether a concurrent
    # retry of this very check-in won the lock first.
    earlier = list(CheckIn.objects.filter(session=session, person=person).values_list("point_id", "client_id"))
    if any(cid == client_id for _pid, cid in earlier):
        return _existing(session, client_id, person, point)
    row = CheckIn(
        session=session, point=point, person=person, institution_id=person.unit_id, method=method,
        category=person.category, count=1, device=(device or "")[:100], scanned_at=scan.at, received_at=now,
        scan_time_clamped=scan.clamped, claimed_scanned_at=scan.claimed,
        client_id=client_id, recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        duplicate_person=any(pid == point.pk for pid, _cid in earlier),
        other_point=assigned_point != point.pk or any(pid != point.pk for pid, _cid in earlier),
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        done = _existing(session, client_id, person, point)
        if done:
            return done
        raise
    _publish([row])
    return CheckInResult(row, True)


def _derived_uuid(client_id: uuid.UUID, name) -> uuid.UUID:
    """A stable id per item of a grouped action, so retrying the whole action is a no-op too."""
    return uuid.uuid5(client_id, str(name))


@transaction.atomic
def record_headcount(actor, *, session: Session, point: BridgePoint, counts_by_category: dict, client_id,
                     scanned_at=None, device: str = "") -> list[CheckIn]:
    """Record how many people of each category are in the hall, for points that do not name them.

    A later headcount at the same point supersedes the earlier one (both rows are kept).
    """
    now = timezone.now()
    client_id = _client_uuid(client_id)
    if not operates_point(actor, point):
        raise ScopeError(_("You may not record check-ins at this bridge point."), "point_out_of_scope")
    _check_point(session, point)
    counts = {}
    for key, value in (counts_by_category or {}).items():
        if key not in CATEGORIES:
            raise DomainError(_("Unknown category: %(key)s.") % {"key": key}, "invalid_category")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DomainError(_("A count must be a whole number, zero or more."), "invalid_count")
        counts[key] = value
    total = sum(counts.values())
    if not total:
        raise DomainError(_("The headcount is empty."), "empty_headcount")
    point = BridgePoint.objects.select_for_update().select_related("hall").get(pk=point.pk)
    # A retry is answered before the limits: the hall may have changed since the first attempt.
    ids = {c: _derived_uuid(client_id, c) for c in CATEGORIES}
    existing = list(CheckIn.objects.filter(session=session, client_id__in=ids.values()))
    if existing:
        if any(r.point_id != point.pk or r.count != counts.get(r.category, 0) for r in existing):
            raise DomainError(_("This client id was already used for another check-in."), "client_id_reused")
        return existing
    _require_window(session, now)
    scan = _scan_time(scanned_at, now, session)
    if point.hall.capacity and total > point.hall.capacity:
        raise DomainError(_("A headcount of %(n)s is more than the hall's %(cap)s seats.") % {
            "n": total, "cap": point.hall.capacity}, "over_capacity")
    expected = expected_at_point(session, point)
    if expected and total > expected:
        raise DomainError(_("A headcount of %(n)s is more than the %(exp)s expected at this point.") % {
            "n": total, "exp": expected}, "over_delegation")
    rows = [CheckIn(session=session, point=point, method=M.HEADCOUNT, category=c, count=counts.get(c, 0),
                    device=(device or "")[:100], scanned_at=scan.at, received_at=now, client_id=ids[c],
                    scan_time_clamped=scan.clamped, claimed_scanned_at=scan.claimed,
                    recorded_by=actor if getattr(actor, "is_authenticated", False) else None)
            for c in CATEGORIES]
    CheckIn.objects.bulk_create(rows)
    _publish(rows)
    return rows


@transaction.atomic
def check_in_delegation(actor, *, session: Session, point: BridgePoint, institution: Unit, client_id,
                        device: str = "") -> list[CheckInResult]:
    """"Whole delegation present": check in every named member (or, for all staff, every person)."""
    client_id = _client_uuid(client_id)
    delegation = Delegation.objects.filter(session=session, institution=institution).first()
    if delegation is None:
        raise DomainError(_("%(unit)s has not named its delegation.") % {"unit": institution.name},
                          "delegation_not_named")
    if delegation.rule == Delegation.Rule.ALL_STAFF:
        people = Person.objects.filter(unit=institution, is_active=True)
    else:
        people = Person.objects.filter(delegations__delegation=delegation, is_active=True)
    people = list(people.order_by("pk"))
    if not people:
        raise DomainError(_("%(unit)s has not named its delegation.") % {"unit": institution.name},
                          "delegation_not_named")
    return [check_in(actor, session=session, point=point, person=p, method=M.ROLL_CALL,
                     client_id=_derived_uuid(client_id, p.pk), device=device) for p in people]


# --- badges -----------------------------------------------------------------------------------
def may_print_badges(actor, institution: Unit) -> bool:
    """True when the actor may open and print the badges of ``institution``'s people.

    Organisers whose subtree covers the institution and its head (principal); a participant
    opens only their own badge (:func:`own_badge_person`).
    """
    if actor is SYSTEM:
        return True
    scope = scope_for(actor)
    return scope.has_role(Role.NATIONAL_ORGANISER, Role.UNIT_ORGANISER, Role.PRINCIPAL) \
        and scope.can_change_people(institution)


def own_badge_person(actor, institution: Unit) -> Person | None:
    """The actor's own person when they belong to ``institution`` (the one badge they may open)."""
    if not getattr(actor, "is_authenticated", False):
        return None
    return Person.objects.filter(user=actor, unit=institution, is_active=True).first()


def make_badge_token(session: Session, point: BridgePoint, person: Person | None = None, *,
                     expires_at: datetime.datetime | None = None) -> str:
    """A signed QR payload: a point's badge (session + point) or a person's (+ personal code)."""
    expires_at = expires_at or session.ends_at + BADGE_GRACE
    payload = {"s": session.pk, "p": point.pk, "e": int(expires_at.timestamp())}
    if person is not None:
        payload["c"] = person.code
    return signing.dumps(payload, salt=BADGE_SALT, compress=True)


@dataclass
class Badge:
    session_id: int
    point_id: int
    person: Person | None


def _load_badge(token: str) -> tuple[dict, int, int]:
    """A QR payload whose signature and expiry hold: (payload, session id, point id)."""
    try:
        payload = signing.loads(token or "", salt=BADGE_SALT)
        session_id, point_id, expires = int(payload["s"]), int(payload["p"]), int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise DomainError(_("This QR code is not one of ours: it may be forged or damaged."),
                          "badge_forged") from None
    if expires < timezone.now().timestamp():
        raise DomainError(_("This QR code has expired."), "badge_expired")
    return payload, session_id, point_id


def read_badge_token(token: str, *, session: Session, point: BridgePoint) -> Badge:
    """Check a scanned QR payload against the session and point where it is scanned."""
    payload, session_id, point_id = _load_badge(token)
    if session_id != session.pk:
        raise DomainError(_("This QR code is for another session."), "badge_other_session")
    if point_id != point.pk:
        raise DomainError(_("This QR code is for another bridge point."), "badge_other_point")
    person = None
    if payload.get("c"):
        person = Person.objects.filter(code=payload["c"]).first()
        if person is None:
            raise DomainError(_("Nobody has the personal code on this QR code."), "badge_unknown_person")
    return Badge(session_id, point_id, person)


def read_point_token(token: str) -> tuple[Session, BridgePoint]:
    """The session and point of a point's QR (the self check-in poster), checked before anything else.

    Refuses a forged or expired token, a personal badge (it is scanned by the operator, not
    opened on a phone) and a token whose session or point no longer exists.
    """
    payload, session_id, point_id = _load_badge(token)
    if payload.get("c"):
        raise DomainError(_("This is a personal badge: show it to the operator of the bridge point."),
                          "badge_personal")
    session = Session.objects.select_related("conference").filter(pk=session_id).first()
    point = BridgePoint.objects.select_related("hall__unit").filter(pk=point_id).first()
    if session is None or point is None:
        raise DomainError(_("This QR code is for a session or bridge point that no longer exists."),
                          "badge_unknown_point")
    return session, point


def check_in_by_badge(actor, *, session: Session, point: BridgePoint, token: str, client_id,
                      scanned_at=None, device: str = "") -> CheckInResult:
    """A scanned QR: a personal badge scanned by the operator, or the point's badge by a participant."""
    badge = read_badge_token(token, session=session, point=point)
    if badge.person is not None:
        return check_in(actor, session=session, point=point, person=badge.person, method=M.QR_SCAN,
                        client_id=client_id, scanned_at=scanned_at, device=device)
    person = Person.objects.filter(user_id=getattr(actor, "pk", None)).first() if actor is not SYSTEM else None
    if person is None:
        raise DomainError(_("Sign in with your own account to check yourself in."), "person_required")
    return check_in(actor, session=session, point=point, person=person, method=M.QR_SELF,
                    client_id=client_id, scanned_at=scanned_at, device=device)


# --- roll-ups ---------------------------------------------------------------------------------
def subtree_q(field: str, unit: Unit) -> Q:
    return Q(**{f"{field}__gte": unit.path, f"{field}__lt": path_upper_bound(unit.path)})


def expected_by_institution(session: Session, assignments) -> dict[int, int]:
    """Expected people per assigned institution: its delegation's size, else the assignment's seats."""
    expected = dict(assignments.values_list("institution_id", "seats"))
    delegations = Delegation.objects.filter(session=session, institution_id__in=assignments.values("institution_id"))
    named = dict(delegations.annotate(n=Count("members")).values_list("institution_id", "n"))
    staff = dict(Person.objects.filter(is_active=True, unit__delegations__in=delegations.filter(
        rule=Delegation.Rule.ALL_STAFF)).values("unit_id").annotate(n=Count("id")).values_list("unit_id", "n"))
    for d in delegations.values("institution_id", "rule", "min_management", "min_teachers", "min_staff"):
        pk = d["institution_id"]
        if d["rule"] == Delegation.Rule.ALL_STAFF:
            expected[pk] = staff.get(pk, 0)
        elif d["rule"] == Delegation.Rule.COMPOSITION:
            expected[pk] = max(named.get(pk, 0), d["min_management"] + d["min_teachers"] + d["min_staff"])
        else:
            expected[pk] = named.get(pk, 0)
    return expected


def expected_at_point(session: Session, point: BridgePoint) -> int:
    return sum(expected_by_institution(session, Assignment.objects.filter(session=session, point=point)).values())


def latest_headcounts(session: Session):
    """The latest headcount row per (point, category) of a session: the ones that count."""
    latest = (CheckIn.objects.filter(session=session, method=M.HEADCOUNT).values("point_id", "category")
              .annotate(last=Max("id")).values("last"))
    return CheckIn.objects.filter(pk__in=latest)


def present_at_point(session: Session, point: BridgePoint) -> int:
    people = (CheckIn.objects.filter(session=session, point=point, person__isnull=False)
              .aggregate(n=Count("person", distinct=True))["n"])
    heads = latest_headcounts(session).filter(point=point).aggregate(n=Sum("count"))["n"] or 0
    return people + heads


def percentage_of(present: int, expected: int) -> float | None:
    return round(100 * present / expected, 1) if expected else None


def rollup(session: Session, unit: Unit) -> dict:
    """Expected and present people for ``unit``'s subtree: totals, by category, per child, compliance.

    Expected counts institutions of the subtree assigned to the session; present counts distinct
    people of those institutions checked in anywhere, plus the latest headcounts at points hosted
    in the subtree. Computed with grouped queries; the loops below run over institutions and
    child units, never over people.
    """
    assignments = Assignment.objects.filter(session=session).filter(subtree_q("institution__path", unit))
    expected = expected_by_institution(session, assignments)
    people = CheckIn.objects.filter(session=session, person__isnull=False).filter(
        subtree_q("institution__path", unit))
    heads = latest_headcounts(session).filter(subtree_q("point__hall__unit__path", unit))

    by_category = dict.fromkeys(CATEGORIES, 0)
    for cat, n in people.values("category").annotate(n=Count("person", distinct=True)).values_list("category", "n"):
        by_category[cat] += n
    for cat, n in heads.values("category").annotate(n=Sum("count")).values_list("category", "n"):
        by_category[cat] += n or 0

    # Per institution and category, distinct people present: the basis of compliance and children.
    present_inst: dict[int, dict[str, int]] = {}
    for pk, cat, n in (people.values("institution_id", "category").annotate(n=Count("person", distinct=True))
                       .values_list("institution_id", "category", "n")):
        present_inst.setdefault(pk, dict.fromkeys(CATEGORIES, 0))[cat] = n

    children = _children(session, unit, assignments, expected, people, heads)
    total_present = sum(by_category.values())
    total_expected = sum(expected.values())
    return {
        "unit_id": unit.pk, "unit": unit.name, "session_id": session.pk,
        "expected": total_expected, "present": total_present,
        "percentage": percentage_of(total_present, total_expected),
        "by_category": by_category, "children": children,
        "compliance": _compliance(session, assignments, present_inst),
    }


def _children(session, unit, assignments, expected, people, heads) -> list[dict]:
    child_units = list(Unit.objects.filter(parent=unit).order_by("name").values("pk", "name", "path"))
    if not child_units:
        return []
    cut = len(unit.path) + PATH_STEP
    exp_by_path: dict[str, int] = {}
    for pk, path in assignments.annotate(head=Substr("institution__path", 1, cut)).values_list(
            "institution_id", "head"):
        exp_by_path[path] = exp_by_path.get(path, 0) + expected.get(pk, 0)
    present_by_path = dict(people.annotate(head=Substr("institution__path", 1, cut)).values("head")
                           .annotate(n=Count("person", distinct=True)).values_list("head", "n"))
    for head, n in (heads.annotate(head=Substr("point__hall__unit__path", 1, cut)).values("head")
                    .annotate(n=Sum("count")).values_list("head", "n")):
        present_by_path[head] = present_by_path.get(head, 0) + (n or 0)
    rows = []
    for c in child_units:
        e, p = exp_by_path.get(c["path"], 0), present_by_path.get(c["path"], 0)
        if e or p:
            rows.append({"unit_id": c["pk"], "unit": c["name"], "expected": e, "present": p,
                         "percentage": percentage_of(p, e)})
    return rows


def _compliance(session, assignments, present_inst) -> list[dict]:
    """Per institution with a delegation: does who came meet its rule, and who is missing."""
    delegations = list(Delegation.objects.filter(session=session, institution_id__in=assignments.values(
        "institution_id")).select_related("institution").order_by("institution__path"))
    if not delegations:
        return []
    ids = [d.pk for d in delegations]
    staff_of = {}
    for pk, cat, n in (Person.objects.filter(is_active=True, unit__delegations__in=[
            d.pk for d in delegations if d.rule == Delegation.Rule.ALL_STAFF]).values("unit_id", "category")
            .annotate(n=Count("id")).values_list("unit_id", "category", "n")):
        staff_of.setdefault(pk, dict.fromkeys(CATEGORIES, 0))[cat] = n
    named_total = dict(DelegationMember.objects.filter(delegation_id__in=ids).values("delegation_id")
                       .annotate(n=Count("id")).values_list("delegation_id", "n"))
    named_present = dict(DelegationMember.objects.filter(
        delegation_id__in=ids, person__checkins__session=session).values("delegation_id")
        .annotate(n=Count("person", distinct=True)).values_list("delegation_id", "n"))
    rows = []
    for d in delegations:
        have = present_inst.get(d.institution_id, dict.fromkeys(CATEGORIES, 0))
        missing = _missing(d, have, staff_of.get(d.institution_id, dict.fromkeys(CATEGORIES, 0)))
        absent = named_total.get(d.pk, 0) - named_present.get(d.pk, 0)
        if d.rule == Delegation.Rule.NAMED and absent:
            missing["named"] = absent
        rows.append({"institution_id": d.institution_id, "institution": d.institution.name, "rule": d.rule,
                     "complete": not missing, "missing": missing, "present": have,
                     "named_absent": absent})
    return rows


# --- the roll-call screen ---------------------------------------------------------------------
def people_at_point(session: Session, point: BridgePoint):
    """Active people of the institutions assigned to ``point`` for ``session``."""
    return Person.objects.filter(
        is_active=True, unit__point_assignments__session=session, unit__point_assignments__point=point)


def delegation_people_at_point(session: Session, point: BridgePoint) -> dict[int, list[int]]:
    """Per institution assigned to ``point``, whom "whole delegation present" checks in (person ids).

    The same people as :func:`check_in_delegation`: the named members, or every active person for
    ``all_staff``; the roll-call screen keeps this list so the action works offline too.
    """
    delegations = Delegation.objects.filter(session=session, institution__point_assignments__session=session,
                                            institution__point_assignments__point=point)
    out: dict[int, list[int]] = {}
    for pk, inst in (DelegationMember.objects.filter(delegation__in=delegations.exclude(
            rule=Delegation.Rule.ALL_STAFF), person__is_active=True).order_by("person_id")
            .values_list("person_id", "delegation__institution_id")):
        out.setdefault(inst, []).append(pk)
    for pk, inst in (Person.objects.filter(is_active=True, unit__delegations__in=delegations.filter(
            rule=Delegation.Rule.ALL_STAFF)).order_by("pk").values_list("pk", "unit_id")):
        out.setdefault(inst, []).append(pk)
    return out


def points_for_operator(user, session: Session):
    """Points of the session where ``user`` may record check-ins (``points.access``)."""
    return operated_points(user, session.conference_id)


def point_counts(session: Session, points) -> dict[int, dict]:
    """Present and expected people per point, for many points at once (grouped queries)."""
    ids = [p.pk for p in points]
    assigned = Assignment.objects.filter(session=session, point_id__in=ids)
    by_institution = expected_by_institution(session, assigned)
    expected = dict.fromkeys(ids, 0)
    for institution_id, point_id in assigned.values_list("institution_id", "point_id"):
        expected[point_id] += by_institution.get(institution_id, 0)
    present = dict(CheckIn.objects.filter(session=session, point_id__in=ids, person__isnull=False)
                   .values("point_id").annotate(n=Count("person", distinct=True)).values_list("point_id", "n"))
    for point_id, n in (latest_headcounts(session).filter(point_id__in=ids).values("point_id")
                        .annotate(n=Sum("count")).values_list("point_id", "n")):
        present[point_id] = present.get(point_id, 0) + (n or 0)
    return {pk: {"present": present.get(pk, 0), "expected": expected[pk],
                 "percentage": percentage_of(present.get(pk, 0), expected[pk])} for pk in ids}


# --- batches (the API and the offline queue) --------------------------------------------------
MAX_BATCH = 500


def check_in_batch(actor, items: list[dict]) -> list[CheckInResult]:
    """Record a batch of check-ins all or nothing; every refused item is reported by its index.

    Each item has ``client_id``, ``session_id``, ``point_id``, ``method`` and either ``person_id``
    or ``badge`` (a scanned QR payload); ``scanned_at`` and ``device`` are optional. Items the
    actor may not see are reported as ``not_found``, with no hint that they exist.
    """
    if not items:
        raise DomainError(_("The batch is empty."), "empty_batch")
    if len(items) > MAX_BATCH:
        raise DomainError(_("A batch holds at most %(n)s check-ins.") % {"n": MAX_BATCH}, "batch_too_large")
    sessions = Session.objects.in_bulk({i.get("session_id") for i in items if i.get("session_id")})
    points = BridgePoint.objects.select_related("hall__unit").in_bulk(
        {i.get("point_id") for i in items if i.get("point_id")})
    people = people_for_check_in(actor, items)
    results, errors = [], []
    with transaction.atomic():
        recorded = _bulk_check_in(actor, items, sessions, points, people)
        if recorded is not None:
            return recorded
        for index, item in enumerate(items):
            try:
                results.append(check_in_item(actor, item, sessions, points, people))
            except ScopeError:
                errors.append({"index": index, "client_id": str(item.get("client_id", "")), "code": "not_found",
                               "message": _("Not found.")})
            except DomainError as exc:
                errors.append({"index": index, "client_id": str(item.get("client_id", "")), "code": exc.code,
                               "message": exc.message})
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise DomainError(_("The batch was refused: %(n)s check-ins have problems; nothing was recorded.")
                          % {"n": len(errors)}, "batch_refused", details=errors)
    return results


def _bulk_check_in(actor, items: list[dict], sessions: dict, points: dict, people: dict) -> list[CheckInResult] | None:
    """A batch of new, clean check-ins of distinct people, in a few grouped queries.

    The same rows, flags and locks as :func:`check_in` item by item, for the common batch (an
    offline kiosk syncing its queue). It returns None, having written nothing, as soon as any
    item needs more: a badge, a retried or reused client id, the same person twice, a self
    check-in, anything to refuse. The caller then takes the item-by-item path, which gives each
    item its exact result or error; so a batch means the same whichever path records it.
    """
    if actor is not SYSTEM and not getattr(actor, "is_authenticated", False):
        return None
    now = timezone.now()
    plan = []
    operated: dict[int, bool] = {}  # a batch comes from one kiosk: ask the rule once per point
    for item in items:
        session, point = sessions.get(item.get("session_id")), points.get(item.get("point_id"))
        person = people.get(item.get("person_id")) if item.get("person_id") else None
        method = item.get("method") or M.ROLL_CALL
        if item.get("badge") or session is None or point is None or person is None or method not in PERSON_METHODS:
            return None
        try:
            client_id = _client_uuid(item.get("client_id"))
            if point.pk not in operated:
                operated[point.pk] = operates_point(actor, point)
            if not operated[point.pk]:
                return None
            _check_point(session, point)
            _require_window(session, now)
            scan = _scan_time(item.get("scanned_at"), now, session)
        except DomainError:
            return None
        plan.append((session, point, person.pk, method, client_id, scan, (item.get("device") or "")[:100]))
    person_ids = [p[2] for p in plan]
    session_ids = {p[0].pk for p in plan}
    client_ids = [p[4] for p in plan]
    if len(set(person_ids)) < len(plan) or len(set(client_ids)) < len(plan):
        return None
    if CheckIn.objects.filter(session_id__in=session_ids, client_id__in=client_ids).exists():
        return None  # a retry: each item's own result comes from the item-by-item path
    # The people's rows locked in one order (by id), so concurrent batches cannot deadlock.
    locked = {p.pk: p for p in Person.objects.select_for_update(of=("self",)).select_related("unit")
              .filter(pk__in=person_ids).order_by("pk")}
    if len(locked) < len(plan) or not all(p.is_active for p in locked.values()):
        return None
    assigned = {(sid, inst): pt for sid, inst, pt in Assignment.objects.filter(
        session_id__in=session_ids, institution_id__in={p.unit_id for p in locked.values()})
        .values_list("session_id", "institution_id", "point_id")}
    earlier: dict[tuple, list] = {}
    for sid, pid, pt, cid in CheckIn.objects.filter(session_id__in=session_ids, person_id__in=person_ids).values_list(
            "session_id", "person_id", "point_id", "client_id"):
        earlier.setdefault((sid, pid), []).append((pt, cid))
    recorder = actor if getattr(actor, "is_authenticated", False) else None
    rows = []
    for session, point, person_id, method, client_id, scan, device in plan:
        person = locked[person_id]
        assigned_point = assigned.get((session.pk, person.unit_id))
        if assigned_point is None:
            return None
        if actor is not SYSTEM and assigned_point != point.pk and not scope_for(actor).can_see(person.unit):
            return None
        before = earlier.get((session.pk, person_id), [])
        if any(cid == client_id for _pt, cid in before):
            return None
        rows.append(CheckIn(
            session=session, point=point, person=person, institution_id=person.unit_id, method=method,
            category=person.category, count=1, device=device, scanned_at=scan.at, received_at=now,
            scan_time_clamped=scan.clamped, claimed_scanned_at=scan.claimed,
            client_id=client_id, recorded_by=recorder,
            duplicate_person=any(pt == point.pk for pt, _cid in before),
            other_point=assigned_point != point.pk or any(pt != point.pk for pt, _cid in before)))
    try:
        with transaction.atomic():
            CheckIn.objects.bulk_create(rows)
    except IntegrityError:
        return None  # a client id taken meanwhile by a concurrent request: item by item says which
    _publish(rows)
    return [CheckInResult(row, True) for row in rows]


def check_in_item(actor, item: dict, sessions: dict, points: dict, people: dict) -> CheckInResult:
    """One item of a batch (or the API's single check-in), its objects looked up beforehand in bulk."""
    session, point = sessions.get(item.get("session_id")), points.get(item.get("point_id"))
    if session is None or point is None:
        raise ScopeError()
    common = {"session": session, "point": point, "client_id": item.get("client_id"),
              "scanned_at": item.get("scanned_at"), "device": item.get("device") or ""}
    if item.get("badge"):
        return check_in_by_badge(actor, token=item["badge"], **common)
    if not item.get("person_id"):
        raise DomainError(_("Say who is checking in."), "person_required")
    person = people.get(item.get("person_id"))
    if person is None:
        raise ScopeError()
    return check_in(actor, person=person, method=item.get("method") or M.ROLL_CALL, **common)
