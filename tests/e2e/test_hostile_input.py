"""What a person sees when text or a spreadsheet is refused (Trust items 11 and 12), in a real browser."""

import datetime

import pytest

from diemcau.events.models import Conference
from diemcau.orgs.models import Unit

from ..core.test_excel_bombs import huge_dimension
from .conftest import login, shot


@pytest.mark.django_db(transaction=True)
def test_refusals_are_clear_on_desktop_and_phone(page, phone, tree, organiser_bavi, make_user, person_factory,
                                                 tmp_path):
    login(page, "bavi")
    # A list whose row 3 hides a right-to-left override in a name and row 4 a zero-width space in a code.
    bad = tmp_path / "don-vi.csv"
    bad.write_text("Mã đơn vị,Tên đơn vị,Loại đơn vị,Mã đơn vị cấp trên\n"
                   "TH_BAVI_OK,Trường Tiểu học Thuần Mỹ B,Cơ sở giáo dục,PGD_BAVI\n"
                   "TH_BAVI_RLO,Trường Tiểu học \u202eB ỹM nầuhT,Cơ sở giáo dục,PGD_BAVI\n"
                   "TH_BAVI\u200bZW,Trường Mầm non Ba Trại B,Cơ sở giáo dục,PGD_BAVI\n", encoding="utf-8")
    page.goto(page.base_url + "/orgs/import/")
    page.check("input[name=kind][value=units]")
    page.set_input_files("#import-file", str(bad))
    page.click("main button[type=submit].primary")
    page.wait_for_selector("tr.row-error")
    errors = page.inner_text("table.grid")
    assert "U+202E" in errors and "U+200B" in errors and "ký tự định dạng ẩn" in errors
    shot(page, "input-import-invisible-characters")
    preview = page.url
    assert not Unit.objects.filter(code__startswith="TH_BAVI").exists()

    # The workbook: a few KB that declare a million rows by 16,384 columns.
    bomb = tmp_path / "bang-lon.xlsx"
    bomb.write_bytes(huge_dimension())
    page.goto(page.base_url + "/orgs/import/")
    page.check("input[name=kind][value=units]")
    page.set_input_files("#import-file", str(bomb))
    page.click("main button[type=submit].primary")
    page.wait_for_selector(".errorbox")
    assert "A1:XFD1048576" in page.inner_text(".errorbox")
    shot(page, "input-import-huge-sheet-refused")

    # A teacher on a phone pastes an opinion with a right-to-left override.
    conference = Conference.objects.create(title="Hội nghị gặp mặt nhà giáo", date=datetime.date(2026, 11, 20),
                                           host_unit=tree["ministry"])
    person_factory(tree["school_a"], "Nguyễn Thị Lan", user=make_user("gv_lan"))
    for screen, name in ((phone, "phone"), (page, "desktop")):
        screen.context.clear_cookies()
        login(screen, "gv_lan")
        screen.goto(screen.base_url + f"/voice/{conference.pk}/")
        screen.fill("#id_text", "Đề nghị tăng phụ cấp \u202echo giáo viên")
        screen.click("#send-form button[type=submit]")
        screen.wait_for_selector(".errorbox[data-code=unsafe_char]")
        assert "U+202E" in screen.inner_text(".errorbox")
        shot(screen, f"input-opinion-bidi-refused-{name}")

    # The import's problems on a phone.
    phone.context.clear_cookies()
    login(phone, "bavi")
    phone.goto(preview)
    phone.wait_for_selector("tr.row-error")
    assert "U+200B" in phone.inner_text("main")
    shot(phone, "input-import-invisible-characters-phone")
