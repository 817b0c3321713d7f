"""The Ba Vì organiser finds a school without diacritics, imports a spreadsheet, fixes it, sees the units."""

import io

import pytest
from openpyxl import Workbook

from diemcau.orgs.models import Unit

from .conftest import login, shot


def _sheet(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH CƠ SỞ GIÁO DỤC BỔ SUNG"])  # a title above the header, as officials do
    ws.merge_cells("A1:F1")
    ws.append(["Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Mã đơn vị cấp trên", "Cấp học", "Xã/phường"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = [
    ["MN_BAVI_NEW1", "Trường Mầm non Ba Trại B", "Cơ sở giáo dục", "PGD_BAVI", "Mầm non", "Ba Trại"],
    ["TH_BAVI_NEW2", "Trường Tiểu học Thuần Mỹ B", "Cơ sở giáo dục", "PGD_BAVI", "Tiểu học", "Thuần Mỹ"],
    ["THCS_BAVI_NEW3", "Trường THCS Minh Quang B", "Cơ sở giáo dục", "PGD_BAVI", "THCS", "Minh Quang"],
    ["TH_BAVI_NEW4", "Trường Tiểu học Ba Vì B", "Cơ sở giáo dục", "PGD_BAVI", "Tiểu học", "Ba Vì"],
]


@pytest.mark.django_db(transaction=True)
def test_find_import_fix_and_see(page, tree, organiser_bavi, tmp_path):
    login(page, "bavi")

    # Find a school by typing its name without diacritics.
    page.goto(page.base_url + "/orgs/")
    page.fill("input[name=q]", "tay dang")
    page.wait_for_selector("#search-results .result")
    assert "Trường Tiểu học Tây Đằng A" in page.inner_text("#search-results")
    shot(page, "tree-search")

    # A file with two bad rows: a code written twice, and a name carrying markup.
    bad = [*GOOD[:3], ["TH_BAVI_NEW2", "Trường Mầm non trùng mã", "Cơ sở giáo dục", "PGD_BAVI", "Mầm non", ""],
           ["TH_BAVI_X", "<script>alert(1)</script>", "Cơ sở giáo dục", "PGD_BAVI", "Tiểu học", ""]]
    bad_file = tmp_path / "don-vi-loi.xlsx"
    bad_file.write_bytes(_sheet(bad))
    page.goto(page.base_url + "/orgs/import/")
    page.check("input[name=kind][value=units]")
    page.set_input_files("#import-file", str(bad_file))
    page.click("main button[type=submit].primary")
    page.wait_for_selector("tr.row-error")
    errors = page.inner_text("table.grid")
    assert "6" in errors and "7" in errors  # the two bad rows, numbered as in Excel (header in row 2)
    assert "TH_BAVI_NEW2" in errors
    assert "<script>" not in page.content().split("<tbody>")[1].split("</tbody>")[0].replace("&lt;", "")
    shot(page, "import-errors")
    assert not Unit.objects.filter(code__startswith="MN_BAVI_NEW").exists()  # nothing partial

    # Fixed: the two rows corrected.
    good_file = tmp_path / "don-vi.xlsx"
    good_file.write_bytes(_sheet(GOOD))
    page.goto(page.base_url + "/orgs/import/")
    page.check("input[name=kind][value=units]")
    page.set_input_files("#import-file", str(good_file))
    page.click("main button[type=submit].primary")
    confirm = page.wait_for_selector("form[action$='/confirm/'] button")
    assert "4" in confirm.inner_text()
    shot(page, "import-preview")
    confirm.click()
    page.wait_for_url("**/result/")
    shot(page, "import-result")

    # The new units are in the tree, under Ba Vì.
    page.goto(page.base_url + "/orgs/")
    page.click(f"#node-{tree['bavi'].pk} > button.toggle")
    page.wait_for_selector(f"#kids-{tree['bavi'].pk} li")
    kids = page.inner_text(f"#kids-{tree['bavi'].pk}")
    for row in GOOD:
        assert row[1] in kids
    assert Unit.objects.get(code="THCS_BAVI_NEW3").parent_id == tree["bavi"].pk
    shot(page, "tree-after-import")


@pytest.mark.django_db(transaction=True)
def test_phone_layout(phone, tree, organiser_bavi):
    login(phone, "bavi")
    phone.goto(phone.base_url + f"/orgs/units/{tree['bavi'].pk}/")
    assert phone.is_visible("h1")
    # The menu folds behind a button on a phone and opens on tap.
    assert not phone.is_visible("#mainnav")
    phone.click(".menu-toggle")
    assert phone.is_visible("#mainnav")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone ({width}px)"
    shot(phone, "unit-phone")
