"""Imports of units and people: preview, all or nothing, problems by row and column, batches and pages."""

import io
import unicodedata

import pytest
from openpyxl import load_workbook

from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry
from diemcau.orgs import importing, services
from diemcau.orgs.models import EducationLevel, ImportBatch, Person, Unit
from diemcau.orgs.scoping import SYSTEM

from .sheets import (
    PEOPLE,
    PEOPLE_HEAD,
    UNIT_HEAD,
    UNITS,
    apply,
    csv,
    only_problem,
    person_row,
    plan,
    state,
    unit_row,
    upload,
    xlsx,
)

pytestmark = pytest.mark.smoke



# --- good files -------------------------------------------------------------------------------
def test_csv_creates_units_under_the_organisers_unit(tree, organiser_bavi):
    data = csv([UNIT_HEAD,
                unit_row("TH_CAMLINH", "Trường Tiểu học Cẩm Lĩnh", levels="Tiểu học", teachers_count="25"),
                unit_row("MN_BAVI", "Trường Mầm non Ba Vì", kind="Mầm non", levels="MN; Nhà trẻ")])
    p = plan(organiser_bavi, UNITS, data, "don-vi.csv")
    assert p.problems == [] and p.counts == {"create": 2, "update": 0, "unchanged": 0}
    before = AuditEntry.objects.count()
    assert apply(organiser_bavi, p) == {"create": 2, "update": 0, "unchanged": 0}
    school = Unit.objects.get(code="TH_CAMLINH")
    assert school.parent_id == tree["bavi"].pk and school.is_within(tree["bavi"])
    assert school.depth == tree["bavi"].depth + 1 and school.path.endswith(f"{school.pk:09d}")
    assert school.levels == EducationLevel.PRIMARY and school.teachers_count == 25
    assert school.name_search == "truong tieu hoc cam linh th_camlinh"
    assert school in set(services.search_units(organiser_bavi, "cam linh"))
    other = Unit.objects.get(code="MN_BAVI")
    assert (other.kind, other.kind_label, other.levels) == ("other", "Mầm non", EducationLevel.PRESCHOOL)
    entries = AuditEntry.objects.filter(action="unit.created").order_by("-id")[:2]
    assert AuditEntry.objects.count() == before + 2
    assert {e.object_repr for e in entries} == {"Trường Tiểu học Cẩm Lĩnh", "Trường Mầm non Ba Vì"}
    assert all(e.actor_id == organiser_bavi.pk and e.unit_path.startswith(tree["bavi"].path) for e in entries)


@pytest.mark.parametrize("bom", [False, True])
def test_csv_with_or_without_bom(tree, organiser_bavi, bom):
    p = plan(organiser_bavi, UNITS, csv([UNIT_HEAD, unit_row("TH_1", "Trường 1")], bom=bom), "a.csv")
    assert p.problems == [] and p.ops[0].obj.code == "TH_1"


def test_xlsx_under_a_merged_title_with_excel_habits(tree, organiser_bavi):
    nfd = unicodedata.normalize("NFD", "Trường Tiểu học Thụy An")
    data = xlsx([UNIT_HEAD,
                 unit_row("00123  ", nfd + "  ", teachers_count="30", staff_count=" 4 ", managers_count="1.250",
                          latitude="21,0285", longitude=105.8542)],
                title="DANH SÁCH ĐƠN VỊ TRỰC THUỘC")
    p = plan(organiser_bavi, UNITS, data)
    assert p.problems == [] and p.sheet.header_row == 2
    apply(organiser_bavi, p)
    unit = Unit.objects.get(code="00123")  # leading zeros kept, trailing spaces gone
    assert unit.name == unicodedata.normalize("NFC", "Trường Tiểu học Thụy An")
    assert (unit.teachers_count, unit.staff_count, unit.managers_count) == (30, 4, 1250)
    assert str(unit.latitude) == "21.028500" and str(unit.longitude) == "105.854200"


