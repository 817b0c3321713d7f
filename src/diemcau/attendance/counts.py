"""Running counts (số có mặt) per (session, unit, category): what roll-ups sum instead of scanning check-ins.

- ``people``: each person counts once per session, at the institution and category of their first
  row (the lowest id); the check-in's own statement raises it (:mod:`.checkin_sql`).
- ``heads``: the latest headcount per (point, category) counts, under the unit hosting the point; a
  new headcount adds its difference from the one it supersedes, in the headcount's transaction
  (the point's row is locked there).
- ``expected``: the people an assigned institution is expected to send, per category
  (``delegations.expected_by_category``; seats of an institution without a delegation under the
  category ``""``), rewritten for the institutions concerned whenever an assignment or a delegation
  changes (:func:`refresh_expected`), so a roll-up's expected figures are sums by path prefix too.

Beside them, ``arrivals`` per (session, institution, minute) (:class:`.models.AttendanceArrival`): each
person once, at the minute of their first row, raised by a trigger on the check-ins' insert (migration
``0006``); the board's arrivals chart sums them by path prefix (:func:`arrivals_in`).

The check-ins, assignments and delegations are the record; these are derived. :func:`differences`
recomputes them from the rows and lists where they disagree; :func:`repair` writes the recomputed
values (``manage.py repair_attendance_counts``).
"""

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Min, Sum
from django.db.models.functions import Substr, TruncMinute

from diemcau.events.models import Session
from diemcau.orgs.models import Unit, path_upper_bound
from diemcau.points.models import Assignment

from .delegations import SEATS, expected_by_category
from .models import AttendanceArrival, AttendanceCount, CheckIn

T, COUNTS, ARRIVALS = CheckIn._meta.db_table, AttendanceCount._meta.db_table, AttendanceArrival._meta.db_table
Key = tuple[int, int, str]  # session, unit, category
Counts = tuple[int, int, int]  # people, heads, expected


def _upsert(rows: dict[Key, tuple[int, int]]):
    """Add (people, heads) to each key's counts, creating the row when missing (one statement)."""
    if not rows:
        return
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params = [x for (sid, unit, cat), (people, heads) in rows.items() for x in (sid, unit, cat, people, heads)]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {COUNTS} (session_id, unit_id, category, people, heads) VALUES {values}
            ON CONFLICT (session_id, unit_id, category)
            DO UPDATE SET people = {COUNTS}.people + excluded.people, heads = {COUNTS}.heads + excluded.heads""",
                       params)


def add_people(rows):
    """Count each new row as its person's first of the session (the caller knows it is)."""
    keys: dict[Key, tuple[int, int]] = {}
    for r in rows:
        key = (r.session_id, r.institution_id, r.category)
        keys[key] = (keys.get(key, (0, 0))[0] + 1, 0)
    _upsert(keys)


def add_headcounts(rows, host_unit_id: int):
    """Count a new headcount's rows (one point) as the difference from the latest they supersede."""
    if not rows:
        return
    first = rows[0]
    before = {}
    for cat, count in (CheckIn.objects.filter(session_id=first.session_id, point_id=first.point_id,
                                              method=CheckIn.Method.HEADCOUNT).order_by("category", "-id")
                       .values_list("category", "count")):
        before.setdefault(cat, count)
    _upsert({(r.session_id, host_unit_id, r.category): (0, r.count - before.get(r.category, 0)) for r in rows
             if r.count != before.get(r.category, 0)})


def _expected_now(session_id: int, institution_ids=None) -> dict[Key, int]:
    """Expected people per (session, institution, category) as the assignments and delegations say."""
    assignments = Assignment.objects.filter(session_id=session_id)
    if institution_ids is not None:
        assignments = assignments.filter(institution_id__in=list(institution_ids))
    session = Session(pk=session_id)
    return {(session_id, pk, cat): n for (pk, cat), n in expected_by_category(session, assignments).items()}


def refresh_expected(session_id: int, institution_ids) -> None:
    """Rewrite the expected counts of these institutions (an assignment or a delegation changed), in
    the caller's transaction: what no longer applies goes to zero, the rest is written as is."""
    ids = sorted(set(institution_ids))
    if not ids:
        return
    rows = _expected_now(session_id, ids)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {COUNTS} SET expected = 0 WHERE session_id = %s AND unit_id IN "
                       f"({', '.join(['%s'] * len(ids))}) AND expected <> 0", [session_id, *ids])
        if rows:
            values = ", ".join(["(%s, %s, %s, 0, 0, %s)"] * len(rows))
            cursor.execute(f"""
                INSERT INTO {COUNTS} (session_id, unit_id, category, people, heads, expected) VALUES {values}
                ON CONFLICT (session_id, unit_id, category) DO UPDATE SET expected = excluded.expected""",
                           [x for (sid, unit, cat), n in rows.items() for x in (sid, unit, cat, n)])


