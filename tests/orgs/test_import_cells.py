"""Imports keep what a file leaves blank, match codes whatever their case or lost zeros, say so in
the preview, show every column, and count progress in rows."""

import pytest

from diemcau.orgs.models import Person, Unit

from .sheets import PEOPLE, PEOPLE_HEAD, UNIT_HEAD, UNITS, apply, csv, person_row, plan, unit_row

pytestmark = pytest.mark.smoke


def test_a_blank_cell_keeps_the_value_and_the_marker_clears_it(tree, organiser_bavi, person_factory):
    Unit.objects.filter(code="TH_TAYDANG_A").update(address="Thôn 1, xã Tây Đằng", short_name="TH Tây Đằng A")
    data = csv([UNIT_HEAD, unit_row("TH_TAYDANG_A", "", kind="", address="", short_name="[xoá]",
                                    teachers_count="32")])
    p = plan(organiser_bavi, UNITS, data, "a.csv")
    assert not p.problems and p.counts["update"] == 1
    apply(organiser_bavi, p)
    unit = Unit.objects.get(code="TH_TAYDANG_A")
    assert (unit.name, unit.address, unit.short_name, unit.teachers_count) == \
        ("Trường Tiểu học Tây Đằng A", "Thôn 1, xã Tây Đằng", "", 32)

    person_factory(tree["school_a"], "Nguyễn Văn An", code="GV-0001", phone="0912345678", position="Tổ trưởng")
    data = csv([PEOPLE_HEAD, person_row("GV-0001", "", unit="", category="", position="[XOÁ]", phone="")])
    p = plan(organiser_bavi, PEOPLE, data, "p.csv")
    assert not p.problems
    apply(organiser_bavi, p)
    person = Person.objects.get(code="GV-0001")
    assert (person.full_name, person.phone, person.position, person.unit_id) == \
        ("Nguyễn Văn An", "0912345678", "", tree["school_a"].pk)


def test_a_new_row_still_needs_its_required_cells(tree, organiser_bavi):
    p = plan(organiser_bavi, PEOPLE, csv([PEOPLE_HEAD, person_row("GV-NEW", "Lê Thị Hoa", category="")]), "p.csv")
    assert [x["code"] for x in p.problems] == ["required"]


def test_codes_match_whatever_their_case_and_lost_zeros_are_noted(tree, organiser_bavi, make_unit, person_factory):
    make_unit(tree["bavi"], "Trường Tiểu học Ba Trại A", code="01271032")
    person_factory(tree["school_a"], "Nguyễn Văn An", code="DUP-0001")
    data = csv([UNIT_HEAD, unit_row("1271032", "Trường Tiểu học Ba Trại A", teachers_count="12"),
                unit_row("th_taydang_a", "Trường Tiểu học Tây Đằng A", parent="pgd_bavi")])
    p = plan(organiser_bavi, UNITS, data, "a.csv")
    assert not p.problems and p.counts == {"create": 0, "update": 1, "unchanged": 1}
    notes = [n["message"] for n in p.summary()["notes"]]
    assert any("1271032" in n and "01271032" in n and "số 0" in n for n in notes)
    assert any("th_taydang_a" in n and "TH_TAYDANG_A" in n for n in notes)
    apply(organiser_bavi, p)
    assert Unit.objects.get(code="01271032").teachers_count == 12
    assert not Unit.objects.filter(code__in=["1271032", "th_taydang_a"]).exists()

    people = csv([PEOPLE_HEAD, person_row("dup-0001", "Nguyễn Văn An", unit="th_taydang_a", position="Tổ phó"),
                  person_row("DUP-0001", "Nguyễn Văn An")])
    p = plan(organiser_bavi, PEOPLE, people, "p.csv")
    assert [x["code"] for x in p.problems] == ["duplicate_in_file"]  # one code, written twice


def test_the_preview_shows_every_column_and_progress_counts_rows(tree, organiser_bavi):
    rows = [unit_row(f"TH_MOI_{n}", f"Trường mới {n}", address=f"Thôn {n}", teachers_count=str(n)) for n in range(3)]
    ticks = []
    from diemcau.orgs import import_plan, importing

    sheet = importing.read_sheet(UNITS, csv([UNIT_HEAD, *rows]), "a.csv")
    p = import_plan.plan_units(organiser_bavi, sheet, progress=lambda done, total, msg: ticks.append((done, total)))
    assert ticks and max(total for _done, total in ticks) == 3 and max(done for done, _t in ticks) == 3
    sample = p.summary()["samples"]["create"][0]
    assert "Thôn 0" in sample["cells"] and "Trường mới 0" in sample["cells"]


def test_declared_headcounts_and_the_roster_are_compared(client, tree, organiser_bavi, person_factory):
    from diemcau.orgs.services import unit_counts

    assert unit_counts(tree["bavi"])["roster_gaps"] == []  # nobody imported yet: nothing to compare
    person_factory(tree["school_a"], "Nguyễn Văn An")
    gaps = unit_counts(tree["bavi"])["roster_gaps"]
    assert [(g["category"], g["declared"], g["listed"]) for g in gaps] == [("teacher", 30, 1)]
    client.force_login(organiser_bavi)
    html = client.get(f"/orgs/units/{tree['bavi'].pk}/").content.decode()
    assert "Số lượng khai báo và danh sách người đã nhập không khớp" in html and "khai báo 30, danh sách có 1" in html
