"""Check-ins (điểm danh): plan a list of arrivals, then apply the plan; one check-in is a batch of one.

Every way in (the roll-call screen, the JSON API and the offline queue's batches, a scanned
badge, self check-in on a phone, "whole delegation present", a video viewer) builds
:class:`CheckInItem` values and goes through the same two steps:

- :func:`plan_check_ins` decides what each item means, in this order: the session, point and
  person exist and the actor may learn of the person (else "not found", before any message can
  name them); the client id and the method; the actor operates the point (or checks themselves
  in) and may reach the person there; the point serves the session; a retry (a client id already
  recorded) is answered with its first row, even once the window has closed; the window and the
  scan time; the person is active and their institution is assigned to the session. The people's
  rows are locked first, in one order, so the flags (the same person again, another point than
  assigned) are exact under concurrency. It writes nothing.
- :func:`apply` writes the new rows of a clean plan in one statement and tells the boards once
  the transaction commits.

A check-in is an appended row, never an update; a refused batch records nothing.
"""

import datetime
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import metrics
from diemcau.core.errors import DomainError, ScopeError
from diemcau.events.models import Session
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for
from diemcau.points.access import operated_points, operates_point
from diemcau.points.models import BridgePoint, Hall

from . import board_notices, checkin_sql, counts
from .badges import read_badge_token
from .delegations import delegation_people
from .models import CheckIn, Delegation

M = CheckIn.Method
PERSON_METHODS = {M.QR_SELF, M.QR_SCAN, M.ROLL_CALL, M.VIDEO}
SELF_METHODS = {M.QR_SELF, M.VIDEO}
# A scanner's clock may run a little fast; beyond this the scan time is refused as wrong.
CLOCK_SKEW = datetime.timedelta(minutes=5)
MAX_BATCH = 500


@dataclass(frozen=True)
class CheckInItem:
    """One arrival to record, as a page or a device sends it: ids, a person or a scanned badge."""

    client_id: uuid.UUID | str | None
    session_id: int | None
    point_id: int | None
    method: str = M.ROLL_CALL
    person_id: int | None = None
    badge: str = ""  # a scanned QR payload; when present it says who, and the method
    scanned_at: datetime.datetime | None = None
    device: str = ""


@dataclass
class CheckInResult:
    checkin: CheckIn
    created: bool


@dataclass
class Outcome:
    """What planning decided for one item: a new row, the row a retry finds, or why it is refused."""

    item: CheckInItem | None
    row: CheckIn | None = None
    created: bool = False
    error: DomainError | None = None


@dataclass
class Plan:
    """The outcome of every item of a list, in order; :func:`apply` writes the new rows."""

    actor: object
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def refused(self) -> list[tuple[int, Outcome]]:
        return [(i, o) for i, o in enumerate(self.outcomes) if o.error is not None]

    @property
    def new_rows(self) -> list[CheckIn]:
        return [o.row for o in self.outcomes if o.created]


@dataclass
class Known:
    """The sessions, points and people a list of items names, looked up once for the whole list."""

    sessions: dict[int, Session]
    points: dict[int, BridgePoint]
    people: dict[int, Person]


def _instance(model, values: dict, related: dict | None = None, adding: bool = False):
    """A model instance from values read or decided here, without ``Model.__init__`` (a batch makes
    hundreds: the constructor and its descriptors were most of a batch's Python). Fields not given
    are deferred, as with ``from_db``; ``related`` objects are cached as Django caches them."""
    obj = model.__new__(model)
    obj.__dict__.update(values)
    obj._state = ModelState()
    obj._state.adding, obj._state.db = adding, "default"
    if related:
        obj._state.fields_cache = dict(related)
    return obj


# --- the rules that do not depend on the list -----------------------------------------------
def check_in_window(session: Session) -> tuple[datetime.datetime, datetime.datetime]:
    """When ``session`` takes check-ins: its time window widened by the configured margins."""
    return (session.starts_at - datetime.timedelta(minutes=settings.CHECKIN_MARGIN_BEFORE_MINUTES),
            session.ends_at + datetime.timedelta(minutes=settings.CHECKIN_MARGIN_AFTER_MINUTES))