# --- reading --------------------------------------------------------------------------------
def in_subtree(session: Session, unit: Unit):
    """The counts of ``unit``'s subtree (the unit included), as a query over the counters."""
    return AttendanceCount.objects.filter(session=session, unit__path__gte=unit.path,
                                          unit__path__lt=path_upper_bound(unit.path))


def present_by_category(session: Session, unit: Unit) -> dict[str, int]:
    return {cat: (p or 0) + (h or 0) for cat, p, h in in_subtree(session, unit).exclude(category=SEATS)
            .values("category").annotate(p=Sum("people"), h=Sum("heads")).values_list("category", "p", "h")}


def expected_in(session: Session, unit: Unit) -> int:
    """Expected people of the subtree's assigned institutions: a sum of the counters."""
    return in_subtree(session, unit).aggregate(e=Sum("expected"))["e"] or 0


def by_head(session: Session, unit: Unit, cut: int) -> dict[str, tuple[int, int]]:
    """(Present, expected) per child path (the first ``cut`` characters of each unit's path)."""
    return {head: ((p or 0) + (h or 0), e or 0) for head, p, h, e in in_subtree(session, unit)
            .annotate(head=Substr("unit__path", 1, cut)).values("head")
            .annotate(p=Sum("people"), h=Sum("heads"), e=Sum("expected")).values_list("head", "p", "h", "e")}


def present_by_head(session: Session, unit: Unit, cut: int) -> dict[str, int]:
    """Present per child path (the first ``cut`` characters of each unit's path)."""
    return {head: present for head, (present, _expected) in by_head(session, unit, cut).items()}


def people_by_institution(session: Session, unit: Unit) -> dict[int, dict[str, int]]:
    """People present per institution of the subtree and category (headcounts left out)."""
    out: dict[int, dict[str, int]] = {}
    for pk, cat, n in in_subtree(session, unit).filter(people__gt=0).values_list("unit_id", "category", "people"):
        out.setdefault(pk, {})[cat] = n
    return out


def arrivals_in(session: Session, unit: Unit) -> list[tuple[datetime.datetime, int]]:
    """People of the subtree arriving per minute (each once, at their first check-in), from the
    per-minute counts: one grouped read over (institution, minute) rows, not a scan of the check-ins."""
    return list(AttendanceArrival.objects.filter(session=session, unit__path__gte=unit.path,
                                                 unit__path__lt=path_upper_bound(unit.path), people__gt=0)
                .values("minute").annotate(n=Sum("people")).order_by("minute").values_list("minute", "n"))


# --- repair ---------------------------------------------------------------------------------
def recomputed_arrivals(session_id: int) -> dict[tuple[int, datetime.datetime], int]:
    """Arrivals per (institution, minute) of one session as the record says (a scan of its check-ins)."""
    firsts = (CheckIn.objects.filter(session_id=session_id, person__isnull=False)
              .values("person").annotate(first=Min("id")).values("first"))
    rows = (CheckIn.objects.filter(pk__in=firsts).annotate(m=TruncMinute("scanned_at", tzinfo=datetime.UTC))
            .values("institution_id", "m").annotate(n=Count("id")).values_list("institution_id", "m", "n"))
    return {(unit, minute): n for unit, minute, n in rows}


@dataclass
class ArrivalDifference:
    session_id: int
    unit_id: int
    minute: datetime.datetime
    stored: int
    recomputed: int

    def __str__(self):
        return (f"session {self.session_id} unit {self.unit_id} arrivals at {self.minute:%Y-%m-%d %H:%M} UTC: "
                f"stored {self.stored}; recomputed {self.recomputed}")


def arrival_differences(session_id: int) -> list[ArrivalDifference]:
    truth = recomputed_arrivals(session_id)
    stored = {(u, m): n for u, m, n in AttendanceArrival.objects.filter(session_id=session_id)
              .values_list("unit_id", "minute", "people")}
    return [ArrivalDifference(session_id, unit, minute, stored.get((unit, minute), 0), truth.get((unit, minute), 0))
            for unit, minute in sorted(set(truth) | set(stored))
            if stored.get((unit, minute), 0) != truth.get((unit, minute), 0)]


def _repair_arrivals(found: list[ArrivalDifference]) -> None:
    for i in range(0, len(found), 1000):
        chunk = found[i:i + 1000]
        with connection.cursor() as cursor:
            cursor.execute(f"""
                INSERT INTO {ARRIVALS} (session_id, unit_id, minute, people)
                VALUES {", ".join(["(%s, %s, %s, %s)"] * len(chunk))}
                ON CONFLICT (session_id, unit_id, minute) DO UPDATE SET people = excluded.people""",
                           [x for d in chunk for x in (d.session_id, d.unit_id, _minute_param(d.minute), d.recomputed)])
    AttendanceArrival.objects.filter(people=0).delete()


def _minute_param(minute: datetime.datetime):
    """A minute as the trigger writes it (SQLite: the text ``YYYY-MM-DD HH:MM:00`` in UTC)."""
    if connection.vendor == "sqlite":
        return minute.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:00")
    return minute


