"""Official administrative data: provinces and communes from vietnam-provinces, and the top of a tree."""

import unicodedata

import pytest
from django.core.management import call_command

from diemcau.core.models import AuditEntry
from diemcau.orgs import admin_data, services
from diemcau.orgs.models import PATH_STEP, AdminArea, Unit, path_segment

pytestmark = pytest.mark.smoke

DIVISIONS = admin_data.official_divisions()
N_PROVINCES = len(DIVISIONS)
N_COMMUNES = sum(len(p["wards"]) for p in DIVISIONS)


def test_the_package_holds_todays_map():
    # The 2025 reform: 34 provinces and 3,321 communes. A new package release may change the
    # commune count; the other tests read it from the package.
    assert N_PROVINCES == 34
    assert N_COMMUNES >= 3000


@pytest.mark.django_db
def test_load_copies_every_province_and_commune():
    report = admin_data.load()
    assert AdminArea.objects.filter(level=AdminArea.Level.PROVINCE).count() == N_PROVINCES
    assert AdminArea.objects.filter(level=AdminArea.Level.COMMUNE).count() == N_COMMUNES
    assert report.provinces.created == N_PROVINCES and report.communes.created == N_COMMUNES
    hanoi = AdminArea.objects.get(code="01")
    assert hanoi.name == "Thành phố Hà Nội"
    assert hanoi.name_search == "thanh pho ha noi"
    assert hanoi.children.count() == len(DIVISIONS[0]["wards"])
    # Quảng Ngãi has a Xã Ba Vì too; Hà Nội's is the one of the seed.
    ba_vi = AdminArea.objects.get(name="Xã Ba Vì", parent=hanoi)
    assert ba_vi.division_type == "xã" and len(ba_vi.code) == 5
    assert not AdminArea.objects.filter(level=AdminArea.Level.COMMUNE, parent__isnull=True).exists()
    for name in AdminArea.objects.values_list("name", flat=True):
        assert unicodedata.normalize("NFC", name) == name


@pytest.mark.django_db
def test_load_twice_changes_nothing_and_restores_changed_names():
    admin_data.load()
    AdminArea.objects.filter(code="01").update(name="Ha Noi", name_search="ha noi")
    report = admin_data.load()
    assert AdminArea.objects.count() == N_PROVINCES + N_COMMUNES
    assert report.provinces.created == report.communes.created == 0
    assert report.provinces.updated == 1 and report.communes.updated == 0
    assert report.communes.unchanged == N_COMMUNES
    assert AdminArea.objects.get(code="01").name == "Thành phố Hà Nội"
    # One summary entry per run, not one per row.
    assert AuditEntry.objects.filter(action="admin_data.loaded").count() == 2
    assert AuditEntry.objects.count() == 2


@pytest.mark.django_db
def test_tree_gives_one_department_per_province_under_the_ministry():
    call_command("load_admin_data", "--tree", stdout=_Null())
    ministry = Unit.objects.get(code=admin_data.MINISTRY_CODE)
    assert ministry.name == "Bộ Giáo dục và Đào tạo" and ministry.depth == 0
    assert ministry.path == path_segment(ministry.pk)
    departments = Unit.objects.filter(kind=Unit.Kind.DEPARTMENT)
    assert departments.count() == N_PROVINCES
    for d in departments.select_related("admin_area"):
        assert d.parent_id == ministry.pk and d.depth == 1
        assert d.path == ministry.path + path_segment(d.pk) and len(d.path) == 2 * PATH_STEP
        assert d.admin_area.level == AdminArea.Level.PROVINCE
        assert d.code == "SGD" + d.admin_area.code
        assert d.name_search == admin_data.unit_search_key(d.name, d.short_name, d.code)
    names = dict(departments.values_list("code", "name"))
    assert names["SGD01"] == "Sở Giáo dục và Đào tạo Hà Nội"
    assert names["SGD79"] == "Sở Giáo dục và Đào tạo Thành phố Hồ Chí Minh"
    assert names["SGD04"] == "Sở Giáo dục và Đào tạo Cao Bằng"
    assert set(services.subtree(ministry)) == {ministry, *departments}
    hanoi = departments.get(code="SGD01")
    assert list(services.subtree(hanoi)) == [hanoi]
    assert AuditEntry.objects.filter(action="admin_data.loaded").count() == 1


@pytest.mark.django_db
def test_tree_twice_makes_no_duplicates_and_keeps_units_added_below(make_unit):
    admin_data.load(tree=True)
    hanoi = Unit.objects.get(code="SGD01")
    school = make_unit(hanoi, "Trường THPT Ba Vì")
    Unit.objects.filter(code="SGD01").update(name="Sở GD Hà Nội (cũ)")
    report = admin_data.load(tree=True)
    assert report.departments.created == 0 and report.departments.updated == 1
    assert not report.ministry_created
    assert Unit.objects.filter(kind=Unit.Kind.DEPARTMENT).count() == N_PROVINCES
    assert Unit.objects.filter(kind=Unit.Kind.MINISTRY).count() == 1
    hanoi.refresh_from_db()
    assert hanoi.name == "Sở Giáo dục và Đào tạo Hà Nội"
    assert school in set(services.subtree(hanoi))


@pytest.mark.django_db
def test_tree_reuses_an_existing_ministry(tree):
    # The suite's small tree already has BGDDT (with its own departments SO01, SO79).
    ministry = tree["ministry"]
    report = admin_data.load(tree=True)
    assert not report.ministry_created
    assert Unit.objects.filter(parent=ministry, code__startswith="SGD").count() == N_PROVINCES
    # Reserved ids follow the rows made before; paths stay unique and well-formed.
    new_ids = Unit.objects.filter(code__startswith="SGD").values_list("id", flat=True)
    assert min(new_ids) > max(u.pk for u in tree.values())


@pytest.mark.django_db
def test_tree_leaves_alone_units_it_did_not_make(make_unit, tree):
    # The 2023 demo's SGD44 is Quảng Bình; today's code 44 is Quảng Trị. Never rename one into the other.
    quang_binh = make_unit(tree["ministry"], "Sở Giáo dục và Đào tạo Quảng Bình", Unit.Kind.DEPARTMENT,
                           code="SGD44")
    report = admin_data.load(tree=True)
    assert report.departments_skipped == ["SGD44"]
    assert report.departments.created == N_PROVINCES - 1
    quang_binh.refresh_from_db()
    assert quang_binh.name == "Sở Giáo dục và Đào tạo Quảng Bình" and quang_binh.admin_area is None


class _Null:
    def write(self, *args, **kwargs):
        pass

    def flush(self):
        pass
