"""Passwords: everyone changes their own; an organiser resets the password of someone in their
subtree to a temporary one that must be changed at the next sign-in. Both are audited."""

import pytest
from django.test import Client

from diemcau.core.models import AuditEntry
from diemcau.orgs import accounts
from diemcau.orgs.models import Role

pytestmark = pytest.mark.smoke

PASSWORD = "Mat-khau-2023"


@pytest.fixture
def people(tree, make_user, person_factory, django_user_model):
    """Actors and targets around the test tree, by name."""
    u = {
        "national": make_user("bo", Role.NATIONAL_ORGANISER),
        "national2": make_user("bo2", Role.NATIONAL_ORGANISER),
        "org_hanoi": make_user("hanoi", Role.UNIT_ORGANISER, tree["hanoi"]),
        "org_hanoi2": make_user("hanoi2", Role.UNIT_ORGANISER, tree["hanoi"]),
        "org_bavi": make_user("bavi", Role.UNIT_ORGANISER, tree["bavi"]),
        "org_socson": make_user("socson", Role.UNIT_ORGANISER, tree["socson"]),
        "principal_a": make_user("hieutruong", Role.PRINCIPAL, tree["school_a"]),
        "moderator_bavi": make_user("kiemduyet", Role.MODERATOR, tree["bavi"]),
        "director": make_user("daodien", Role.DIRECTOR),
        "teacher_a": make_user("giaovien"),
        "teacher_a_and_hcm": make_user("giaovien2", Role.PARTICIPANT, tree["school_d"]),
        "no_anchor": make_user("khongdonvi"),
        "superuser": django_user_model.objects.create_superuser("quantri", password=PASSWORD),
        "staff_a": django_user_model.objects.create_user("hotro", password=PASSWORD, is_staff=True),
    }
    for key in ("teacher_a", "teacher_a_and_hcm", "staff_a"):
        person = person_factory(tree["school_a"], name=f"Người {key}")
        person.user = u[key]
        person.save()
    return u


# Who may reset whose password (1 = may). Actors are rows; targets are columns. Nobody resets their
# own (org_bavi × org_bavi, org_socson × org_socson): they change it on their own page.
TARGETS = ["teacher_a", "principal_a", "moderator_bavi", "org_bavi", "org_socson", "org_hanoi2",
           "teacher_a_and_hcm", "director", "no_anchor", "national2", "superuser", "staff_a"]
TABLE = {
    #                 teacher principal moderator org_bavi socson hanoi2 a+hcm director none national2 super staff
    "national":       [1,      1,        1,        1,       1,     1,     1,    1,       1,   0,        0,    0],
    "org_hanoi":      [1,      1,        1,        1,       1,     1,     0,    0,       0,   0,        0,    0],
    "org_bavi":       [1,      1,        1,        0,       0,     0,     0,    0,       0,   0,        0,    0],
    "org_socson":     [0,      0,        0,        0,       0,     0,     0,    0,       0,   0,        0,    0],
    "principal_a":    [0,      0,        0,        0,       0,     0,     0,    0,       0,   0,        0,    0],
    "moderator_bavi": [0,      0,        0,        0,       0,     0,     0,    0,       0,   0,        0,    0],
    "director":       [0,      0,        0,        0,       0,     0,     0,    0,       0,   0,        0,    0],
    "teacher_a":      [0,      0,        0,        0,       0,     0,     0,    0,       0,   0,        0,    0],
}


@pytest.mark.parametrize("actor", list(TABLE))
def test_who_may_reset_whose_password(people, actor):
    got = [int(accounts.may_reset_password(people[actor], people[t])) for t in TARGETS]
    want = TABLE[actor]
    assert dict(zip(TARGETS, got, strict=True)) == dict(zip(TARGETS, want, strict=True))


def test_nobody_resets_their_own_password_here(people):
    for key in ("national", "org_hanoi", "org_bavi"):
        assert not accounts.may_reset_password(people[key], people[key])


def _signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def _sign_in(username, password):
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return client, response


