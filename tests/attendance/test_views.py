"""The roll-call screen: search without diacritics, one-click check-in, whole delegation, scope."""

import uuid

import pytest
from django.utils.html import escape

from diemcau.attendance.models import CheckIn, Delegation
from diemcau.orgs.models import Role, RoleAssignment
from tests.attendance.badges_on_page import qr_codes

pytestmark = pytest.mark.smoke


def url(world, name=""):
    base = f"/attendance/sessions/{world['session'].pk}/points/{world['bavi_point'].pk}/roll-call/"
    return base + name


def test_search_ignores_diacritics_and_stays_at_the_point(client, world, organiser_bavi):
    client.force_login(organiser_bavi)
    page = client.get(url(world))
    assert page.status_code == 200
    assert "Trần Văn Bình" in page.content.decode() and "Ngô Thị Lan" not in page.content.decode()
    found = client.get(url(world, "people/"), {"q": "tran van binh"}).content.decode()
    assert "Trần Văn Bình" in found and "Lê Thị Cúc" not in found
    assert "Ngô Thị Lan" not in client.get(url(world, "people/"), {"q": "ngo thi lan"}).content.decode()


def test_one_click_check_in_is_idempotent(client, world, organiser_bavi):
    client.force_login(organiser_bavi)
    person, client_id = world["people"]["a_t1"], str(uuid.uuid4())
    for _ in range(2):  # a double click sends the same client id
        response = client.post(url(world, "check-in/"), {"person": person.pk, "client_id": client_id},
                               HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and response["HX-Trigger"] == "checked-in"
    assert CheckIn.objects.filter(person=person).count() == 1
    counts = client.get(url(world, "counts/")).content.decode()
    assert "1" in counts and "6" in counts  # 1 of 4 + 2 expected at the Ba Vì point


def test_whole_delegation_present(client, world, organiser_bavi):
    client.force_login(organiser_bavi)
    response = client.post(url(world, "delegation/"), {"institution": world["t"]["school_b"].pk,
                                                       "client_id": str(uuid.uuid4())})
    assert response.status_code == 302
    assert CheckIn.objects.filter(institution=world["t"]["school_b"]).count() == 2
    client.post(url(world, "delegation/"), {"institution": world["t"]["school_a"].pk, "client_id": str(uuid.uuid4())})
    assert CheckIn.objects.filter(institution=world["t"]["school_a"]).count() == 0  # nobody named


def test_another_district_gets_404(client, world, make_user):
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, world["t"]["socson"]))
    assert client.get(url(world)).status_code == 404
    response = client.post(url(world, "check-in/"), {"person": world["people"]["a_t1"].pk,
                                                     "client_id": str(uuid.uuid4())})
    assert response.status_code == 404 and CheckIn.objects.count() == 0


def test_session_lists_the_points_the_user_operates(client, world, organiser_bavi, make_user):
    client.force_login(organiser_bavi)
    page = client.get(f"/attendance/sessions/{world['session'].pk}/").content.decode()
    assert escape(world["bavi_point"].name) in page and escape(world["thpt_point"].name) in page
    assert escape(world["hanoi_point"].name) not in page
    operator = make_user("kythuat")
    RoleAssignment.objects.create(user=operator, role=Role.POINT_OPERATOR, unit=world["t"]["THPT_BAVI"],
                                  point_id=world["thpt_point"].pk)
    client.force_login(operator)
    page = client.get(f"/attendance/sessions/{world['session'].pk}/").content.decode()
    assert escape(world["thpt_point"].name) in page and escape(world["bavi_point"].name) not in page
    assert client.get(url(world)).status_code == 404


def test_school_badges_hold_a_signed_qr_per_person(client, world, organiser_bavi, make_user, monkeypatch):
    from django.core import signing

    from diemcau.attendance import badges

    tokens, real = [], badges.make_badge_token
    monkeypatch.setattr(badges, "make_badge_token", lambda *a, **k: tokens.append(real(*a, **k)) or tokens[-1])
    client.force_login(organiser_bavi)
    school_b, p = world["t"]["school_b"], world["people"]
    badges_url = f"/attendance/sessions/{world['session'].pk}/institutions/{school_b.pk}/badges/"
    page = client.get(badges_url).content.decode()
    assert qr_codes(page) == 2 and "Vũ Thị Giang" in page  # the two named members
    payloads = [signing.loads(t, salt=badges.BADGE_SALT) for t in tokens]
    assert {x["c"] for x in payloads} == {p["b_principal"].code, p["b_t1"].code}
    assert {(x["s"], x["p"]) for x in payloads} == {(world["session"].pk, world["bavi_point"].pk)}
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, world["t"]["socson"]))
    assert client.get(badges_url).status_code == 404


def test_the_principal_names_the_delegation(client, world, make_user):
    t, p = world["t"], world["people"]
    client.force_login(make_user("hieutruong", Role.PRINCIPAL, t["school_a"]))
    page_url = f"/attendance/sessions/{world['session'].pk}/institutions/{t['school_a'].pk}/delegation/"
    assert "Đỗ Văn Em" in client.get(page_url).content.decode()
    response = client.post(page_url, {"rule": "composition", "min_management": "1", "min_teachers": "2",
                                      "min_staff": "1", "members": [p["a_principal"].pk, p["a_staff"].pk]})
    assert response.status_code == 302
    d = Delegation.objects.get(session=world["session"], institution=t["school_a"])
    assert set(d.members.values_list("person_id", flat=True)) == {p["a_principal"].pk, p["a_staff"].pk}
    response = client.post(page_url, {"rule": "named"})  # nobody named: refused, page shown again
    assert response.status_code == 200 and d.members.count() == 2
    other = f"/attendance/sessions/{world['session'].pk}/institutions/{t['school_b'].pk}/delegation/"
    assert client.get(other).status_code == 404


def test_headcount_on_the_roll_call_screen(client, world, organiser_bavi, make_user, tree):
    client.force_login(organiser_bavi)
    form = {"count_management": "1", "count_teacher": "3", "count_staff": "0", "client_id": str(uuid.uuid4())}
    for _ in range(2):  # a double submit is one headcount
        response = client.post(url(world, "headcount/"), form, follow=True)
        assert response.status_code == 200
    rows = CheckIn.objects.filter(point=world["bavi_point"], method=CheckIn.Method.HEADCOUNT)
    assert sorted((r.category, r.count) for r in rows) == [("management", 1), ("staff", 0), ("teacher", 3)]
    page = client.get(url(world)).content.decode()
    assert 'name="count_teacher" value="3"' in page  # the latest headcount is shown
    assert page.count('id="headcount"') == 1 and "headcount" not in page.split("</title>")[0]

    # Bad input: more than expected at the point, or not a number: a message, nothing written.
    too_many = client.post(url(world, "headcount/"), {**form, "count_teacher": "500", "client_id": str(uuid.uuid4())},
                           follow=True).content.decode()
    assert "501" in too_many and "msg error" in too_many and rows.count() == 3
    not_a_number = client.post(url(world, "headcount/"), {**form, "count_staff": "=1+1"}, follow=True)
    assert not_a_number.status_code == 200 and rows.count() == 3

    # Another district's organiser cannot even see the point.
    client.force_login(make_user("socson_hc", Role.UNIT_ORGANISER, tree["socson"]))
    assert client.post(url(world, "headcount/"), {**form, "client_id": str(uuid.uuid4())}).status_code == 404
    assert rows.count() == 3
