"""An attendance world: the planning fixtures plus Ba Vì's points, assignments, people and delegations.

Hand-checked figures (morning session):
- TH Tây Đằng A (school_a) → Ba Vì point; rule: ≥1 management, ≥2 teachers, ≥1 staff → expects 4.
- MN Vân Hòa (school_b) → Ba Vì point; named: its principal and one teacher → expects 2.
- THPT Ba Vì → its own point, no delegation → expects its 80 assigned seats.
- THCS Phù Linh (school_c, Sóc Sơn) → Hà Nội point, no delegation → expects 1 (its one person).

Both sessions are moved to now (see the end of ``world``), since check-ins outside a session's window
are refused.
"""

import datetime

import pytest
from django.utils import timezone

from diemcau.attendance import services
from diemcau.attendance.models import Delegation
from diemcau.orgs.models import Person
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import services as points
from tests.points.conftest import bavi_institutions, planning  # noqa: F401  (fixtures reused)

MGMT, TEACHER, STAFF = Person.Category.MANAGEMENT, Person.Category.TEACHER, Person.Category.STAFF


@pytest.fixture
def world(planning, person_factory):  # noqa: F811
    t, morning = planning["t"], planning["morning"]
    conf = planning["conference"]
    bavi_point = points.create_point(SYSTEM, conf, planning["halls"]["bavi"], name="Điểm cầu Phòng GD&ĐT Ba Vì")
    thpt_point = points.create_point(SYSTEM, conf, planning["halls"]["thpt"], name="Điểm cầu THPT Ba Vì")
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
    points.assign(SYSTEM, morning, t["school_a"], bavi_point)
    points.assign(SYSTEM, morning, t["school_b"], bavi_point)
    points.assign(SYSTEM, morning, t["THPT_BAVI"], thpt_point)
    points.assign(SYSTEM, morning, t["school_c"], planning["hanoi_point"])
    services.name_delegation(SYSTEM, morning, t["school_a"], rule=Delegation.Rule.COMPOSITION,
                             min_management=1, min_teachers=2, min_staff=1)
    services.name_delegation(SYSTEM, morning, t["school_b"], rule=Delegation.Rule.NAMED,
                             members=[p["b_principal"], p["b_t1"]])
    # Check-ins are taken only inside a session's window: the seed's day (15/08/2023) is held now,
    # the morning under way and the afternoon's window already open.
    now = timezone.now()
    for session, start, end in ((morning, -1, 2), (planning["afternoon"], 1, 4)):
        type(session).objects.filter(pk=session.pk).update(starts_at=now + datetime.timedelta(hours=start),
                                                           ends_at=now + datetime.timedelta(hours=end))
        session.refresh_from_db()
    return {**planning, "bavi_point": bavi_point, "thpt_point": thpt_point, "people": p, "session": morning}
