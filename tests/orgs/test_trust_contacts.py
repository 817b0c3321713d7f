"""Trust item 5: phones and e-mails only for organisers of the subtree and the head of the institution;
every export of personal data in the audit log.

One table: roles × {own unit, subtree, outside} × {page, API, export}. "Contacts" means the phone and
e-mail columns are there with the data; without them the column is absent, not blank.
"""

import io

import openpyxl
import pytest

from diemcau.core.models import AuditEntry
from diemcau.orgs import services
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM

pytestmark = pytest.mark.smoke

PHONE_A, MAIL_A = "0912000001", "cuc.lt@tayDangA.edu.vn"
PHONE_C = "0912000003"


@pytest.fixture
def people(tree):
    a = services.create_person(SYSTEM, unit=tree["school_a"], code="GV_A1", full_name="Lê Thị Cúc",
                               category="teacher", phone=PHONE_A, email=MAIL_A)
    a2 = services.create_person(SYSTEM, unit=tree["school_a"], code="GV_A2", full_name="Trần Văn Bình",
                                category="teacher", phone="0912000002")
    c = services.create_person(SYSTEM, unit=tree["school_c"], code="GV_C1", full_name="Ngô Thị Lan",
                               category="teacher", phone=PHONE_C)
    return {"a": a, "a2": a2, "c": c}


# role, the unit it is held on, then for each place of the tree: what the user gets there.
# "contacts": the list with phones and e-mails; "names": the list without them; None: 404.
ROLES = {
    "national": (Role.NATIONAL_ORGANISER, None, {"own": "contacts", "subtree": "contacts", "outside": "contacts"}),
    "organiser": (Role.UNIT_ORGANISER, "bavi", {"own": "contacts", "subtree": "contacts", "outside": None}),
    "principal": (Role.PRINCIPAL, "school_a", {"own": "contacts", "subtree": "contacts", "outside": None}),
    "teacher": (Role.PARTICIPANT, "school_a", {"own": "names", "subtree": "names", "outside": None}),
    "operator": (Role.POINT_OPERATOR, "bavi", {"own": "names", "subtree": "names", "outside": None}),
    "moderator": (Role.MODERATOR, "bavi", {"own": "names", "subtree": "names", "outside": None}),
    "director": (Role.DIRECTOR, None, {"own": "names", "subtree": "names", "outside": "names"}),
    "analyst": (Role.ANALYST, None, {"own": "names", "subtree": "names", "outside": "names"}),
}
# For each role, the unit that is its own, one below it (or itself for a school) and one outside.
PLACES = {
    "own": lambda role_unit: role_unit or "bavi",
    "subtree": lambda role_unit: "school_a",
    "outside": lambda role_unit: "socson",
}


def login(client, make_user, tree, key):
    role, unit, _ = ROLES[key]
    user = make_user(key, role, tree[unit] if unit else None)
    client.force_login(user)
    return user


CASES = [(key, place) for key in ROLES for place in PLACES]


@pytest.mark.parametrize("key, place", CASES)
def test_people_page(client, make_user, tree, people, key, place):
    login(client, make_user, tree, key)
    unit = tree[PLACES[place](ROLES[key][1])]
    response = client.get(f"/orgs/units/{unit.pk}/people/")
    expected = ROLES[key][2][place]
    if expected is None:
        assert response.status_code == 404
        return
    html = response.content.decode()
    assert response.status_code == 200 and ("Lê Thị Cúc" in html or "Ngô Thị Lan" in html)
    phone = PHONE_C if place == "outside" else PHONE_A
    if expected == "contacts":
        assert phone in html and "Điện thoại" in html
        if place != "outside":
            assert MAIL_A in html
    else:
        assert phone not in html and MAIL_A not in html
        assert "Điện thoại" not in html and "Email" not in html  # the columns are gone, not blank


@pytest.mark.parametrize("key, place", CASES)
def test_people_api(client, make_user, tree, people, key, place):
    login(client, make_user, tree, key)
    unit = tree[PLACES[place](ROLES[key][1])]
    response = client.get(f"/api/orgs/units/{unit.pk}/people/")
    expected = ROLES[key][2][place]
    if expected is None:
        assert response.status_code == 404
        return
    assert response.status_code == 200 and response.json()
    body = response.content.decode()
    assert PHONE_A not in body and PHONE_C not in body and MAIL_A not in body  # the API carries no contacts
    assert all("phone" not in row and "email" not in row for row in response.json())


def _sheet(content: bytes) -> list[list]:
    ws = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    return [[c for c in row] for row in ws.iter_rows(values_only=True)]


@pytest.mark.parametrize("key, place", CASES)
def test_people_export(client, make_user, tree, people, key, place):
    user = login(client, make_user, tree, key)
    unit = tree[PLACES[place](ROLES[key][1])]
    response = client.get(f"/orgs/units/{unit.pk}/people/export/")
    expected = ROLES[key][2][place]
    if expected is None:
        assert response.status_code == 404
        return
    if expected == "names":  # no whole-district lists for those who need none; no contacts anyway
        assert response.status_code == 403
        assert not AuditEntry.objects.filter(action="personal_data.exported").exists()
        return
    assert response.status_code == 200
    cells = [str(c) for row in _sheet(response.content) for c in row if c is not None]
    assert (PHONE_C if place == "outside" else PHONE_A) in cells
    entry = AuditEntry.objects.get(action="personal_data.exported")
    rows = 1 if place == "outside" else 2
    assert entry.actor == user and entry.after["export"] == "orgs.people" and entry.after["rows"] == rows
    assert entry.after["contacts"] is True and entry.unit_path == unit.path
    assert PHONE_A not in str(entry.after) and "Cúc" not in str(entry.after)  # no personal data in the log


def test_export_filters_are_logged(client, organiser_bavi, tree, people):
    client.force_login(organiser_bavi)
    response = client.get(f"/orgs/units/{tree['bavi'].pk}/people/export/", {"q": "cuc", "category": "teacher"})
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="personal_data.exported")
    assert entry.after["filters"] == {"q": "cuc", "category": "teacher"} and entry.after["rows"] == 1


def test_the_rule_is_one_function(tree, make_user):
    principal = make_user("ht", Role.PRINCIPAL, tree["school_a"])
    organiser = make_user("pgd", Role.UNIT_ORGANISER, tree["bavi"])
    teacher = make_user("gv", Role.PARTICIPANT, tree["school_a"])
    assert services.can_see_contacts(principal, tree["school_a"])
    assert not services.can_see_contacts(principal, tree["school_b"])
    assert services.can_see_contacts(organiser, tree["school_b"]) and not services.can_see_contacts(
        organiser, tree["school_c"])
    assert not services.can_see_contacts(teacher, tree["school_a"])
