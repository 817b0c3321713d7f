"""Hostile text and spreadsheets through the real pages and imports (Trust items 11 and 12), on the
suite's database (PostgreSQL in the main run, where NUL in a query used to be a 500)."""

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from diemcau.core.models import Job
from diemcau.orgs import importing
from diemcau.orgs.models import ImportBatch, Person, Unit

from ..core.test_excel_bombs import huge_dimension, inflating_sheet
from .sheets import PEOPLE_HEAD, UNIT_HEAD, csv, person_row, plan, state, unit_row, xlsx

pytestmark = pytest.mark.smoke

UNITS, PEOPLE = ImportBatch.Kind.UNITS, ImportBatch.Kind.PEOPLE
HOSTILE = {"\x00": "U+0000", "\x07": "U+0007", "\u202e": "U+202E", "\u200b": "U+200B"}


@pytest.fixture
def bavi_client(client, organiser_bavi):
    client.force_login(organiser_bavi)
    return client


# --- item 11: refused on the way in, by row and column ----------------------------------------------
@pytest.mark.parametrize("char,code_point", HOSTILE.items())
def test_import_refuses_hostile_names_and_codes_by_row_and_column(tree, organiser_bavi, char, code_point):
    before = state()
    rows = [UNIT_HEAD, unit_row("TH_OK", "Trường Tiểu học Tốt"), unit_row("TH_BAD", f"Trường{char} Tiểu học"),
            unit_row(f"TH{char}X", "Trường X")]
    # openpyxl cannot write C0 controls into a workbook; they come in by CSV.
    data, name = (csv(rows), "a.csv") if char < " " else (xlsx(rows), "a.xlsx")
    p = plan(organiser_bavi, UNITS, data, name)
    found = {(x["row"], x["column"], x["code"]) for x in p.problems}
    assert found == {(3, "B (Tên đơn vị)", "unsafe_char"), (4, "A (Mã đơn vị)", "unsafe_char")}
    assert all(code_point in x["message"] for x in p.problems)
    p = plan(organiser_bavi, PEOPLE, csv([PEOPLE_HEAD, person_row("GV_1", f"Nguyễn{char} An")]), "a.csv")
    assert [(x["row"], x["code"]) for x in p.problems] == [(2, "unsafe_char")]
    assert state() == before


@pytest.mark.parametrize("char,code_point", HOSTILE.items())
def test_upload_page_shows_the_problem_and_imports_nothing(bavi_client, tree, char, code_point):
    data = csv([UNIT_HEAD, unit_row("TH_NEW", f"Trường{char} Mới")])
    r = bavi_client.post("/orgs/import/", {"kind": UNITS, "file": SimpleUploadedFile("a.csv", data)})
    assert r.status_code == 302, r.content[:500]
    page = bavi_client.get(r["Location"])
    assert page.status_code == 200 and code_point in page.content.decode()
    assert not Unit.objects.filter(code="TH_NEW").exists()


@pytest.mark.parametrize("q", ["Tây\x00Đằng", "\x00", "a\u202eb", "\x07"])
def test_search_boxes_never_500(bavi_client, tree, q):
    bavi = tree["bavi"].pk
    for url in ("/orgs/search/", f"/orgs/units/{bavi}/people/", f"/orgs/units/{bavi}/people/export/",
                "/audit/"):
        r = bavi_client.get(url, {"q": q, "action": q}, HTTP_HX_REQUEST="true")
        assert r.status_code in (200, 400), (url, r.status_code)


def test_search_with_nul_still_finds(organiser_bavi, tree, person_factory):
    # Requests with NUL are refused (core.middleware.RefuseNulMiddleware); the services strip it too.
    from diemcau.orgs import services

    assert [u.code for u in services.search_units(organiser_bavi, "Tây\x00 Đằng")] == ["TH_TAYDANG_A"]
    person_factory(tree["school_a"], "Nguyễn Thị Hoa", code="GV_HOA")
    assert [p.code for p in services.search_people(organiser_bavi, "\x00hoa\u200b")] == ["GV_HOA"]


# --- item 11: exports never break on stored data ---------------------------------------------------
def test_stored_control_characters_export(bavi_client, tree, person_factory):
    # Written before the rule, or by SQL: \x00 cannot be stored in PostgreSQL text, the rest can.
    Unit.objects.filter(pk=tree["school_a"].pk).update(name="Trường\x07 Tây\x1b Đằng\u202e A")
    person = person_factory(tree["school_a"], "Nguyễn An")
    Person.objects.filter(pk=person.pk).update(full_name="=Nguyễn\x01 An", position="\x01")
    r = bavi_client.get(f"/orgs/units/{tree['bavi'].pk}/export/")
    assert r.status_code == 200
    names = [row[1] for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    assert "Trường\ufffd Tây\ufffd Đằng\u202e A" in names
    r = bavi_client.get(f"/orgs/units/{tree['bavi'].pk}/people/export/")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert any(row[1] == "'=Nguyễn\ufffd An" for row in rows)


# --- item 12: hostile workbooks through the upload page ----------------------------------------------
@pytest.mark.timeout(20)
@pytest.mark.parametrize("make,code", [(huge_dimension, "A1:XFD1048576"), (lambda: inflating_sheet(300), "MB")])
def test_hostile_workbook_upload_is_refused_at_once(bavi_client, tree, make, code):
    data = make()
    started = time.perf_counter()
    r = bavi_client.post("/orgs/import/", {"kind": UNITS, "file": SimpleUploadedFile("a.xlsx", data)})
    # The refusal itself takes milliseconds (tests/core/test_excel_bombs.py); the page around it, on a
    # machine shared by many test runs, is given room.
    assert time.perf_counter() - started < 5.0
    assert r.status_code == 400 and code in r.content.decode()
    assert not ImportBatch.objects.exists()


def test_a_workbook_that_inflates_beyond_the_threshold_is_previewed_by_a_job(organiser_bavi, tree, settings):
    settings.IMPORT_SYNC_UNCOMPRESSED_BYTES = 1000
    data = xlsx([UNIT_HEAD, unit_row("TH_JOB", "Trường Tiểu học Việc Nền")])
    assert len(data) < importing.SYNC_PREVIEW_BYTES
    batch = importing.start_import(organiser_bavi, UNITS, SimpleUploadedFile("a.xlsx", data))
    assert batch.job is not None and batch.job.kind == "orgs.import_preview"
    assert Job.objects.filter(pk=batch.job_id).exists()