def require_window(session: Session, now):
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


def scan_time(scanned_at, now, session: Session) -> ScanTime:
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


def client_uuid(client_id) -> uuid.UUID:
    """The client's id as a UUID, or the ``invalid_client_id`` error."""
    try:
        return client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (TypeError, ValueError, AttributeError):
        raise DomainError(_("The client id is not a UUID."), "invalid_client_id") from None


def derived_uuid(client_id: uuid.UUID, name) -> uuid.UUID:
    """A stable id per item of a grouped action, so retrying the whole action is a no-op too."""
    return uuid.uuid5(client_id, str(name))


def check_point(session: Session, point: BridgePoint):
    """Refuse a point of another conference, or one that does not serve ``session``."""
    if point.conference_id != session.conference_id:
        raise DomainError(_("This bridge point belongs to another conference."), "point_not_in_session")
    # Whether the point serves the session, when the check-in's context statement read it already.
    known = point.__dict__.get("_diemcau_serves", {}).get(session.pk)
    if known is not None:
        if not known:
            raise DomainError(_("This bridge point does not serve this session."), "point_not_in_session")
        return
    # The sessions a point serves, read once per point object (a list reuses its points).
    served = point.__dict__.get("_diemcau_served")
    if served is None:
        served = point.__dict__["_diemcau_served"] = frozenset(point.sessions.values_list("pk", flat=True))
    if served and session.pk not in served:
        raise DomainError(_("This bridge point does not serve this session."), "point_not_in_session")


# --- who may be checked in where ----------------------------------------------------------------
def look_up(actor, items: Sequence[CheckInItem]) -> Known:
    """The sessions and points of a list of items, in two queries (the people come with the context)."""
    sessions = Session.objects.in_bulk({i.session_id for i in items if i.session_id})
    points = BridgePoint.objects.select_related("hall__unit").in_bulk({i.point_id for i in items if i.point_id})
    return Known(sessions, points, {})


def people_at_point(session: Session, point: BridgePoint):
    """Active people of the institutions assigned to ``point`` for ``session`` (the roll call's list)."""
    return Person.objects.filter(
        is_active=True, unit__point_assignments__session=session, unit__point_assignments__point=point)


def points_for_operator(user, session: Session):
    """Points of the session where ``user`` may record check-ins (``points.access``)."""
    return operated_points(user, session.conference_id)


# --- plan ---------------------------------------------------------------------------------------
@dataclass
class _Subject:
    """Whom an item checks in, and how: its session, point, person and method, once resolved."""

    session: Session
    point: BridgePoint
    person: Person
    method: str


def _named(actor, item: CheckInItem, known: Known) -> tuple[int, str]:
    """Whom an item names, and how: (person id, method); a badge is read against its session and point."""
    if not item.badge and item.person_id:
        return item.person_id, item.method or M.ROLL_CALL
    session, point = known.sessions.get(item.session_id), known.points.get(item.point_id)
    if session is None or point is None:
        raise ScopeError()
    if not item.badge:
        raise DomainError(_("Say who is checking in."), "person_required")
    badge = read_badge_token(item.badge, session=session, point=point)
    if badge.person is not None:  # a personal badge, scanned by the operator
        return badge.person.pk, M.QR_SCAN
    # The point's badge, scanned by a participant with their own phone.
    person = Person.objects.filter(user_id=getattr(actor, "pk", None)).first() if actor is not SYSTEM else None
    if person is None:
        raise DomainError(_("Sign in with your own account to check yourself in."), "person_required")
    return person.pk, M.QR_SELF


