"""The check-in's two statements, in plain SQL: read what a list needs (people locked), then write it.

:func:`read_context` is one statement for a whole list: per item its session, its point (with the
hall's unit, whether the point serves the session, whether the actor operates it), the
person with their institution's path and assigned point, and the row a retry's client id already
recorded; the people's rows are locked in id order (``FOR UPDATE``) so the flags written next are
exact under concurrency. :func:`insert_rows` is one statement on PostgreSQL: the rows inserted with
``ON CONFLICT (session, client_id) DO NOTHING RETURNING``, their duplicate and other-point flags
completed from the table as it is once the locks are held, and the running counts
(:mod:`.counts`) raised for each person's first row, in the same statement. SQLite, which has no
writing CTE, runs the same in three statements (writers are serialised there anyway).
"""

import datetime
import uuid
from dataclasses import dataclass

from django.db import connection

from diemcau.core import prepared
from diemcau.points.access import OPERATES_POINT_SQL

from .models import AttendanceCount, CheckIn

T = CheckIn._meta.db_table
COUNTS = AttendanceCount._meta.db_table
# The columns a new row is written with, in order (``id`` comes back from RETURNING).
WRITTEN = ("session_id", "point_id", "person_id", "institution_id", "method", "category", "count", "device",
           "scanned_at", "received_at", "client_id", "recorded_by_id", "duplicate_person", "other_point",
           "scan_time_clamped", "claimed_scanned_at")
# What a retry is answered with (the first row's identity and flags).
PRIOR = ("id", "session_id", "point_id", "person_id", "client_id", "duplicate_person", "other_point")


@dataclass
class Context:
    """One item's context as the statement read it (ids, paths, flags); ``prior`` a retry's first row."""

    session: tuple  # id, conference_id, starts_at, ends_at
    point: tuple  # id, conference_id, hall_id, hall's unit id, hall's unit path
    serves: bool  # the point serves this session
    serves_any: bool  # the point is limited to some sessions
    operates: bool  # the actor operates the point (points.access.OPERATES_POINT_SQL)
    person: tuple  # id, unit_id, category, user_id, is_active, full_name
    unit_path: str
    assigned_point: int | None
    prior: tuple | None


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _cast(sql_type: str) -> str:
    return f"CAST(%s AS {sql_type})" if _pg() else "%s"


def _prep(field_name: str, value):
    return _field(field_name).get_db_prep_save(value, connection)


def read_context(actor_pk, items: list[tuple[int, int, int, int, uuid.UUID | None]]) -> dict[int, Context]:
    """Per item index, its context: ``items`` are (index, session_id, point_id, person_id, client_id).

    An item whose session, point or person does not exist has no entry. Call it in the transaction
    that writes: the people's rows stay locked until it ends.
    """
    if not items:
        return {}
    if _pg() and len(items) == 1:  # one item (a single check-in): plain values, no arrays to dump
        source = "SELECT %s::integer, %s::bigint, %s::bigint, %s::bigint, %s::uuid"
        params: list = list(items[0])
    elif _pg():  # one array per column: a short statement whatever the list's length (its parse is cached)
        source = ("SELECT * FROM unnest(%s::integer[], %s::bigint[], %s::bigint[], %s::bigint[], %s::uuid[])"
                  " AS v (idx, session_id, point_id, person_id, client_id)")
        params = [list(column) for column in zip(*items, strict=True)]
    else:
        source = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s)"] * len(items))
        params = []
        for idx, session_id, point_id, person_id, client_id in items:
            params += [idx, session_id, point_id, person_id,
                       None if client_id is None else _prep("client_id", client_id)]
    lock = " FOR UPDATE OF p" if connection.features.has_select_for_update_of else ""
    sql = f"""
        WITH v (idx, session_id, point_id, person_id, client_id) AS ({source})
        SELECT v.idx, s.id, s.conference_id, s.starts_at, s.ends_at,
               bp.id, bp.conference_id, bp.hall_id, h.unit_id, hu.path,
               EXISTS (SELECT 1 FROM points_bridgepoint_sessions ps
                       WHERE ps.bridgepoint_id = bp.id AND ps.session_id = s.id),
               EXISTS (SELECT 1 FROM points_bridgepoint_sessions ps WHERE ps.bridgepoint_id = bp.id),
               {OPERATES_POINT_SQL},
               p.id, p.unit_id, p.category, p.user_id, p.is_active, p.full_name, u.path,
               a.point_id, {", ".join(f"c.{c}" for c in PRIOR)}
        FROM v
        JOIN events_session s ON s.id = v.session_id
        JOIN points_bridgepoint bp ON bp.id = v.point_id
        JOIN points_hall h ON h.id = bp.hall_id
        JOIN orgs_unit hu ON hu.id = h.unit_id
        JOIN orgs_person p ON p.id = v.person_id
        JOIN orgs_unit u ON u.id = p.unit_id
        LEFT JOIN points_assignment a ON a.session_id = s.id AND a.institution_id = p.unit_id
        LEFT JOIN {T} c ON c.session_id = s.id AND c.client_id = v.client_id
        ORDER BY p.id{lock}"""
    params += [actor_pk, actor_pk]  # OPERATES_POINT_SQL's parameters, after the list's in the text
    with prepared.cursor() as cursor:  # its plan (most of its cost) made once per connection
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = _converters()
    out = {}
    for r in rows:
        prior = None if r[21] is None else converters(r[21:28])
        out[r[0]] = Context(session=(r[1], r[2], _dt(r[3]), _dt(r[4])), point=tuple(r[5:10]),
                            serves=bool(r[10]), serves_any=bool(r[11]), operates=bool(r[12]),
                            person=(r[13], r[14], r[15], r[16], bool(r[17]), r[18]), unit_path=r[19],
                            assigned_point=r[20], prior=prior)
    return out


