"""The tree's pages: every view enforces the user's scope; text is escaped; search folds."""

import pytest

from diemcau.orgs import services
from diemcau.orgs.scoping import SYSTEM

pytestmark = pytest.mark.smoke


@pytest.fixture
def bavi_client(client, organiser_bavi):
    client.force_login(organiser_bavi)
    return client


def test_tree_starts_at_the_users_units(bavi_client, tree):
    html = bavi_client.get("/orgs/").content.decode()
    assert "Phòng GD&amp;ĐT huyện Ba Vì" in html
    assert "Sở GD&amp;ĐT Hà Nội" not in html


@pytest.mark.parametrize("key", ["socson", "school_c", "hanoi", "ministry", "school_d"])
def test_units_outside_the_scope_are_not_found(bavi_client, tree, key):
    pk = tree[key].pk
    for url in (f"/orgs/units/{pk}/", f"/orgs/children/{pk}/", f"/orgs/units/{pk}/people/"):
        assert bavi_client.get(url).status_code == 404, url


def test_children_fragment(bavi_client, tree):
    html = bavi_client.get(f"/orgs/children/{tree['bavi'].pk}/").content.decode()
    assert "Trường Tiểu học Tây Đằng A" in html and "Trường Mầm non Vân Hòa" in html


def test_search_folds_and_stays_in_scope(bavi_client, tree):
    html = bavi_client.get("/orgs/search/", {"q": "TAY DANG"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Trường Tiểu học Tây Đằng A" in html
    html = bavi_client.get("/orgs/search/", {"q": "phu linh"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Phù Linh" not in html  # Sóc Sơn's school exists but is outside Ba Vì


def test_unit_page_and_people(bavi_client, tree, person_factory):
    person_factory(tree["school_a"], "Nguyễn Thị Hoa")
    person_factory(tree["school_c"], "Trần Văn Bình")  # Sóc Sơn: must not show
    html = bavi_client.get(f"/orgs/units/{tree['school_a'].pk}/").content.decode()
    assert "Tây Đằng A" in html and "TH_TAYDANG_A" in html
    html = bavi_client.get(f"/orgs/units/{tree['bavi'].pk}/people/", {"q": "hoa"}).content.decode()
    assert "Nguyễn Thị Hoa" in html and "Trần Văn Bình" not in html


def test_names_are_escaped_everywhere(bavi_client, tree):
    # Services refuse markup, but a name written before that rule (or by SQL) must still be inert.
    from diemcau.orgs.models import Unit

    Unit.objects.filter(pk=tree["school_b"].pk).update(name="<script>alert(1)</script>")
    for url in (f"/orgs/children/{tree['bavi'].pk}/", f"/orgs/units/{tree['bavi'].pk}/"):
        html = bavi_client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;" in html


def test_audit_log_is_scoped(bavi_client, tree, national):
    services.update_unit(SYSTEM, tree["school_c"], short_name="Sóc Sơn change")
    services.update_unit(SYSTEM, tree["school_a"], short_name="Ba Vì change")
    html = bavi_client.get("/audit/").content.decode()
    assert "Tây Đằng A" in html
    assert "Phù Linh" not in html


def test_participant_cannot_open_the_audit_log(client, tree, make_user):
    from diemcau.orgs.models import Role

    user = make_user("gv", Role.PARTICIPANT, tree["school_a"])
    client.force_login(user)
    assert client.get("/audit/").status_code == 403