class _Objects:
    """Model instances made from the context statement's columns, one per id (a list reuses them)."""

    def __init__(self, known: Known):
        self.sessions, self.points = dict(known.sessions), dict(known.points)

    def session(self, c: checkin_sql.Context) -> Session:
        sid = c.session[0]
        if sid not in self.sessions:
            self.sessions[sid] = _instance(Session, dict(zip(("id", "conference_id", "starts_at", "ends_at"),
                                                             c.session, strict=True)))
        return self.sessions[sid]

    def point(self, c: checkin_sql.Context) -> BridgePoint:
        pid, conference_id, hall_id, unit_id, path = c.point
        if pid not in self.points:
            unit = _instance(Unit, {"id": unit_id, "path": path})
            hall = _instance(Hall, {"id": hall_id, "unit_id": unit_id}, {"unit": unit})
            point = _instance(BridgePoint, {"id": pid, "conference_id": conference_id, "hall_id": hall_id},
                              {"hall": hall})
            self.points[pid] = point
        point = self.points[pid]
        point.__dict__.setdefault("_diemcau_serves", {})[c.session[0]] = c.serves or not c.serves_any
        return point

    @staticmethod
    def person(c: checkin_sql.Context) -> Person:
        pk, unit_id, category, user_id, is_active, full_name = c.person
        unit = _instance(Unit, {"id": unit_id, "path": c.unit_path})
        return _instance(Person, {"id": pk, "unit_id": unit_id, "full_name": full_name, "category": category,
                                  "user_id": user_id, "is_active": is_active}, {"unit": unit})


def _reachable(actor, item: CheckInItem, c: checkin_sql.Context, person: Person, given: Known | None,
               list_points: set[int]) -> bool:
    """Whether the actor may learn of the person an item names by id ("not found" otherwise).

    When the caller gave the people (a page that loaded them), those; else someone of the actor's
    part of the tree, themselves, or someone whose institution is assigned to a point of the list.
    """
    if given is not None:
        return item.person_id in given.people
    if actor is SYSTEM:
        return True
    if not getattr(actor, "is_authenticated", False):
        return False
    if c.assigned_point in list_points or (person.user_id is not None and person.user_id == actor.pk):
        return True
    return scope_for(actor).can_see(person.unit)


class _State:
    """What planning a list knows: the people (locked), their assignments, the rows before and planned."""

    def __init__(self, actor, context: dict[int, checkin_sql.Context], subjects: list, now):
        self.actor, self.now = actor, now
        self.recorder = actor if getattr(actor, "is_authenticated", False) else None
        self.operated: dict[int, bool] = {}  # a list comes from one kiosk: ask the rule once per point
        self.people: dict[int, Person] = {}
        self.assigned: dict[tuple[int, int], int] = {}
        self.by_client: dict[tuple[int, uuid.UUID], CheckIn] = {}
        # Earlier rows of this list only: the write completes the flags from the table, under the locks.
        self.earlier: dict[tuple[int, int], list[tuple[int, uuid.UUID]]] = {}
        self.operated_by_statement: set[int] = set()  # points the context statement says the actor operates
        for index, subject in enumerate(subjects):
            c = context.get(index)
            if c is None or not isinstance(subject, _Subject):
                continue
            self.people[subject.person.pk] = subject.person
            if c.assigned_point is not None:
                self.assigned[(c.session[0], subject.person.unit_id)] = c.assigned_point
            if c.prior is not None:
                self.by_client[(c.prior[1], c.prior[4])] = _instance(
                    CheckIn, dict(zip(checkin_sql.PRIOR, c.prior, strict=True)))
            if c.operates:
                self.operated_by_statement.add(c.point[0])

    def operates(self, point: BridgePoint) -> bool:
        """``points.access``'s rule: as the context statement read it for an active account's roles
        (no query here); the system, a superuser or an inactive account asks the rule itself."""
        if point.pk not in self.operated:
            actor = self.actor
            by_roles = getattr(actor, "is_authenticated", False) and actor.is_active and not actor.is_superuser
            self.operated[point.pk] = (point.pk in self.operated_by_statement if by_roles
                                       else operates_point(actor, point))
        return self.operated[point.pk]

    def within_reach(self, session: Session, point: BridgePoint, person: Person, is_self: bool) -> bool:
        """True when the actor may learn of ``person`` while checking in at ``point``.

        Themselves, someone of their part of the tree, or someone whose institution is assigned
        to this point for this session (the roll call's own list).
        """
        if self.actor is SYSTEM or is_self:
            return True
        if self.assigned.get((session.pk, person.unit_id)) == point.pk:
            return True
        return scope_for(self.actor).can_see(person.unit)

    def retry(self, session: Session, client_id: uuid.UUID, person: Person, point: BridgePoint) -> CheckIn | None:
        """The row already recorded (or planned) under this client id, if it is the same check-in."""
        row = self.by_client.get((session.pk, client_id))
        if row is not None and (row.point_id != point.pk or row.person_id != person.pk):
            raise DomainError(_("This client id was already used for another check-in."), "client_id_reused")
        return row

    def add(self, row: CheckIn):
        """Count a planned row as recorded, for the items after it in the list."""
        self.by_client[(row.session_id, row.client_id)] = row
        self.earlier.setdefault((row.session_id, row.person_id), []).append((row.point_id, row.client_id))


