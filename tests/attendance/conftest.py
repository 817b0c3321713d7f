"""An attendance world: the planning fixtures plus Ba Vì's points, assignments, people and delegations.

Hand-checked figures (morning session):
- TH Tây Đằng A (school_a) → Ba Vì point; rule: ≥1 management, ≥2 teachers, ≥1 staff → expects 4.
- MN Vân Hòa (school_b) → Ba Vì point; named: its principal and one teacher → expects 2.
- THPT Ba Vì → its own point, no delegation → expects its 80 assigned seats.
- THCS Phù Linh (school_c, Sóc Sơn) → Hà Nội point, no delegation → expects 1 (its one person).

``morning_so_far`` adds Ba Vì's first check-ins and headcounts (figures in tests/attendance/test_rollup.py).

Both sessions are moved to now (see the end of ``world``), since check-ins outside a session's window
are refused.
"""

import datetime
import uuid

import pytest
from django.utils import timezone

from diemcau.attendance import checkin, delegations, headcounts
from diemcau.attendance.models import CheckIn, Delegation
from diemcau.orgs.models import Person
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import assignment, bridge_points
from tests.points.conftest import bavi_institutions, planning  # noqa: F401  (fixtures reused)

MGMT, TEACHER, STAFF = Person.Category.MANAGEMENT, Person.Category.TEACHER, Person.Category.STAFF


@pytest.fixture
def world(planning, person_factory):  # noqa: F811
    t, morning = planning["t"], planning["morning"]
    conf = planning["conference"]
    bavi_point = bridge_points.create_point(SYSTEM, conf, planning["halls"]["bavi"], name="Điểm cầu Phòng GD&ĐT Ba Vì")
    thpt_point = bridge_points.create_point(SYSTEM, conf, planning["halls"]["thpt"], name="Điểm cầu THPT Ba Vì")
    p = {
        "a_principal": person_factory(t["school_a"], "Nguyễn Thị Hà", MGMT),
        "a_t1": person_factory(t["school_a"], "Trần Văn Bình", TEACHER),
        "a_t2": person_factory(t["school_a"], "Lê Thị Cúc", TEACHER),
        "a_t3": person_factory(t["school_a"], "Phạm Đức Dũng", TEACHER),
        "a_staff": person_factory(t["school_a"], "Đỗ Văn Em", STAFF),
        "b_principal": person_factory(t["school_b"], "Vũ Thị Giang", MGMT),
        "b_t1": person_factory(t["school_b"], "Hoàng Văn Hải", TEACHER),
        "c_t1": person_factory(t["school_c"], "Ngô Thị Lan", TEACHER),
        "thpt_t1": person_factory(t["THPT_BAVI"], "Bùi Văn Khánh", TEACHER),
    }
    assignment.assign(SYSTEM, morning, t["school_a"], bavi_point)
    assignment.assign(SYSTEM, morning, t["school_b"], bavi_point)
    assignment.assign(SYSTEM, morning, t["THPT_BAVI"], thpt_point)
    assignment.assign(SYSTEM, morning, t["school_c"], planning["hanoi_point"])
    delegations.name_delegation(SYSTEM, morning, t["school_a"], rule=Delegation.Rule.COMPOSITION,
                                min_management=1, min_teachers=2, min_staff=1)
    delegations.name_delegation(SYSTEM, morning, t["school_b"], rule=Delegation.Rule.NAMED,
                                members=[p["b_principal"], p["b_t1"]])
    # Check-ins are taken only inside a session's window: the seed's day (15/08/2023) is held now,
    # the morning under way and the afternoon's window already open.
    now = timezone.now()
    for session, start, end in ((morning, -1, 2), (planning["afternoon"], 1, 4)):
        type(session).objects.filter(pk=session.pk).update(starts_at=now + datetime.timedelta(hours=start),
                                                           ends_at=now + datetime.timedelta(hours=end))
        session.refresh_from_db()
    return {**planning, "bavi_point": bavi_point, "thpt_point": thpt_point, "people": p, "session": morning}


def cid():
    return uuid.uuid4()


def roll_call(world, person, actor=SYSTEM, point=None, client_id=None, **kw):
    """One roll-call check-in at Ba Vì's point (or ``point``), by the system unless ``actor``."""
    return checkin.check_in(actor, session=world["session"], point=point or world["bavi_point"], person=person,
                            method=CheckIn.Method.ROLL_CALL, client_id=client_id or cid(), **kw)


def headcount(world, counts, client_id=None, point=None):
    """A headcount at THPT Ba Vì's point (or ``point``), by the system."""
    return headcounts.record_headcount(SYSTEM, session=world["session"], point=point or world["thpt_point"],
                                       counts_by_category=counts, client_id=client_id or cid())


@pytest.fixture
def morning_so_far(world):
    """Ba Vì's morning, checked by hand: see the figures in test_rollup.py."""
    p = world["people"]
    for key in ("a_principal", "a_t1", "a_t1", "a_t2", "b_principal"):
        roll_call(world, p[key])
    roll_call(world, p["b_principal"], point=world["thpt_point"])  # flagged, not counted twice
    headcount(world, {TEACHER: 10, STAFF: 2})
    headcount(world, {TEACHER: 12, STAFF: 3})  # supersedes the first
    return world