def test_children_may_come_before_their_new_parents(national, tree):
    data = csv([UNIT_HEAD,
                unit_row("TH_X", "Trường X", parent="PGD_MOI"),
                unit_row("PGD_MOI", "Phòng GD&ĐT mới", kind="Phòng GD&ĐT", parent="SO_MOI"),
                unit_row("SO_MOI", "Sở GD&ĐT mới", kind="Sở", parent="")])
    p = plan(national, UNITS, data, "a.csv")
    assert p.problems == []
    apply(national, p)
    so, pgd, th = (Unit.objects.get(code=c) for c in ("SO_MOI", "PGD_MOI", "TH_X"))
    assert so.parent_id is None and so.depth == 0 and so.kind == "department"
    assert pgd.parent_id == so.pk and pgd.path.startswith(so.path) and pgd.kind == "district_office"
    assert th.parent_id == pgd.pk and th.path == pgd.path + f"{th.pk:09d}" and th.depth == 2


def test_update_and_unchanged_rows(tree, organiser_bavi):
    data = csv([UNIT_HEAD,
                unit_row("TH_TAYDANG_A", "Trường Tiểu học Tây Đằng A", levels="Tiểu học", teachers_count="32"),
                unit_row("MN_VANHOA", "Trường Mầm non Vân Hòa", levels="Mầm non")])
    p = plan(organiser_bavi, UNITS, data, "a.csv")
    assert p.counts == {"create": 0, "update": 1, "unchanged": 1}
    change = p.summary()["samples"]["update"][0]
    assert change["code"] == "TH_TAYDANG_A"
    assert change["changes"] == [{"column": "Số giáo viên", "old": "30", "new": "32"}]
    apply(organiser_bavi, p)
    assert Unit.objects.get(code="TH_TAYDANG_A").teachers_count == 32
    entry = AuditEntry.objects.filter(action="unit.updated").latest("id")
    assert entry.before == {"teachers_count": 30} and entry.after == {"teachers_count": 32}


def test_absent_columns_are_left_alone(tree, organiser_bavi):
    data = csv([["Mã đơn vị", "Tên đơn vị", "Loại đơn vị"], ["TH_TAYDANG_A", "Trường Tiểu học Tây Đằng A", "Trường"]])
    p = plan(organiser_bavi, UNITS, data, "a.csv")
    assert p.counts == {"create": 0, "update": 0, "unchanged": 1}


def test_moving_a_unit_rewrites_its_subtree(tree, national):
    data = csv([UNIT_HEAD, unit_row("PGD_BAVI", "Phòng GD&ĐT huyện Ba Vì", kind="Phòng Giáo dục và Đào tạo",
                                    parent="SO79")])
    p = plan(national, UNITS, data, "a.csv")
    assert p.counts["update"] == 1 and p.ops[0].move
    apply(national, p)
    hcm = Unit.objects.get(code="SO79")
    school = Unit.objects.get(code="TH_TAYDANG_A")
    assert school.path.startswith(hcm.path) and school.depth == 3
    assert AuditEntry.objects.filter(action="unit.moved", object_id=str(tree["bavi"].pk)).exists()


# --- people -------------------------------------------------------------------------------------
def test_people_aliases_phone_and_email(tree, organiser_bavi):
    data = xlsx([PEOPLE_HEAD,
                 person_row("CB001", "Nguyễn Văn An", category="cbql", position="Hiệu trưởng", phone=912345678),
                 person_row("GV002", "Lê Thị Bình", category=" GV ", phone="0987 654 321", email="binh@example.vn"),
                 person_row("NV003", "Đỗ Văn Cường", unit="MN_VANHOA", category="nhân viên")])
    p = plan(organiser_bavi, PEOPLE, data)
    assert p.problems == [] and p.counts["create"] == 3
    apply(organiser_bavi, p)
    an, binh, cuong = (Person.objects.get(code=c) for c in ("CB001", "GV002", "NV003"))
    assert (an.category, an.phone, an.unit_id) == ("management", "0912345678", tree["school_a"].pk)
    assert (binh.category, binh.phone, binh.email) == ("teacher", "0987 654 321", "binh@example.vn")
    assert (cuong.category, cuong.unit_id) == ("staff", tree["school_b"].pk)
    assert an.name_search == "nguyen van an"
    assert AuditEntry.objects.filter(action="person.created").count() == 3