def recomputed(session_id: int) -> dict[Key, Counts]:
    """The counts of one session as the record says: {(session, unit, category): (people, heads, expected)}."""
    out: dict[Key, Counts] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT c.institution_id, c.category, count(*) FROM {T} c
            WHERE c.session_id = %s AND c.person_id IS NOT NULL AND c.id = (
                SELECT min(e.id) FROM {T} e WHERE e.session_id = c.session_id AND e.person_id = c.person_id)
            GROUP BY c.institution_id, c.category""", [session_id])
        for unit, cat, n in cursor.fetchall():
            out[(session_id, unit, cat)] = (n, 0, 0)
        cursor.execute(f"""
            SELECT h.unit_id, c.category, sum(c.count) FROM {T} c
            JOIN points_bridgepoint bp ON bp.id = c.point_id JOIN points_hall h ON h.id = bp.hall_id
            WHERE c.session_id = %s AND c.method = 'headcount' AND c.id = (
                SELECT max(e.id) FROM {T} e WHERE e.session_id = c.session_id AND e.point_id = c.point_id
                AND e.method = 'headcount' AND e.category = c.category)
            GROUP BY h.unit_id, c.category""", [session_id])
        for unit, cat, n in cursor.fetchall():
            people, _heads, _expected = out.get((session_id, unit, cat), (0, 0, 0))
            out[(session_id, unit, cat)] = (people, int(n or 0), 0)
    for key, n in _expected_now(session_id).items():
        people, heads, _expected = out.get(key, (0, 0, 0))
        out[key] = (people, heads, n)
    return out


@dataclass
class Difference:
    session_id: int
    unit_id: int
    category: str
    stored: Counts  # (people, heads, expected) in the counters
    recomputed: Counts

    def __str__(self):
        return (f"session {self.session_id} unit {self.unit_id} {self.category or 'seats'}: "
                f"stored people {self.stored[0]}, heads {self.stored[1]}, expected {self.stored[2]}; "
                f"recomputed people {self.recomputed[0]}, heads {self.recomputed[1]}, expected {self.recomputed[2]}")


def _sessions(session_ids):
    if session_ids is not None:
        return session_ids
    return sorted(set(CheckIn.objects.values_list("session_id", flat=True).distinct())
                  | set(Assignment.objects.values_list("session_id", flat=True).distinct())
                  | set(AttendanceCount.objects.values_list("session_id", flat=True).distinct())
                  | set(AttendanceArrival.objects.values_list("session_id", flat=True).distinct()))


def differences(session_ids=None) -> list:
    """Where the counters (and the arrivals per minute: :class:`ArrivalDifference`) disagree with the
    record, for the given sessions (all with check-ins, assignments or counters)."""
    session_ids = _sessions(session_ids)
    out: list = [d for sid in session_ids for d in arrival_differences(sid)]
    for sid in session_ids:
        truth = recomputed(sid)
        stored = {(sid, u, c): (p, h, e) for u, c, p, h, e in AttendanceCount.objects.filter(session_id=sid)
                  .values_list("unit_id", "category", "people", "heads", "expected")}
        for key in sorted(set(truth) | set(stored), key=str):
            have, want = stored.get(key, (0, 0, 0)), truth.get(key, (0, 0, 0))
            if have != want:
                out.append(Difference(*key, stored=have, recomputed=want))
    return out


def repair(session_ids=None) -> list[Difference]:
    """Make the counters what the record says (the counters' table locked meanwhile); returns what differed."""
    with transaction.atomic():
        if connection.vendor == "postgresql":  # check-ins wait to raise a count until this is written
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {COUNTS}, {ARRIVALS} IN EXCLUSIVE MODE")
        found = differences(session_ids)
        _repair_arrivals([d for d in found if isinstance(d, ArrivalDifference)])
        counted = [d for d in found if isinstance(d, Difference)]
        for i in range(0, len(counted), 1000):  # one statement per thousand (a nation's first fill: ~43,000)
            chunk = counted[i:i + 1000]
            with connection.cursor() as cursor:
                cursor.execute(f"""
                    INSERT INTO {COUNTS} (session_id, unit_id, category, people, heads, expected)
                    VALUES {", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))}
                    ON CONFLICT (session_id, unit_id, category) DO UPDATE SET people = excluded.people,
                        heads = excluded.heads, expected = excluded.expected""",
                               [x for d in chunk for x in (d.session_id, d.unit_id, d.category, *d.recomputed)])
        AttendanceCount.objects.filter(people=0, heads=0, expected=0).delete()
    return found



def by_institution(session: Session, unit: Unit) -> dict[int, tuple[int, int]]:
    """(People present, expected) per unit of the subtree with counters: the board's institution rows, from
    the counters in one grouped query (was :func:`delegations.expected_by_institution` over every
    assignment of the subtree, recomputed on each tick of a board the roll-up had just summed)."""
    return {pk: (p or 0, e or 0) for pk, p, e in in_subtree(session, unit).values("unit_id")
            .annotate(p=Sum("people"), e=Sum("expected")).values_list("unit_id", "p", "e")}
