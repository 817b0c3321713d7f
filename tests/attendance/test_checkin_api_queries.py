"""A kiosk's check-in through the API with its device token: what the request costs in queries."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diemcau.points import access, devices
from tests.attendance.conftest import world  # noqa: F401  (fixture reused)
from tests.points.test_access import POINTS, TABLE, actors, halls  # noqa: F401  (fixtures reused)

pytestmark = pytest.mark.smoke
# The token, the context, the write; SQLite, without a writing CTE, writes in three statements.
AT_MOST = 3 if connection.vendor == "postgresql" else 5


def body(world, person):  # noqa: F811
    return {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk, "point_id": world["bavi_point"].pk,
            "person_id": person.pk, "method": "roll_call"}


def test_a_device_check_in_through_the_api_is_three_statements(client, world, organiser_bavi):  # noqa: F811
    _token, secret = devices.issue(organiser_bavi, world["bavi_point"], "Máy quét")
    auth = {"content_type": "application/json", "HTTP_AUTHORIZATION": f"Bearer {secret}"}
    p = world["people"]
    client.post("/api/attendance/checkins/", body(world, p["a_t1"]), **auth)  # warm caches of the process
    with CaptureQueriesContext(connection) as ctx:
        r = client.post("/api/attendance/checkins/", body(world, p["a_t2"]), **auth)
    assert r.status_code == 200 and r.json()["created"] is True
    sql = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(sql) <= AT_MOST, sql


@pytest.mark.parametrize("role", [r for r in TABLE if r not in ("system", "anonymous")])  # those in Python
def test_the_context_statement_says_who_operates_a_point_as_the_rule_does(role, actors, halls):  # noqa: F811
    """``points.access.OPERATES_POINT_SQL`` (folded into the check-in's context statement) against
    ``operates_point``, over the table of roles × points."""
    actor = actors[role]
    ids = {halls[name].pk: name for name in POINTS}
    sql = (f"SELECT bp.id, {access.OPERATES_POINT_SQL} FROM points_bridgepoint bp "
           "JOIN points_hall h ON h.id = bp.hall_id JOIN orgs_unit hu ON hu.id = h.unit_id WHERE bp.id IN ("
           + ", ".join(["%s"] * len(ids)) + ")")
    with connection.cursor() as cursor:
        cursor.execute(sql, [actor.pk, actor.pk, *ids])
        by_statement = {ids[pk] for pk, yes in cursor.fetchall() if yes}
    assert by_statement == TABLE[role] == {name for name in POINTS if access.operates_point(actor, halls[name])}