def test_moving_a_person_to_another_school_is_an_update(tree, organiser_bavi, person_factory):
    person_factory(tree["school_a"], "Nguyễn Văn An", code="GV1")
    p = plan(organiser_bavi, PEOPLE, csv([PEOPLE_HEAD, person_row("GV1", "Nguyễn Văn An", unit="MN_VANHOA")]), "a.csv")
    assert p.counts["update"] == 1
    assert p.summary()["samples"]["update"][0]["changes"] == [
        {"column": "Mã đơn vị", "old": "TH_TAYDANG_A", "new": "MN_VANHOA"}]
    apply(organiser_bavi, p)
    assert Person.objects.get(code="GV1").unit_id == tree["school_b"].pk


# --- bad input: a clear message by row and column, and nothing written ---------------------------
def test_every_problem_is_collected_by_row_and_column(tree, organiser_bavi):
    data = csv([UNIT_HEAD,
                unit_row("TH_OK", "Trường tốt"),
                unit_row("TH 2", "Trường có mã sai"),
                unit_row("TH_3", "", levels="Tiểu học; Đại học xá"),
                unit_row("TH_4", "Trường 4", latitude="north", teachers_count="-3", staff_count="12.5"),
                unit_row("TH_5", "Trường 5", latitude="95")])
    before = state()
    p = plan(organiser_bavi, UNITS, data, "a.csv")
    only_problem(p, 3, "A", "Mã đơn vị")
    only_problem(p, 4, "B", "Tên đơn vị")
    assert "Đại học xá" in only_problem(p, 4, "F", "Cấp học")["message"]
    only_problem(p, 5, "I", "Vĩ độ")
    only_problem(p, 5, "L", "Số giáo viên")
    only_problem(p, 5, "M", "Số nhân viên")
    only_problem(p, 6, "I", "Vĩ độ")
    assert len(p.problems) == 7
    with pytest.raises(DomainError) as err:
        apply(organiser_bavi, p)
    assert err.value.code == "invalid"
    assert state() == before


def test_duplicate_codes_within_the_file(tree, organiser_bavi):
    data = csv([UNIT_HEAD, unit_row("TH_A", "Trường A"), unit_row("TH_B", "Trường B"), unit_row("TH_A", "Trường A2")])
    before = state()
    p = plan(organiser_bavi, UNITS, data, "a.csv")
    problem = only_problem(p, 4, "A", "Mã đơn vị")
    assert problem["code"] == "duplicate_in_file" and "2" in problem["problem"]
    with pytest.raises(DomainError):
        apply(organiser_bavi, p)
    assert state() == before


def test_duplicate_code_of_a_unit_outside_the_scope(tree, organiser_bavi):
    before = state()
    p = plan(organiser_bavi, UNITS, csv([UNIT_HEAD, unit_row("THCS_PHULINH", "Trường của Ba Vì")]), "a.csv")
    problem = only_problem(p, 2, "A", "Mã đơn vị")
    assert problem["code"] == "duplicate_code"
    assert "Phù Linh" not in problem["message"]  # nothing said about what lies outside the scope
    with pytest.raises(DomainError):
        apply(organiser_bavi, p)
    assert state() == before


def test_duplicate_personal_code_outside_the_scope(tree, organiser_bavi, person_factory):
    person_factory(tree["school_c"], "Người Sóc Sơn", code="P_SOCSON")
    before = state()
    p = plan(organiser_bavi, PEOPLE, csv([PEOPLE_HEAD, person_row("P_SOCSON", "Người Ba Vì")]), "a.csv")
    assert only_problem(p, 2, "A", "Mã cá nhân")["code"] == "duplicate_code"
    assert state() == before