def _decide(state: _State, item: CheckInItem, subject: _Subject) -> Outcome:
    """One item's outcome, the list's earlier items already counted in ``state``."""
    actor, session, point, method = state.actor, subject.session, subject.point, subject.method
    client_id = client_uuid(item.client_id)
    if method not in PERSON_METHODS:
        raise DomainError(_("Unknown check-in method."), "invalid_method")
    if actor is not SYSTEM and not getattr(actor, "is_authenticated", False):
        raise ScopeError()
    person = state.people.get(subject.person.pk)
    if person is None:  # gone since it was looked up
        raise ScopeError()
    is_self = actor is not SYSTEM and person.user_id is not None and person.user_id == actor.pk
    if not (state.operates(point) or (is_self and method in SELF_METHODS)):
        raise ScopeError(_("You may not record check-ins at this bridge point."), "point_out_of_scope")
    if not state.within_reach(session, point, person, is_self):
        raise ScopeError(_("Not found."), "person_out_of_scope")
    check_point(session, point)
    done = state.retry(session, client_id, person, point)
    if done is not None:
        return Outcome(item, done, created=False)  # answered as the first time, even after the window
    require_window(session, state.now)
    scan = scan_time(item.scanned_at, state.now, session)
    if not person.is_active:
        raise DomainError(_("%(name)s is no longer active.") % {"name": person.full_name}, "person_inactive")
    assigned_point = state.assigned.get((session.pk, person.unit_id))
    if assigned_point is None:
        raise DomainError(_("%(name)s is not invited to this session.") % {"name": person.full_name},
                          "not_invited")
    before = state.earlier.get((session.pk, person.pk), [])
    recorder = state.recorder
    row = _instance(CheckIn, {
        "id": None, "session_id": session.pk, "point_id": point.pk, "person_id": person.pk,
        "institution_id": person.unit_id, "method": method, "category": person.category, "count": 1,
        "device": (item.device or "")[:100], "scanned_at": scan.at, "received_at": state.now,
        "client_id": client_id, "recorded_by_id": getattr(recorder, "pk", None),
        "duplicate_person": any(pt == point.pk for pt, _cid in before),
        "other_point": assigned_point != point.pk or any(pt != point.pk for pt, _cid in before),
        "scan_time_clamped": scan.clamped, "claimed_scanned_at": scan.claimed,
    }, {"session": session, "point": point, "person": person, **({"recorded_by": recorder} if recorder else {})},
        adding=True)
    state.add(row)
    return Outcome(item, row, created=True)


def _maybe_uuid(client_id) -> uuid.UUID | None:
    try:
        return client_uuid(client_id)
    except DomainError:  # a malformed id is its item's own error, in its turn
        return None


