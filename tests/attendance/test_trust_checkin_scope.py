"""Trust item 6: the check-in API names nobody outside the caller's scope; badges only for those who may print.

A kiosk's account (a point operator) sends a full batch of 500 check-ins for people it must not
know of: other provinces' teachers not invited, people who left, ids that never existed. Every
item is answered ``not_found`` with the same words, and no name of theirs is in the reply.
"""

import uuid

import pytest

from diemcau.attendance.models import CheckIn
from diemcau.orgs.models import Person, Role, RoleAssignment
from tests.attendance.badges_on_page import qr_codes

pytestmark = pytest.mark.smoke


def item(world, person_id, **kw):
    return {"client_id": str(uuid.uuid4()), "session_id": world["session"].pk,
            "point_id": world["bavi_point"].pk, "person_id": person_id, "method": "roll_call", **kw}


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def operator_of(make_user, world, name="kiosk"):
    point = world["bavi_point"]
    user = make_user(name, Role.POINT_OPERATOR, point.hall.unit)
    RoleAssignment.objects.filter(user=user).update(point_id=point.pk)
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def strangers(world):
    """People the Ba Vì kiosk must not learn of: Hồ Chí Minh City's (not invited) and Sóc Sơn's who left."""
    hcm, socson = world["t"]["school_d"], world["t"]["school_c"]
    rows = []
    for n in range(300):
        rows.append(Person(unit=hcm, code=f"HCM{n:05d}", full_name=f"Người Lạ Thành Phố {n:03d}",
                           category=Person.Category.TEACHER))
    for n in range(150):
        rows.append(Person(unit=socson, code=f"SS{n:05d}", full_name=f"Người Đã Nghỉ Sóc Sơn {n:03d}",
                           category=Person.Category.TEACHER, is_active=False))
    for p in rows:
        p.refresh_search_key()
    return Person.objects.bulk_create(rows)


def test_a_500_item_batch_outside_scope_names_nobody(client, world, make_user, strangers):
    client.force_login(operator_of(make_user, world))
    missing = max(Person.objects.values_list("pk", flat=True)) + 1000
    ids = [p.pk for p in strangers] + [missing + n for n in range(50)]
    assert len(ids) == 500
    response = post(client, "/api/attendance/checkins/batch/", {"items": [item(world, pk) for pk in ids]})
    body = response.content.decode()
    assert response.status_code == 400 and response.json()["code"] == "batch_refused"
    details = response.json()["details"]
    assert len(details) == 500
    # One answer for all: the people outside scope look exactly like ids that do not exist.
    answers = {(d["code"], d["message"]) for d in details}
    assert len(answers) == 1 and answers <= {("not_found", "Không tìm thấy."), ("not_found", "Not found.")}
    assert "Người Lạ" not in body and "Người Đã Nghỉ" not in body
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize("key", ["hcm_stranger", "socson_left"])
def test_a_single_check_in_outside_scope_is_404_like_an_absent_id(client, world, make_user, strangers, key):
    client.force_login(operator_of(make_user, world))
    person = strangers[0] if key == "hcm_stranger" else strangers[-1]
    response = post(client, "/api/attendance/checkins/", item(world, person.pk))
    absent = post(client, "/api/attendance/checkins/", item(world, 10**9))
    assert response.status_code == absent.status_code == 404
    assert response.json() == absent.json() == {"code": "not_found", "message": "Không tìm thấy."}
    assert person.full_name not in response.content.decode()


def test_people_of_the_point_and_in_scope_still_check_in(client, world, make_user):
    client.force_login(operator_of(make_user, world))
    p = world["people"]
    response = post(client, "/api/attendance/checkins/batch/",
                    {"items": [item(world, p["a_t1"].pk), item(world, p["b_t1"].pk)]})
    assert response.status_code == 200 and CheckIn.objects.count() == 2


# --- badges -------------------------------------------------------------------------------------
def badges_url(world, school="school_a"):
    return f"/attendance/sessions/{world['session'].pk}/institutions/{world['t'][school].pk}/badges/"


@pytest.fixture
def teacher(world, make_user):
    """Trần Văn Bình, teacher at Tây Đằng A, with his own account."""
    user = make_user("binh", Role.PARTICIPANT, world["t"]["school_a"])
    Person.objects.filter(pk=world["people"]["a_t1"].pk).update(user=user)
    return user


def test_a_teacher_sees_only_their_own_badge(client, world, teacher):
    client.force_login(teacher)
    response = client.get(badges_url(world))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Trần Văn Bình" in page and qr_codes(page) == 1
    for colleague in ("Lê Thị Cúc", "Phạm Đức Dũng", "Đỗ Văn Em", "Nguyễn Thị Hà"):
        assert colleague not in page


def test_a_teacher_of_another_school_gets_404(client, world, teacher):
    client.force_login(teacher)
    assert client.get(badges_url(world, "school_b")).status_code == 404


@pytest.mark.parametrize("role, unit, allowed", [
    (Role.PRINCIPAL, "school_a", True),
    (Role.UNIT_ORGANISER, "bavi", True),
    (Role.NATIONAL_ORGANISER, None, True),
    (Role.POINT_OPERATOR, "bavi", False),
    (Role.MODERATOR, "bavi", False),
    (Role.DIRECTOR, None, False),
    (Role.ANALYST, None, False),
    (Role.PARTICIPANT, "school_a", False),
])
def test_who_may_print_a_schools_badges(client, world, make_user, role, unit, allowed):
    client.force_login(make_user("u", role, world["t"][unit] if unit else None))
    response = client.get(badges_url(world))
    if allowed:
        assert response.status_code == 200 and qr_codes(response.content.decode()) == 5
    else:
        assert response.status_code == 404


def test_printing_a_badge_sheet_is_audited(client, world, organiser_bavi):
    from diemcau.core.models import AuditEntry

    client.force_login(organiser_bavi)
    assert client.get(badges_url(world)).status_code == 200
    entry = AuditEntry.objects.get(action="personal_data.exported")
    assert entry.actor == organiser_bavi and entry.after["export"] == "attendance.badges"
    assert entry.after["rows"] == 5 and entry.after["filters"]["session"] == world["session"].pk


def test_a_points_people_list_export_is_audited(client, world, make_user):
    from diemcau.core.models import AuditEntry

    operator = operator_of(make_user, world)
    client.force_login(operator)
    response = client.get(f"/attendance/sessions/{world['session'].pk}/points/{world['bavi_point'].pk}/people.xlsx")
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="personal_data.exported")
    assert entry.actor == operator and entry.after["export"] == "attendance.point_people"
    assert entry.after["rows"] == 7 and entry.after["contacts"] is False  # a point's list carries no contacts
