"""The lean write path: one check-in, or a batch, is two statements on PostgreSQL (read the context, write)."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diemcau.attendance import checkin
from diemcau.attendance.models import CheckIn
from diemcau.orgs.models import Person, Role, RoleAssignment

pytestmark = pytest.mark.smoke
# PostgreSQL writes rows and counts in one statement; SQLite, without a writing CTE, in three.
STATEMENTS = 2 if connection.vendor == "postgresql" else 4


def statements(ctx) -> list[str]:
    """The statements run, without the savepoints the test's own transaction adds around atomic blocks."""
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


@pytest.fixture
def kiosk(world, make_user):
    """The Ba Vì point's operator, named for the point (as a kiosk's account is)."""
    user = make_user("kiosk_bavi", Role.POINT_OPERATOR, world["bavi_point"].hall.unit)
    RoleAssignment.objects.filter(user=user).update(point_id=world["bavi_point"].pk)
    return type(user).objects.get(pk=user.pk)


def item(world, person, **kw):
    return checkin.CheckInItem(client_id=uuid.uuid4(), session_id=world["session"].pk,
                               point_id=world["bavi_point"].pk, person_id=person.pk, **kw)


def test_a_kiosk_check_in_is_two_statements_and_a_retry_one(world, kiosk):
    first = item(world, world["people"]["a_t1"])
    with CaptureQueriesContext(connection) as ctx:
        result = checkin.check_in_one(kiosk, first)
    assert result.created and len(statements(ctx)) == STATEMENTS, statements(ctx)
    with CaptureQueriesContext(connection) as ctx:
        again = checkin.check_in_one(kiosk, first)
    assert not again.created and again.checkin.pk == result.checkin.pk and len(statements(ctx)) == 1


def test_a_batch_of_fifty_is_two_statements(world, kiosk):
    school = world["t"]["school_a"]
    people = Person.objects.bulk_create([Person(unit=school, code=f"Q{n:04d}", full_name=f"Người {n}",
                                                category=Person.Category.TEACHER) for n in range(50)])
    with CaptureQueriesContext(connection) as ctx:
        results = checkin.check_in_batch(kiosk, [item(world, p) for p in people])
    assert all(r.created for r in results) and len(statements(ctx)) == STATEMENTS, statements(ctx)
    assert CheckIn.objects.filter(person__in=people).count() == 50