def test_a_loop_of_parent_codes_in_the_file(tree, national):
    data = csv([UNIT_HEAD, unit_row("LOOP_A", "A", parent="LOOP_B"), unit_row("LOOP_B", "B", parent="LOOP_C"),
                unit_row("LOOP_C", "C", parent="LOOP_A"), unit_row("SELF", "S", parent="SELF")])
    before = state()
    p = plan(national, UNITS, data, "a.csv")
    for row in (2, 3, 4, 5):
        assert only_problem(p, row, "D", "Mã đơn vị cấp trên")["code"] == "cycle"
    assert "LOOP_A → LOOP_B → LOOP_C → LOOP_A" in p.problems[0]["message"]
    with pytest.raises(DomainError):
        apply(national, p)
    assert state() == before


def test_moving_a_unit_under_its_own_descendant(tree, national):
    data = csv([UNIT_HEAD, unit_row("SO01", "Sở GD&ĐT Hà Nội", kind="Sở", parent="TH_TAYDANG_A")])
    before = state()
    p = plan(national, UNITS, data, "a.csv")
    problem = only_problem(p, 2, "D", "Mã đơn vị cấp trên")
    assert problem["code"] == "cycle" and "TH_TAYDANG_A" in problem["message"]
    with pytest.raises(DomainError):
        apply(national, p)
    assert state() == before


def test_a_loop_through_moved_existing_units(tree, national):
    # Ba Vì goes under its own school, and that school under a new unit placed under Ba Vì.
    data = csv([UNIT_HEAD, unit_row("PGD_BAVI", "Phòng GD&ĐT huyện Ba Vì", kind="Phòng", parent="MN_VANHOA"),
                unit_row("MN_VANHOA", "Trường Mầm non Vân Hòa", parent="NEW_X"),
                unit_row("NEW_X", "Đơn vị mới", kind="Trung tâm", parent="PGD_BAVI")])
    p = plan(national, UNITS, data, "a.csv")
    assert {x["code"] for x in p.problems} == {"cycle"} and {x["row"] for x in p.problems} == {2, 3, 4}


@pytest.mark.parametrize("name,code", [
    ("<script>alert(1)</script>", "markup"),
    ("Tr\xadêng TiÓu häc Cæ §«", "legacy_font"),  # TCVN3, with the soft hyphen after "Tr"
    ("Tröôøng Tieåu hoïc", "legacy_font"),  # VNI
])
def test_bad_names_are_refused(tree, organiser_bavi, name, code):
    before = state()
    for data, filename in ((csv([UNIT_HEAD, unit_row("TH_BAD", name)]), "a.csv"),
                           (xlsx([UNIT_HEAD, unit_row("TH_BAD", name)]), "a.xlsx")):
        p = plan(organiser_bavi, UNITS, data, filename)
        assert only_problem(p, 2, "B", "Tên đơn vị")["code"] == code
    p = plan(organiser_bavi, PEOPLE, csv([PEOPLE_HEAD, person_row("GV_BAD", name)]), "a.csv")
    assert only_problem(p, 2, "B", "Họ và tên")["code"] == code
    assert state() == before


def test_tcvn3_sample_from_the_issue_is_refused(tree, organiser_bavi):
    p = plan(organiser_bavi, UNITS, csv([UNIT_HEAD, unit_row("TH_T3", "Tr\u00adêng TiÓu häc")]), "a.csv")
    assert only_problem(p, 2, "B", "Tên đơn vị")["code"] == "legacy_font"


def test_the_ba_vi_organiser_cannot_import_into_soc_son(tree, organiser_bavi):
    before = state()
    p = plan(organiser_bavi, UNITS, csv([UNIT_HEAD, unit_row("TH_LEN", "Trường lén", parent="PGD_SOCSON")]), "a.csv")
    assert only_problem(p, 2, "D", "Mã đơn vị cấp trên")["code"] == "unknown_parent"
    p2 = plan(organiser_bavi, PEOPLE, csv([PEOPLE_HEAD, person_row("GV_LEN", "Người lén", unit="THCS_PHULINH")]),
              "a.csv")
    assert only_problem(p2, 2, "C", "Mã đơn vị")["code"] == "unknown_unit"
    for p_ in (p, p2):
        with pytest.raises(DomainError):
            apply(organiser_bavi, p_)
    assert state() == before