def _dt(value):
    """A datetime as the backend returns it, made aware (SQLite gives text or a naive UTC datetime)."""
    if isinstance(value, str):
        value = CheckIn._meta.get_field("scanned_at").to_python(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value


def _converters():
    def convert(values):
        values = list(values)
        cid = values[4]
        values[4] = cid if isinstance(cid, uuid.UUID) else uuid.UUID(str(cid))
        values[5], values[6] = bool(values[5]), bool(values[6])
        return tuple(values)
    return convert


_TYPES: dict[str, list[str]] = {}


def _types() -> list[str]:
    """The written columns' SQL types on this connection's backend (read once per backend)."""
    if connection.vendor not in _TYPES:
        _TYPES[connection.vendor] = [_field(c).db_type(connection) for c in WRITTEN]
    return _TYPES[connection.vendor]


def _field(column: str):
    return CheckIn._meta.get_field(column.removesuffix("_id") if column.endswith("_id") and column != "client_id"
                                   else column)


def _values(rows: list[CheckIn], seen: list[bool]) -> tuple[str, list]:
    """The rows as the statement's source ``v``: on PostgreSQL one array per column (``unnest``), so
    the statement's text and its 17 parameters are the same whatever the list's length; on SQLite a
    VALUES list."""
    if _pg() and len(rows) == 1:  # a single check-in: plain values (psycopg dumps arrays slowly)
        casts = ", ".join(f"%s::{t}" for t in [*_types(), "boolean"])
        return f"SELECT {casts}", [getattr(rows[0], c) for c in WRITTEN] + [seen[0]]
    if _pg():
        arrays = [[getattr(r, c) for r in rows] for c in WRITTEN] + [list(seen)]
        casts = ", ".join(f"%s::{t}[]" for t in [*_types(), "boolean"])
        return f"SELECT * FROM unnest({casts})", arrays
    one = f"({', '.join(['%s'] * (len(WRITTEN) + 1))})"
    params: list = []
    for row, was_seen in zip(rows, seen, strict=True):
        params += [_prep(c, getattr(row, c)) for c in WRITTEN] + [was_seen]
    return "VALUES " + ", ".join([one] * len(rows)), params


def insert_rows(rows: list[CheckIn], seen: list[bool]) -> dict[uuid.UUID, tuple]:
    """Insert new rows (flags completed from the table), raise the counts; {client_id: (id, dup, other)}.

    ``seen[i]``: an earlier item of the same list already checks this person in (so row ``i`` is
    not their first). A row whose client id was taken meanwhile is not written and not returned.
    """
    source, params = _values(rows, seen)
    cols = ", ".join(WRITTEN)
    earlier = f"SELECT 1 FROM {T} e WHERE e.session_id = v.session_id AND e.person_id = v.person_id"
    f_cte = f"""
        v ({cols}, seen) AS ({source}),
        f AS (SELECT v.*,
                     v.person_id IS NOT NULL AND NOT v.seen AND NOT EXISTS ({earlier}) AS counted,
                     v.duplicate_person OR EXISTS ({earlier} AND e.point_id = v.point_id) AS dup,
                     v.other_point OR EXISTS ({earlier} AND e.point_id <> v.point_id) AS other
              FROM v)"""
    picked = ", ".join("dup" if c == "duplicate_person" else "other" if c == "other_point" else c for c in WRITTEN)
    insert = (f"INSERT INTO {T} ({cols}) SELECT {picked} FROM f WHERE true "
              "ON CONFLICT (session_id, client_id) DO NOTHING")
    with prepared.cursor() as cursor:
        if _pg():
            cursor.execute(f"""
                WITH {f_cte},
                ins AS ({insert} RETURNING id, session_id, client_id, duplicate_person, other_point),
                counted AS (
                    INSERT INTO {COUNTS} (session_id, unit_id, category, people, heads)
                    SELECT f.session_id, f.institution_id, f.category, count(*), 0
                    FROM f JOIN ins ON ins.session_id = f.session_id AND ins.client_id = f.client_id
                    WHERE f.counted GROUP BY f.session_id, f.institution_id, f.category
                    ON CONFLICT (session_id, unit_id, category)
                    DO UPDATE SET people = {COUNTS}.people + excluded.people)
                SELECT client_id, id, duplicate_person, other_point FROM ins""", params)
            return {r[0]: (r[1], bool(r[2]), bool(r[3])) for r in cursor.fetchall()}
        # SQLite: which rows count, then the insert, then the counts (one writer at a time here).
        cursor.execute(f"WITH {f_cte} SELECT client_id, counted FROM f", params)
        counted = {uuid.UUID(str(c)) for c, flag in cursor.fetchall() if flag}
        cursor.execute(f"WITH {f_cte} {insert} RETURNING client_id, id, duplicate_person, other_point", params)
        written = {uuid.UUID(str(r[0])): (r[1], bool(r[2]), bool(r[3])) for r in cursor.fetchall()}
    from .counts import add_people

    add_people([r for r in rows if r.client_id in counted and r.client_id in written])
    return written
