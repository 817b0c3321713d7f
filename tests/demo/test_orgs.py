"""The demo world (the seed's Ba Vì) and the national generator: counts, determinism, accounts, scope."""

import unicodedata
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count

from diemcau.core.acting import system_scope
from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry
from diemcau.core.vntext import fold
from diemcau.demo import org_reference, org_tree
from diemcau.demo import orgs as demo
from diemcau.orgs import admin_data, services
from diemcau.orgs.models import Person, Role, Unit, path_segment
from diemcau.orgs.scoping import build_scope

pytestmark = pytest.mark.smoke

SEED = demo.SEED
BA_VI_COMMUNES = {
    "Ba Trại", "Ba Vì", "Cẩm Lĩnh", "Cam Thượng", "Châu Sơn", "Chu Minh", "Cổ Đô", "Đông Quang", "Đồng Thái",
    "Khánh Thượng", "Minh Châu", "Minh Quang", "Phong Vân", "Phú Châu", "Phú Cường", "Phú Đông", "Phú Phương",
    "Phú Sơn", "Sơn Đà", "Tản Hồng", "Tản Lĩnh", "Thái Hòa", "Thuần Mỹ", "Thụy An", "Tiên Phong", "Tòng Bạt",
    "Vân Hòa", "Vạn Thắng", "Vật Lại", "Yên Bài", "Tây Đằng",
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The demo world, loaded once for the module and removed afterwards (with its audit entries).

    Module-scoped, so it runs before the suite's per-test ``system_actor``: it opens the system
    scope itself, as the ``load_demo`` command does.
    """
    with django_db_blocker.unblock(), system_scope("tests: the demo world of this module"):
        last_entry = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        report = demo.load(SEED, "demo")
        yield report
        demo.reset_demo()
        AuditEntry.objects.filter(id__gt=last_entry).delete()


def _unit(code):
    return Unit.objects.get(code=code)


def _assert_counts_match_people(units):
    """Each unit's declared managers/teachers/staff equal the people generated for it."""
    actual = Counter()
    rows = Person.objects.filter(unit__in=units).values_list("unit_id", "category").annotate(n=Count("id"))
    for unit_id, category, n in rows:
        actual[(unit_id, category)] = n
    for u in units:
        assert (actual[(u.pk, "management")], actual[(u.pk, "teacher")], actual[(u.pk, "staff")]) == (
            u.managers_count, u.teachers_count, u.staff_count), u.code


def _assert_paths_consistent(units):
    by_id = {u.pk: u for u in units}
    for u in units:
        parent = by_id.get(u.parent_id) if u.parent_id else None
        if u.parent_id and parent is None:
            parent = Unit.objects.get(pk=u.parent_id)
        assert u.path == (parent.path if parent else "") + path_segment(u.pk), u.code
        assert u.depth == (parent.depth + 1 if parent else 0)


# --- the demo world ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_demo_has_the_seeds_shape(world):
    ministry = _unit("BGDDT")
    assert ministry.depth == 0 and ministry.kind == Unit.Kind.MINISTRY
    departments = Unit.objects.filter(kind=Unit.Kind.DEPARTMENT, parent=ministry)
    assert departments.count() == 63
    assert departments.get(code="SGD01").name == "Sở Giáo dục và Đào tạo Hà Nội"
    assert departments.get(code="SGD46").name == "Sở Giáo dục và Đào tạo Thừa Thiên Huế"
    assert departments.get(code="SGD79").name == "Sở Giáo dục và Đào tạo Thành phố Hồ Chí Minh"
    ba_vi = _unit(org_tree.BA_VI_CODE)
    assert ba_vi.name == "Phòng Giáo dục và Đào tạo huyện Ba Vì" and ba_vi.parent.code == "SGD01"
    schools = services.subtree(ba_vi, include_self=False)
    assert 95 <= schools.count() <= 110
    assert {s.commune.removeprefix("Xã ").removeprefix("Thị trấn ") for s in schools} == BA_VI_COMMUNES
    names = set(schools.values_list("name", flat=True))
    for expected in ("Trường Mầm non Vân Hòa", "Trường Tiểu học Tây Đằng A", "Trường THCS Cổ Đô",
                     "Trường THPT Ba Vì", "Trung tâm GDNN-GDTX huyện Ba Vì",
                     "Trường Phổ thông Dân tộc nội trú Hà Nội"):
        assert expected in names
    for s in schools:
        assert 21.08 - 0.02 <= float(s.latitude) <= 21.30 + 0.02
        assert 105.30 - 0.02 <= float(s.longitude) <= 105.50 + 0.02
        assert s.levels and s.people_total > 0
    people = services.people_in(ba_vi).count()
    assert abs(people - 4900) <= 0.05 * 4900
    by_category = Counter(dict(services.people_in(ba_vi).values_list("category").annotate(n=Count("id"))))
    assert 0.06 <= by_category["management"] / people <= 0.10
    assert 0.70 <= by_category["teacher"] / people <= 0.80
    assert 0.14 <= by_category["staff"] / people <= 0.20
    # The afternoon's audience: universities and teacher-training colleges right under the ministry.
    higher = Unit.objects.filter(parent=ministry, kind=Unit.Kind.INSTITUTION)
    assert 5 <= higher.count() <= 8
    assert "Trường Đại học Sư phạm Hà Nội" in set(higher.values_list("name", flat=True))
    assert all(u.people_total > 0 for u in higher)
    # Scoping needs a neighbour: other Hà Nội districts with a few schools.
    assert services.subtree(_unit(org_tree.district_code(1, org_reference.SOC_SON)), include_self=False).count() >= 3


@pytest.mark.django_db
def test_unit_counts_equal_the_people_generated(world):
    units = list(Unit.objects.all())
    _assert_counts_match_people(units)
    _assert_paths_consistent(units)
    assert sum(u.people_total for u in units) == Person.objects.count() == world.people_total


@pytest.mark.django_db
def test_every_school_has_its_board(world):
    schools = services.subtree(_unit(org_tree.BA_VI_CODE), include_self=False)
    positions = Counter(
        Person.objects.filter(unit__in=schools, category="management").values_list("unit_id", "position")
    )
    for school in schools:
        head = "Giám đốc" if school.name.startswith("Trung tâm") else "Hiệu trưởng"
        assert positions[(school.pk, head)] == 1, school.name
        assert 1 <= positions[(school.pk, f"Phó {head}")] <= 2, school.name
    principal = Person.objects.get(code=f"{_unit('01271032').code}-0001")
    assert principal.position == "Hiệu trưởng" and principal.unit.name == "Trường Tiểu học Tây Đằng A"


@pytest.mark.django_db
def test_names_and_phones_look_vietnamese(world):
    for name in Unit.objects.values_list("name", flat=True):
        assert unicodedata.normalize("NFC", name) == name
    people = list(Person.objects.values_list("full_name", "name_search", "phone", "code"))
    assert len({p[3] for p in people}) == len(people)
    with_marks = 0
    for full_name, name_search, phone, _code in people:
        assert unicodedata.normalize("NFC", full_name) == full_name
        assert len(full_name.split()) == 3
        assert name_search == fold(full_name)
        assert len(phone) == 10 and phone.isdigit() and phone[:2] in {"03", "05", "07", "08", "09"}
        with_marks += not full_name.isascii()
    assert with_marks / len(people) > 0.9
    families = Counter(p[0].split()[0] for p in people)
    assert families.most_common(1)[0][0] == "Nguyễn"
    assert {"Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ"} <= set(families)
    # Search folds diacritics, so the generated names are findable as typed without them.
    assert Person.objects.filter(name_search__contains="nguyen thi").exists()


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_world(world):
    plan_a, plan_b = org_tree.ba_vi(SEED), org_tree.ba_vi(SEED)
    assert [(n.code, n.name, n.people) for n in plan_a.walk()] == [
        (n.code, n.name, n.people) for n in plan_b.walk()]
    school = plan_a.children[10]
    generated = [(r[0], r[1], r[3], r[4], r[5]) for r in org_tree.people_of(SEED, school)]
    stored = list(Person.objects.filter(unit__code=school.code).order_by("code")
                  .values_list("code", "full_name", "category", "position", "phone"))
    assert stored == generated
    other = [r[1] for r in org_tree.people_of(SEED + 1, org_tree.ba_vi(SEED + 1).children[10])]
    assert other != [r[1] for r in generated]


@pytest.mark.django_db
def test_loading_again_is_a_no_op(world):
    before = (Unit.objects.count(), Person.objects.count(), get_user_model().objects.count())
    report = demo.load(SEED, "demo")
    assert report.skipped and report.accounts == []
    assert (Unit.objects.count(), Person.objects.count(), get_user_model().objects.count()) == before
    assert AuditEntry.objects.filter(action="demo.loaded").count() == 1
    with pytest.raises(DomainError) as err:
        demo.load(SEED + 1, "demo")
    assert err.value.code == "demo_loaded"


# --- accounts and their scope -----------------------------------------------------------------
@pytest.mark.django_db
def test_every_demo_account_logs_in(world, client):
    accounts = demo.demo_accounts()
    assert {a["username"] for a in accounts} == {
        "bo", "hanoi", "bavi", "hieutruong", "giaovien", "dieuphoi", "kiemduyet", "phantich", "kythuat"}
    assert {a["role"] for a in accounts} == set(Role.values)
    for a in accounts:
        assert client.login(username=a["username"], password=demo.DEMO_PASSWORD), a["username"]
        client.logout()
    table = demo.format_accounts()
    assert "hieutruong" in table and demo.DEMO_PASSWORD in table
    # Roles in Vietnamese, never the internal codes.
    assert "Kiểm duyệt ý kiến" in table and "Hiệu trưởng" in table and "moderator" not in table


@pytest.mark.django_db
def test_demo_accounts_see_their_own_subtree(world):
    usernames = [a[0] for a in demo.ACCOUNTS]
    users = {u.username: u for u in get_user_model().objects.filter(username__in=usernames)}
    ba_vi_school = _unit("01271032")  # Trường Tiểu học Tây Đằng A
    other_ba_vi_school = Unit.objects.get(name="Trường Mầm non Vân Hòa")
    soc_son = _unit(org_tree.district_code(1, org_reference.SOC_SON))
    soc_son_school = services.subtree(soc_son, include_self=False).first()
    hcm = _unit("SGD79")

    def sees(username, unit):
        return build_scope(users[username]).units().filter(pk=unit.pk).exists()

    for username in ("bo", "dieuphoi", "phantich"):
        assert sees(username, hcm) and sees(username, soc_son_school)
    assert sees("hanoi", ba_vi_school) and sees("hanoi", soc_son_school) and not sees("hanoi", hcm)
    for username in ("bavi", "kiemduyet", "kythuat"):
        assert sees(username, ba_vi_school) and sees(username, other_ba_vi_school)
        assert not sees(username, soc_son_school) and not sees(username, hcm)
    for username in ("hieutruong", "giaovien"):
        assert sees(username, ba_vi_school) and not sees(username, other_ba_vi_school)
    assert build_scope(users["bavi"]).can_change(ba_vi_school)
    assert not build_scope(users["kiemduyet"]).can_change(ba_vi_school)
    assert build_scope(users["hieutruong"]).can_change_people(ba_vi_school)
    assert not build_scope(users["hieutruong"]).can_change(ba_vi_school)
    assert users["hieutruong"].person.position == "Hiệu trưởng"
    assert users["giaovien"].person.unit_id == ba_vi_school.pk
    assert users["giaovien"].person.category == "teacher"
    assert build_scope(users["bo"]).writes_everything


# --- reset and the national generator ---------------------------------------------------------
@pytest.mark.django_db
def test_reset_removes_what_the_loader_made(world):
    counts = demo.reset_demo()
    assert counts["units"] == world.units_total and counts["people"] == world.people_total
    assert not Unit.objects.exists() and not Person.objects.exists()
    assert not get_user_model().objects.filter(username__in=[a[0] for a in demo.ACCOUNTS]).exists()
    # And it loads again cleanly, here through the ORM's bulk_create path.
    report = demo.load(SEED, "demo", write_method="orm")
    assert report.people_total == world.people_total
    assert Person.objects.count() == world.people_total


@pytest.mark.django_db
def test_the_demo_does_not_mix_with_todays_departments(world):
    # Today's SGD44 is Quảng Trị, the 2023 demo's is Quảng Bình: the two trees are kept apart.
    demo.reset_demo()
    admin_data.load(tree=True)
    with pytest.raises(DomainError) as err:
        demo.load(SEED, "demo")
    assert err.value.code == "codes_taken"
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_a_fraction_of_the_national_world_loads(world):
    demo.reset_demo()
    report = demo.load(SEED, "national", scale=0.01)
    assert report.units["department"] == 63
    assert 3 <= report.units["district_office"] <= 20
    assert Unit.objects.count() == report.units_total and Person.objects.count() == report.people_total
    # Ba Vì is the same in both sizes: same codes, same names, same people.
    plan = org_tree.ba_vi(SEED)
    assert set(services.subtree(_unit(org_tree.BA_VI_CODE)).values_list("code", "name")) == {
        (n.code, n.name) for n in plan.walk()}
    units = list(Unit.objects.all())
    _assert_counts_match_people(units)
    _assert_paths_consistent(units)
    with pytest.raises(DomainError) as err:
        demo.load(SEED, "demo")
    assert err.value.code == "demo_loaded"