def test_only_national_organisers_create_top_level_units(tree, organiser_bavi, national):
    data = csv([UNIT_HEAD, unit_row("ROOT_2", "Bộ khác", kind="Bộ", parent="")])
    assert only_problem(plan(organiser_bavi, UNITS, data, "a.csv"), 2, "D",
                        "Mã đơn vị cấp trên")["code"] == "parent_required"
    p = plan(national, UNITS, data, "a.csv")
    assert p.problems == []
    apply(national, p)
    assert Unit.objects.get(code="ROOT_2").parent_id is None


def test_people_problems(tree, organiser_bavi):
    data = csv([PEOPLE_HEAD, person_row("GV1", "Nguyễn A", category="hiệu phó?"),
                person_row("GV2", "Nguyễn B", email="not-an-email"),
                person_row("GV3", "Nguyễn C", phone="09x"),
                person_row("GV4", "Nguyễn D", unit="KHONG_CO")])
    p = plan(organiser_bavi, PEOPLE, data, "a.csv")
    only_problem(p, 2, "D", "Nhóm")
    only_problem(p, 3, "G", "Email")
    only_problem(p, 4, "F", "Điện thoại")
    only_problem(p, 5, "C", "Mã đơn vị")
    assert len(p.problems) == 4


def test_wrong_columns(tree, organiser_bavi):
    data = csv([PEOPLE_HEAD, person_row("GV1", "Nguyễn A")])
    with pytest.raises(DomainError) as err:
        plan(organiser_bavi, UNITS, data, "a.csv")
    assert err.value.code == "missing_columns"
    assert {d["column"] for d in err.value.details} == {"Tên đơn vị", "Loại đơn vị"}
    assert all(d["row"] == 1 and d["column"] in d["message"] and "1" in d["message"] for d in err.value.details)


def test_a_stale_plan_is_refused(tree, organiser_bavi):
    p = plan(organiser_bavi, UNITS, csv([UNIT_HEAD, unit_row("TH_TAYDANG_A", "Trường Tiểu học Tây Đằng A",
                                                             teachers_count="40"),
                                         unit_row("TH_NEW", "Trường mới")]), "a.csv")
    assert p.counts == {"create": 1, "update": 1, "unchanged": 0}
    services.update_unit(SYSTEM, tree["school_a"], teachers_count=35)  # someone else, after the preview
    before = state()
    with pytest.raises(DomainError) as err:
        apply(organiser_bavi, p)
    assert err.value.code == "stale"
    assert state() == before


def test_a_plan_that_became_invalid_is_refused(tree, organiser_bavi):
    p = plan(organiser_bavi, UNITS, csv([UNIT_HEAD, unit_row("TH_NEW", "Trường mới")]), "a.csv")
    services.create_unit(SYSTEM, parent=tree["socson"], kind="institution", code="TH_NEW", name="Trường Sóc Sơn")
    before = state()
    with pytest.raises(DomainError) as err:
        apply(organiser_bavi, p)
    assert err.value.code == "invalid" and err.value.details[0]["code"] == "duplicate_code"
    assert state() == before


# --- batches: upload, preview, confirm ------------------------------------------------------------
def test_confirming_twice_applies_once(tree, organiser_bavi):
    batch = importing.start_import(organiser_bavi, UNITS, upload(csv([UNIT_HEAD, unit_row("TH_ONCE", "Trường 1")])))
    assert batch.status == "ready" and batch.summary["counts"]["create"] == 1 and batch.fingerprint
    batch = importing.confirm_batch(organiser_bavi, batch)
    assert batch.status == "applied" and batch.result["counts"]["create"] == 1
    after_first = state()
    again = importing.confirm_batch(organiser_bavi, ImportBatch.objects.get(pk=batch.pk))
    assert again.status == "applied"
    assert state() == after_first
    assert Unit.objects.filter(code="TH_ONCE").count() == 1
    assert AuditEntry.objects.filter(action="import.applied", object_id=str(batch.pk)).count() == 1


