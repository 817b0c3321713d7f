"""Exports of units and people: round trips change nothing, formula-safe cells, headings, templates."""

import io

import pytest
from openpyxl import load_workbook

from diemcau.orgs import columns, exports, importing, services
from diemcau.orgs.models import EducationLevel, Person
from diemcau.orgs.scoping import SYSTEM

from .sheets import PEOPLE, UNITS, plan

pytestmark = pytest.mark.smoke



# --- round trips and exports --------------------------------------------------------------------
def test_units_round_trip_changes_nothing(tree, organiser_bavi, national):
    services.update_unit(SYSTEM, tree["school_a"], latitude="21.123456", longitude="105.4",
                         levels=EducationLevel.PRIMARY | EducationLevel.LOWER_SECONDARY, staff_count=3,
                         short_name="TH Tây Đằng A", commune="Thị trấn Tây Đằng", address="Khu 2, Tây Đằng")
    services.create_unit(SYSTEM, parent=tree["bavi"], kind="other", kind_label="Trung tâm GDNN-GDTX",
                         code="0042", name="Trung tâm GDNN-GDTX Ba Vì")
    for user, unit in ((organiser_bavi, tree["bavi"]), (national, tree["ministry"])):
        content = exports.export_units(user, unit)
        p = plan(user, UNITS, content)
        assert p.problems == []
        assert p.counts == {"create": 0, "update": 0, "unchanged": services.subtree(unit).count()}


def test_people_round_trip_changes_nothing(tree, organiser_bavi, person_factory):
    person_factory(tree["school_a"], "Nguyễn Văn An", phone="0912345678", email="an@example.vn", position="Tổ trưởng")
    person_factory(tree["school_b"], "Lê Thị Bình", category=Person.Category.MANAGEMENT, code="007")
    content = exports.export_people(organiser_bavi, tree["bavi"])
    p = plan(organiser_bavi, PEOPLE, content)
    assert p.problems == [] and p.counts == {"create": 0, "update": 0, "unchanged": 2}


def test_export_is_safe_from_formula_injection_and_reimports_the_text(tree, organiser_bavi):
    evil = '=HYPERLINK("http://example.com","Bấm vào đây")'
    services.update_unit(SYSTEM, tree["school_b"], name=evil, address="+84 Ba Vì")
    content = exports.export_units(organiser_bavi, tree["bavi"])
    ws = load_workbook(io.BytesIO(content)).active
    cells = [c for row in ws.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" and not str(c.value).startswith("=") for c in cells)
    p = plan(organiser_bavi, UNITS, content)
    assert p.problems == [] and p.counts["create"] == p.counts["update"] == 0
    unchanged = next(op for op in p.ops if op.code == "MN_VANHOA")
    assert unchanged.obj.name == evil and unchanged.obj.address == "+84 Ba Vì"


def test_export_heading_and_people_filters(tree, organiser_bavi, person_factory):
    person_factory(tree["school_a"], "Nguyễn Văn An")
    person_factory(tree["school_a"], "Trần Thị Cúc", category=Person.Category.STAFF)
    person_factory(tree["school_c"], "Phạm Văn Sóc")  # Sóc Sơn: outside Ba Vì
    ws = load_workbook(io.BytesIO(exports.export_people(organiser_bavi, tree["bavi"]))).active
    values = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    assert values[0][0] == "PHÒNG GD&ĐT HUYỆN BA VÌ"
    assert any(v[0] and "/" in str(v[0]) for v in values[:3])  # the date line, dd/mm/yyyy
    names = {v[1] for v in values[5:]}
    assert names == {"Nguyễn Văn An", "Trần Thị Cúc"}
    staff = load_workbook(io.BytesIO(exports.export_people(organiser_bavi, tree["bavi"], category="staff"))).active
    assert [r[1] for r in staff.iter_rows(min_row=6, values_only=True)] == ["Trần Thị Cúc"]
    found = load_workbook(io.BytesIO(exports.export_people(organiser_bavi, tree["bavi"], q="nguyen an"))).active
    assert [r[1] for r in found.iter_rows(min_row=6, values_only=True)] == ["Nguyễn Văn An"]


def test_template_reads_back_as_one_row(tree, organiser_bavi):
    for kind in (UNITS, PEOPLE):
        sheet = importing.read_sheet(kind, exports.template_workbook(organiser_bavi, kind), "mau.xlsx")
        assert len(sheet.rows) == 1 and set(sheet.columns) == {c.key for c in columns.COLUMNS[kind]}
    p = plan(organiser_bavi, UNITS, exports.template_workbook(organiser_bavi, UNITS))
    assert p.problems == [] and p.counts["create"] == 1