# --- changing one's own password --------------------------------------------------------------
def test_everyone_can_change_their_password(people):
    client, _ = _sign_in("giaovien", PASSWORD)
    page = client.get("/accounts/password/")
    assert page.status_code == 200 and "Đổi mật khẩu" in page.content.decode()
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "Cay-phuong-do-7",
                                                   "new_password2": "Cay-phuong-do-7"})
    assert response.status_code == 302
    # Still signed in on this browser; the new password works, the old one does not.
    assert client.get("/").status_code == 200
    assert _sign_in("giaovien", "Cay-phuong-do-7")[1].status_code == 302
    assert _sign_in("giaovien", PASSWORD)[1].status_code == 200
    entry = AuditEntry.objects.get(action="account.password_changed")
    assert entry.actor == people["teacher_a"]
    assert "Cay-phuong-do-7" not in str(entry.after) and PASSWORD not in str(entry.after)


def test_a_weak_or_wrong_password_is_refused_in_vietnamese(people):
    client = _signed_in(people["teacher_a"])
    html = client.post("/accounts/password/", {"old_password": "sai", "new_password1": "Cay-phuong-do-7",
                                               "new_password2": "Cay-phuong-do-7"}).content.decode()
    assert "Mật khẩu cũ không chính xác" in html
    html = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "12345678",
                                               "new_password2": "12345678"}).content.decode()
    assert "quá phổ biến" in html or "toàn là số" in html
    assert not AuditEntry.objects.filter(action="account.password_changed").exists()


def test_the_menu_links_to_the_password_pages(people):
    html = _signed_in(people["teacher_a"]).get("/").content.decode()
    assert 'href="/accounts/password/"' in html and 'href="/accounts/reset/"' not in html
    html = _signed_in(people["org_bavi"]).get("/").content.decode()
    assert 'href="/accounts/password/"' in html and 'href="/accounts/reset/"' in html


# --- reset by an organiser --------------------------------------------------------------------
def test_an_organiser_resets_a_password_and_it_must_be_changed(people):
    organiser = _signed_in(people["org_bavi"])
    listing = organiser.get("/accounts/reset/", {"q": "giaovien"}).content.decode()
    assert "giaovien" in listing
    response = organiser.post(f"/accounts/reset/{people['teacher_a'].pk}/")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    temporary = response.context["temporary_password"]
    assert temporary in response.content.decode() and len(temporary) >= 12
    entry = AuditEntry.objects.get(action="account.password_reset")
    assert entry.actor == people["org_bavi"] and entry.object_id == str(people["teacher_a"].pk)
    assert temporary not in str(entry.after) and entry.unit_path  # in the organiser's audit log

    # The teacher signs in with it and is sent to change it before anything else.
    teacher, response = _sign_in("giaovien", temporary)
    assert response.status_code == 302
    for url in ("/", "/orgs/", "/events/"):
        moved = teacher.get(url)
        assert moved.status_code == 302 and moved["Location"] == "/accounts/password/", url
    assert teacher.get("/api/orgs/units/").status_code == 403
    response = teacher.post("/accounts/password/", {"old_password": temporary, "new_password1": "Cay-phuong-do-7",
                                                    "new_password2": "Cay-phuong-do-7"})
    assert response.status_code == 302
    assert teacher.get("/").status_code == 200
    assert not accounts.must_change_password(people["teacher_a"])
    # Another browser, later: no more detour.
    again, _ = _sign_in("giaovien", "Cay-phuong-do-7")
    assert again.get("/").status_code == 200


def test_a_reset_signs_out_the_accounts_other_sessions(people):
    teacher = _signed_in(people["teacher_a"])
    assert teacher.get("/").status_code == 200
    accounts.reset_password(people["org_bavi"], people["teacher_a"])
    assert teacher.get("/").status_code == 302  # to the sign-in page


@pytest.mark.parametrize("target", ["org_socson", "national2", "superuser", "staff_a", "teacher_a_and_hcm"])
def test_an_organiser_cannot_reset_outside_the_rule(people, target):
    organiser = _signed_in(people["org_bavi"])
    before = people[target].password
    assert organiser.post(f"/accounts/reset/{people[target].pk}/").status_code == 404
    people[target].refresh_from_db()
    assert people[target].password == before
    assert str(people[target].username) not in organiser.get("/accounts/reset/").content.decode()


def test_participants_have_no_reset_page(people):
    client = _signed_in(people["teacher_a"])
    assert client.get("/accounts/reset/").status_code == 403
    assert client.post(f"/accounts/reset/{people['teacher_a_and_hcm'].pk}/").status_code in (403, 404)


def test_a_reset_needs_post_and_csrf(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["org_bavi"])
    assert client.get(f"/accounts/reset/{people['teacher_a'].pk}/").status_code == 405
    assert client.post(f"/accounts/reset/{people['teacher_a'].pk}/").status_code == 403