def test_a_stale_batch_fails_and_can_be_checked_again(tree, organiser_bavi):
    data = csv([UNIT_HEAD, unit_row("TH_TAYDANG_A", "Trường Tiểu học Tây Đằng A", teachers_count="40")])
    batch = importing.start_import(organiser_bavi, UNITS, upload(data))
    services.update_unit(SYSTEM, tree["school_a"], teachers_count=35)
    before = state()
    with pytest.raises(DomainError):
        importing.confirm_batch(organiser_bavi, batch)
    batch.refresh_from_db()
    assert batch.status == "failed" and batch.result["code"] == "stale"
    assert state() == before
    batch = importing.recheck_batch(organiser_bavi, batch)
    assert batch.status == "ready"
    assert importing.confirm_batch(organiser_bavi, batch).status == "applied"
    assert Unit.objects.get(code="TH_TAYDANG_A").teachers_count == 40


def test_a_malformed_file_is_an_invalid_batch(tree, organiser_bavi):
    before = state()
    batch = importing.start_import(organiser_bavi, UNITS, upload(b"PK\x03\x04broken", "a.xlsx"))
    assert batch.status == "invalid" and batch.summary["code"] == "bad_xlsx" and batch.summary["error"]
    with pytest.raises(DomainError):
        importing.confirm_batch(organiser_bavi, batch)
    assert state() == before


def test_oversized_uploads_are_refused_before_reading(tree, organiser_bavi, settings):
    settings.IMPORT_MAX_BYTES = 1000

    class Unreadable:
        name, size = "big.csv", 5000

        def chunks(self):
            raise AssertionError("the file was read")

    with pytest.raises(DomainError) as err:
        importing.start_import(organiser_bavi, UNITS, Unreadable())
    assert err.value.code == "too_large"
    assert not ImportBatch.objects.exists()


def test_only_the_owner_confirms(tree, organiser_bavi, national):
    batch = importing.start_import(organiser_bavi, UNITS, upload(csv([UNIT_HEAD, unit_row("TH_Z", "Trường Z")])))
    with pytest.raises(DomainError):
        importing.confirm_batch(national, batch)
    assert not Unit.objects.filter(code="TH_Z").exists()


def test_people_cannot_be_imported_without_rights(tree, make_user):
    nobody = make_user("nobody")
    with pytest.raises(DomainError):
        importing.start_import(nobody, PEOPLE, upload(csv([PEOPLE_HEAD, person_row("X", "Y")])))


@pytest.mark.django_db(transaction=True)
def test_large_files_are_previewed_and_applied_by_jobs(tree, organiser_bavi, monkeypatch):
    monkeypatch.setattr(importing, "SYNC_PREVIEW_BYTES", 10)
    monkeypatch.setattr(importing, "SYNC_APPLY_ROWS", 1)
    rows = [unit_row(f"TH_J{i:03d}", f"Trường {i}") for i in range(5)]
    batch = importing.start_import(organiser_bavi, UNITS, upload(csv([UNIT_HEAD, *rows])))
    assert batch.job is not None and batch.job.kind == "orgs.import_preview"
    assert batch.status == "ready" and batch.summary["counts"]["create"] == 5
    batch = importing.confirm_batch(organiser_bavi, batch)
    batch.refresh_from_db()
    assert batch.job.kind == "orgs.import_apply" and batch.job.status == "done"
    assert batch.status == "applied" and Unit.objects.filter(code__startswith="TH_J").count() == 5


