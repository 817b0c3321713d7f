"""Vietnamese order, the same on PostgreSQL (ICU "vi") and SQLite (vi_sort_key as a collation)."""

import pytest

from diemcau.core.vntext import by_name, people_order, vi_sort_key, vi_sorted
from diemcau.orgs.models import Person, Unit

pytestmark = pytest.mark.smoke

NAMES = ["Yên Bài", "Bình Thuận", "Đông Quang", "Bạc Liêu", "Dương Nội", "An Giang", "Ân Thi", "Ăn Uống",
         "Ơn Sâu", "Ôn Lương", "Ưng Hoà", "Út Tịch", "Đà Nẵng", "Hà Nam", "Hạ Long", "hà giang"]


def test_the_python_key_is_vietnamese_order():
    assert vi_sort_key("Bạc Liêu") < vi_sort_key("Bình Thuận")
    assert vi_sort_key("Đông Quang") < vi_sort_key("Yên Bài")
    assert vi_sort_key("Dương Nội") < vi_sort_key("Đà Nẵng") < vi_sort_key("Đông Quang")
    assert vi_sorted(["Ôn", "Ơn", "On"]) == ["On", "Ôn", "Ơn"]
    assert vi_sorted(["Ân", "An", "Ăn"]) == ["An", "Ăn", "Ân"]


def test_units_sort_the_same_on_the_database_as_in_python(make_unit, tree):
    for name in NAMES:
        make_unit(tree["bavi"], name)
    from_db = list(Unit.objects.filter(parent=tree["bavi"]).exclude(pk__in=[tree["school_a"].pk, tree["school_b"].pk])
                   .order_by(by_name(), "pk").values_list("name", flat=True))
    assert from_db.index("Bạc Liêu") < from_db.index("Bình Thuận")
    assert from_db.index("Đông Quang") < from_db.index("Yên Bài")
    assert from_db == vi_sorted(NAMES)


def test_people_sort_by_given_name_then_family_name(tree, person_factory):
    for name in ["Trần Văn Bình", "Nguyễn Thị An", "Lê Đức Anh", "Đỗ Văn Ân", "Bùi Thị Yến", "Phạm An"]:
        person_factory(tree["school_a"], name)
    names = list(Person.objects.filter(unit=tree["school_a"]).order_by(*people_order(), "pk")
                 .values_list("full_name", flat=True))
    assert names == ["Nguyễn Thị An", "Phạm An", "Lê Đức Anh", "Đỗ Văn Ân", "Trần Văn Bình", "Bùi Thị Yến"]