def _subjects(actor, items: Sequence[CheckInItem], known: Known | None):
    """Per item its subject (or the error that refuses it) and the context statement's findings."""
    given = known
    known = known if known is not None else Known({}, {}, {})
    if given is None and any(i.badge or not i.person_id for i in items):
        known = look_up(actor, [i for i in items if i.badge or not i.person_id])
    named: list[tuple[int, str] | DomainError] = []
    for item in items:
        try:
            named.append(_named(actor, item, known))
        except DomainError as exc:
            named.append(exc)
    context = checkin_sql.read_context(getattr(actor, "pk", None), [
        (i, item.session_id, item.point_id, n[0], _maybe_uuid(item.client_id))
        for i, (item, n) in enumerate(zip(items, named, strict=True))
        if not isinstance(n, DomainError) and item.session_id and item.point_id])
    objects, list_points = _Objects(known), {i.point_id for i in items}
    subjects: list[_Subject | DomainError] = []
    for i, (item, n) in enumerate(zip(items, named, strict=True)):
        c = context.get(i)
        if isinstance(n, DomainError):
            subjects.append(n)
            continue
        person = objects.person(c) if c is not None else None
        if person is None or (not item.badge and not _reachable(actor, item, c, person, given, list_points)):
            subjects.append(ScopeError())
            continue
        subjects.append(_Subject(objects.session(c), objects.point(c), person, n[1]))
    return subjects, context


def plan_check_ins(actor, items: Sequence[CheckInItem], known: Known | None = None) -> Plan:
    """Decide every item's outcome: a new row, a retry's first row, or an error with its code.

    Writes nothing, but locks the people's rows: call it inside the transaction that applies the
    plan. ``known``: the sessions, points and people when the caller holds them already (a page
    that loaded them: only those people may be named); otherwise only the people the actor may
    learn of. What a list needs is read in one statement (:func:`checkin_sql.read_context`).
    """
    subjects, context = _subjects(actor, items, known)
    state = _State(actor, context, subjects, timezone.now())
    plan = Plan(actor)
    for item, subject in zip(items, subjects, strict=True):
        if isinstance(subject, DomainError):
            plan.outcomes.append(Outcome(item, error=subject))
            continue
        try:
            plan.outcomes.append(_decide(state, item, subject))
        except DomainError as exc:
            plan.outcomes.append(Outcome(item, error=exc))
    return plan


# --- apply --------------------------------------------------------------------------------------
def _publish(rows):
    board_notices.publish_checkins(rows)


def _write(rows: list[CheckIn]):
    """Write new rows and raise the running counts, in the caller's transaction; ids and flags set."""
    people = [r for r in rows if r.person_id is not None]
    if people:
        seen, firsts = [], set()
        for r in people:
            seen.append((r.session_id, r.person_id) in firsts)
            firsts.add((r.session_id, r.person_id))
        written = checkin_sql.insert_rows(people, seen)
        if len(written) < len(people):
            raise IntegrityError("a client id of this list was recorded meanwhile")
        for r in people:
            r.pk, r.duplicate_person, r.other_point = written[r.client_id]
            r._state.adding, r._state.db = False, "default"
    heads: dict[int, list[CheckIn]] = {}
    for r in rows:
        if r.person_id is None:
            heads.setdefault(r.point_id, []).append(r)
    for point_rows in heads.values():
        counts.add_headcounts(point_rows, point_rows[0].point.hall.unit_id)
        CheckIn.objects.bulk_create(point_rows)


def apply(plan: Plan) -> list[CheckInResult]:
    """Write a clean plan's new rows in one statement; the boards hear of them once it commits.

    Call it in the transaction that planned (the people's locks are held until it ends). A
    client id taken meanwhile by a concurrent request raises ``IntegrityError``: the transaction
    is then rolled back (nothing of the list is written).
    """
    if plan.refused:
        raise ValueError("a plan with refused items is not applied")
    rows = plan.new_rows
    if rows:
        with transaction.atomic(savepoint=False):
            _write(rows)
    _publish(rows)
    return [CheckInResult(o.row, o.created) for o in plan.outcomes]