def test_thousands_of_rows_in_seconds(tree, organiser_bavi):
    import time

    n = 3000
    rows = [unit_row(f"TH{i:05d}", f"Trường Tiểu học số {i}", levels="Tiểu học", teachers_count=str(i % 50))
            for i in range(n)]
    people = [person_row(f"GV{i:05d}", f"Giáo viên {i}", unit=f"TH{i % n:05d}") for i in range(n)]
    started = time.monotonic()
    p = plan(organiser_bavi, UNITS, csv([UNIT_HEAD, *rows]), "a.csv")
    apply(organiser_bavi, p)
    p = plan(organiser_bavi, PEOPLE, csv([PEOPLE_HEAD, *people]), "a.csv")
    apply(organiser_bavi, p)
    elapsed = time.monotonic() - started
    assert Unit.objects.filter(parent=tree["bavi"]).count() == n + 2
    assert Person.objects.count() == n
    assert elapsed < 30, elapsed


# --- pages ------------------------------------------------------------------------------------
def test_import_page_lists_the_columns_and_templates(client, organiser_bavi):
    client.force_login(organiser_bavi)
    html = client.get("/orgs/import/").content.decode()
    assert "Mã đơn vị cấp trên" in html and "Mã cá nhân" in html
    response = client.get("/orgs/import/template/units.xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    ws = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in ws[4]][:3] == ["Mã đơn vị*", "Tên đơn vị*", "Loại đơn vị*"]


def test_import_page_needs_rights(client, tree, make_user):
    client.force_login(make_user("viewer"))
    assert client.get("/orgs/import/").status_code == 403
    client.logout()
    assert client.get("/orgs/import/").status_code == 302


def test_upload_preview_confirm_through_the_pages(client, tree, organiser_bavi):
    client.force_login(organiser_bavi)
    data = xlsx([UNIT_HEAD, unit_row("TH_WEB", "Trường Tiểu học Web", levels="TH")])
    response = client.post("/orgs/import/", {"kind": "units", "file": upload(data, "don-vi.xlsx")})
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    html = client.get(response["Location"]).content.decode()
    assert "TH_WEB" in html and f"/orgs/import/{batch.pk}/confirm/" in html
    assert not Unit.objects.filter(code="TH_WEB").exists()
    response = client.post(f"/orgs/import/{batch.pk}/confirm/")
    assert response.status_code == 302 and response["Location"].endswith(f"/import/{batch.pk}/result/")
    assert client.get(response["Location"]).status_code == 200
    assert Unit.objects.filter(code="TH_WEB").count() == 1
    client.post(f"/orgs/import/{batch.pk}/confirm/")  # a second click
    assert Unit.objects.filter(code="TH_WEB").count() == 1


def test_a_bad_file_through_the_pages_shows_rows_and_columns(client, tree, organiser_bavi):
    client.force_login(organiser_bavi)
    before = state()
    data = csv([UNIT_HEAD, unit_row("TH_OK", "Trường tốt"), unit_row("TH_BAD", "<script>alert(1)</script>")])
    response = client.post("/orgs/import/", {"kind": "units", "file": upload(data)}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "B (Tên đơn vị)" in html and "<script>alert(1)" not in html
    batch = ImportBatch.objects.get()
    assert batch.status == "invalid"
    assert client.post(f"/orgs/import/{batch.pk}/confirm/").status_code == 302
    assert state()[:2] == before[:2]
    problems = load_workbook(io.BytesIO(client.get(f"/orgs/import/{batch.pk}/problems.xlsx").content)).active
    assert any(r[0] == 3 and r[1] == "B (Tên đơn vị)" for r in problems.iter_rows(values_only=True))


def test_an_unreadable_file_through_the_pages(client, tree, organiser_bavi):
    client.force_login(organiser_bavi)
    response = client.post("/orgs/import/", {"kind": "units", "file": upload(b"%PDF-1.4", "a.pdf")}, follow=True)
    assert response.status_code == 200 and ImportBatch.objects.get().status == "invalid"


def test_oversized_upload_through_the_pages(client, tree, organiser_bavi, settings):
    settings.IMPORT_MAX_BYTES = 2000
    client.force_login(organiser_bavi)
    before = state()
    for size in (5000, 200_000):  # caught after parsing, and from the declared length before parsing
        response = client.post("/orgs/import/", {"kind": "units", "file": upload(b"x" * size)})
        assert response.status_code == 413
        assert "MB" in response.content.decode()
    assert not ImportBatch.objects.exists() and state() == before


def test_djangos_own_upload_limits_give_the_same_page(client, tree, organiser_bavi, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 2
    client.force_login(organiser_bavi)
    response = client.post("/orgs/import/", {"kind": "units", "a": "1", "b": "2", "c": "3",
                                             "file": upload(csv([UNIT_HEAD]))})
    assert response.status_code == 413 and "errorbox" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_uploads_still_need_the_csrf_token(tree, organiser_bavi):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(organiser_bavi)
    response = client.post("/orgs/import/", {"kind": "units", "file": upload(csv([UNIT_HEAD, unit_row("T", "T")]))})
    assert response.status_code == 403
    assert not ImportBatch.objects.exists()


def test_batches_are_private(client, tree, organiser_bavi, national):
    batch = importing.start_import(organiser_bavi, UNITS, upload(csv([UNIT_HEAD, unit_row("TH_P", "Trường P")])))
    client.force_login(national)
    assert client.get(f"/orgs/import/{batch.pk}/").status_code == 404
    assert client.post(f"/orgs/import/{batch.pk}/confirm/").status_code == 404


def test_export_pages(client, tree, organiser_bavi, person_factory):
    person_factory(tree["school_a"], "Nguyễn Văn An")
    person_factory(tree["school_a"], "Trần Thị Cúc", category=Person.Category.STAFF)
    client.force_login(organiser_bavi)
    response = client.get(f"/orgs/units/{tree['bavi'].pk}/export/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert importing.read_sheet(UNITS, response.content, "a.xlsx").rows[0][1]["code"] == "PGD_BAVI"
    response = client.get(f"/orgs/units/{tree['bavi'].pk}/people/export/?q=&category=staff")
    rows = importing.read_sheet(PEOPLE, response.content, "a.xlsx").rows
    assert [r[1]["full_name"] for r in rows] == ["Trần Thị Cúc"]
    assert client.get(f"/orgs/units/{tree['socson'].pk}/export/").status_code == 404


def test_progress_fragment_then_redirect(client, tree, organiser_bavi):
    from diemcau.core.models import Job

    job = Job.objects.create(kind="orgs.import_preview", owner=organiser_bavi, status="running", progress=5,
                             total=20)
    batch = ImportBatch.objects.create(owner=organiser_bavi, kind=UNITS, filename="lon.xlsx", size=1, sha256="x",
                                       content=b"x", job=job)
    client.force_login(organiser_bavi)
    html = client.get(f"/orgs/import/{batch.pk}/?unit=abc").content.decode()
    assert f'hx-get="/orgs/import/{batch.pk}/status/"' in html and 'aria-valuenow="25"' in html
    assert client.get(f"/orgs/import/{batch.pk}/status/", HTTP_HX_REQUEST="true").status_code == 200
    ImportBatch.objects.filter(pk=batch.pk).update(status="ready")
    response = client.get(f"/orgs/import/{batch.pk}/status/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == f"/orgs/import/{batch.pk}/"
    assert client.get("/orgs/import/?unit=abc").status_code == 200


def test_problems_are_told_in_vietnamese(tree, organiser_bavi):
    from django.utils import translation

    with translation.override("vi"):
        p = plan(organiser_bavi, UNITS, csv([UNIT_HEAD, unit_row("A", "Trường A"), unit_row("A", "Trường A")]), "a.csv")
        assert p.problems[0]["message"] == "Dòng 3, cột A (Mã đơn vị): Mã A đã có ở dòng 2."
        p = plan(organiser_bavi, UNITS, csv([UNIT_HEAD, unit_row("B", "<i>B</i>")]), "a.csv")
        assert p.problems[0]["message"] == "Dòng 2, cột B (Tên đơn vị): Tên không được chứa ký tự < hoặc >."