def _record(actor, items: Sequence[CheckInItem], known: Known | None,
            refuse: Callable[[Plan], DomainError]) -> list[CheckInResult]:
    """Plan and apply in one transaction; ``refuse`` makes the error of a plan with refused items."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                plan = plan_check_ins(actor, items, known)
                if plan.refused:
                    raise refuse(plan)
                results = apply(plan)
            break
        except IntegrityError:
            # Another person's row took one of these client ids meanwhile (no lock of ours waited
            # for it, and its transaction has committed): planned again, that item is now a retry
            # or a reused id.
            if attempt:
                raise
    metrics.CHECKINS_STORED.inc(len(plan.new_rows))  # written (committed, unless an outer transaction holds it)
    return results


def _first_error(plan: Plan) -> DomainError:
    return plan.refused[0][1].error


def _batch_refused(plan: Plan) -> DomainError:
    details = []
    for index, outcome in plan.refused:
        error = outcome.error
        client_id = "" if outcome.item.client_id is None else str(outcome.item.client_id)
        if isinstance(error, ScopeError):  # no hint that it exists, nor why
            details.append({"index": index, "client_id": client_id, "code": "not_found", "message": _("Not found.")})
        else:
            details.append({"index": index, "client_id": client_id, "code": error.code, "message": error.message})
    return DomainError(_("The batch was refused: %(n)s check-ins have problems; nothing was recorded.")
                       % {"n": len(details)}, "batch_refused", details=details)


# --- the ways in --------------------------------------------------------------------------------
def check_in_batch(actor, items: Sequence[CheckInItem]) -> list[CheckInResult]:
    """Record a list of check-ins all or nothing; every refused item is reported by its index.

    Items the actor may not see are reported as ``not_found``, with no hint that they exist.
    """
    if not items:
        raise DomainError(_("The batch is empty."), "empty_batch")
    if len(items) > MAX_BATCH:
        raise DomainError(_("A batch holds at most %(n)s check-ins.") % {"n": MAX_BATCH}, "batch_too_large")
    return _record(actor, items, None, _batch_refused)


def check_in_one(actor, item: CheckInItem, known: Known | None = None) -> CheckInResult:
    """Record one check-in (a batch of one); a refusal raises that item's own error."""
    return _record(actor, [item], known, _first_error)[0]


def check_in(actor, *, session: Session, point: BridgePoint, person: Person | None = None, method: str,
             client_id, scanned_at=None, device: str = "") -> CheckInResult:
    """Record one person's arrival at a point; a retry with the same ``client_id`` changes nothing.

    The person must belong to an institution assigned to the session. An operator of the point
    (or an organiser above it) checks anyone in; a participant only checks themselves in.
    """
    item = CheckInItem(client_id=client_id, session_id=session.pk, point_id=point.pk, method=method,
                       person_id=getattr(person, "pk", None), scanned_at=scanned_at, device=device or "")
    known = Known({session.pk: session}, {point.pk: point}, {person.pk: person} if person is not None else {})
    return check_in_one(actor, item, known)


def check_in_by_badge(actor, *, session: Session, point: BridgePoint, token: str, client_id,
                      scanned_at=None, device: str = "") -> CheckInResult:
    """A scanned QR: a personal badge scanned by the operator, or the point's badge by a participant."""
    if not token:  # an empty payload is a damaged badge, not "no badge"
        read_badge_token(token, session=session, point=point)
    item = CheckInItem(client_id=client_id, session_id=session.pk, point_id=point.pk, badge=token,
                       scanned_at=scanned_at, device=device or "")
    return check_in_one(actor, item, Known({session.pk: session}, {point.pk: point}, {}))


def check_in_delegation(actor, *, session: Session, point: BridgePoint, institution: Unit, client_id,
                        device: str = "") -> list[CheckInResult]:
    """"Whole delegation present": check in every named member (or, for all staff, every person).

    One list of roll-call check-ins, all or nothing; each person's client id is derived from
    ``client_id``, so pressing the button again changes nothing.
    """
    client_id = client_uuid(client_id)
    delegation = Delegation.objects.filter(session=session, institution=institution).first()
    people = list(delegation_people(delegation).select_related("unit").order_by("pk")) if delegation else []
    if not people:
        raise DomainError(_("%(unit)s has not named its delegation.") % {"unit": institution.name},
                          "delegation_not_named")
    items = [CheckInItem(client_id=derived_uuid(client_id, p.pk), session_id=session.pk, point_id=point.pk,
                         method=M.ROLL_CALL, person_id=p.pk, device=device or "") for p in people]
    known = Known({session.pk: session}, {point.pk: point}, {p.pk: p for p in people})
    return _record(actor, items, known, _first_error)
