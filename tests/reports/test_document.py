"""The one document builder: the date line of Decree 30/2020/NĐ-CP, the heading, Vietnamese whatever
the interface, formula-safe workbooks, a PDF that fetches nothing but its own static files, and the
rule that the heading and the date line are written once in the source."""

import datetime
import io
import pathlib
import re

import pytest
from django.utils import translation
from openpyxl import load_workbook

from diemcau.core.i18n import vietnamese, vietnamese_choices
from diemcau.orgs.models import Person
from diemcau.reports.document import MOTTO, NATION, OfficialDocument, Signature, date_line, parse_day
from diemcau.reports.pdf import BASE_URL, StaticOnlyFetcher, render_pdf
from diemcau.reports.workbook import DocumentWorkbook
from tests.reports.pdftext import pdf_fonts, pdf_text

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "diemcau"

# Decree 30/2020/NĐ-CP, Appendix I: days below 10 and the months 1 and 2 take a leading zero.
DATE_LINES = [
    ((2023, 8, 15), "Hà Nội, ngày 15 tháng 8 năm 2023"),
    ((2023, 8, 5), "Hà Nội, ngày 05 tháng 8 năm 2023"),
    ((2024, 1, 5), "Hà Nội, ngày 05 tháng 01 năm 2024"),
    ((2024, 2, 20), "Hà Nội, ngày 20 tháng 02 năm 2024"),
    ((2024, 3, 1), "Hà Nội, ngày 01 tháng 3 năm 2024"),
    ((2023, 9, 9), "Hà Nội, ngày 09 tháng 9 năm 2023"),
    ((2023, 10, 10), "Hà Nội, ngày 10 tháng 10 năm 2023"),
    ((2023, 12, 31), "Hà Nội, ngày 31 tháng 12 năm 2023"),
]


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(("day", "expected"), DATE_LINES)
def test_date_line_in_the_style_of_decree_30(day, expected, language):
    with translation.override(language):
        assert date_line("Hà Nội", datetime.date(*day)) == expected


def doc(**kw) -> OfficialDocument:
    fields = {"governing": "UBND HUYỆN BA VÌ", "issuer": "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO", "symbol": "BC-PGDĐT",
              "kind": "BÁO CÁO", "title": "Kết quả tham dự hội nghị", "place": "Ba Vì",
              "day": datetime.date(2023, 8, 15), "number": "12"}
    return OfficialDocument(**{**fields, **kw})


def test_heading_number_and_symbol():
    d = doc()
    assert d.national == ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
    assert d.number_line == "Số: 12/BC-PGDĐT"
    assert doc(number="").number_line == "Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-PGDĐT"  # to write by hand
    assert d.heading_lines() == [NATION, MOTTO, "UBND HUYỆN BA VÌ", "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO", "Số: 12/BC-PGDĐT",
                                 "BÁO CÁO", "KẾT QUẢ THAM DỰ HỘI NGHỊ", "Ba Vì, ngày 15 tháng 8 năm 2023"]
    assert parse_day("05/01/2024") == parse_day("2024-01-05") == datetime.date(2024, 1, 5)
    assert parse_day("hôm nay") is None


def test_labels_from_the_models_choices_are_vietnamese_in_an_english_interface():
    with translation.override("en"):
        assert str(Person.Category.MANAGEMENT.label) == "Management board"
        assert vietnamese(Person.Category.MANAGEMENT.label) == "Ban giám hiệu"
        assert vietnamese_choices(Person.Category.choices) == {
            "management": "Ban giám hiệu", "teacher": "Giáo viên", "staff": "Nhân viên"}
        assert translation.get_language() == "en"  # the interface keeps its language


def test_document_workbook_heading_formula_safety_dates_and_frozen_header():
    book = DocumentWorkbook(doc())
    when = datetime.date(2023, 8, 5)
    book.sheet("Danh sách", ["STT", "Tên", "Ngày"], [[1, '=HYPERLINK("http://x","y")', when], [2, "+1", None],
                                                    [3, "@SUM(A1)", datetime.datetime(2023, 8, 5, 7, 30)]],
               extra=["Tổng số: 3"], widths=[6, 40, 14])
    ws = load_workbook(io.BytesIO(book.to_bytes()))["Danh sách"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][0] == NATION and rows[1][0] == MOTTO
    assert rows[7][0] == "Ba Vì, ngày 15 tháng 8 năm 2023" and rows[8][0] == "Tổng số: 3"
    header = rows.index(["STT", "Tên", "Ngày"]) + 1
    assert ws.freeze_panes == f"A{header + 1}"  # the header row stays in view
    cells = list(ws.iter_rows(min_row=header + 1))
    assert [c.value for c in cells[0][:2]] == [1, "'=HYPERLINK(\"http://x\",\"y\")"]
    assert cells[1][1].value == "'+1" and cells[2][1].value == "'@SUM(A1)"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert cells[0][2].number_format == "DD/MM/YYYY" and cells[0][2].value.date() == when
    assert cells[2][2].number_format == "HH:MM DD/MM/YYYY"
    assert ws.column_dimensions["B"].width == 40


def test_the_fetcher_serves_static_files_and_refuses_everything_else():
    fetcher = StaticOnlyFetcher()
    response = fetcher.fetch(f"{BASE_URL}static/reports/fonts.css")
    assert b"@font-face" in response.read() and response.content_type == "text/css"
    for url in ("http://127.0.0.1:1/x.png", "file:///etc/passwd", f"{BASE_URL}media/x.png",
                f"{BASE_URL}static/../settings.py", f"{BASE_URL}static/reports/%2e%2e/%2e%2e/settings.py",
                "https://documents.diemcau.invalid.evil.example/static/reports/fonts.css", "data:text/plain,x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


class Counter(StaticOnlyFetcher):
    asked: list = []

    def fetch(self, url, headers=None):
        self.asked.append(url)
        return super().fetch(url, headers)


def test_a_pdf_is_a_real_pdf_with_the_vietnamese_heading_and_the_shipped_font(monkeypatch):
    from diemcau.reports import pdf

    monkeypatch.setattr(pdf, "StaticOnlyFetcher", Counter)
    Counter.asked = []
    d = doc(signature=Signature(on_behalf="KT. TRƯỞNG PHÒNG", title="PHÓ TRƯỞNG PHÒNG", name="Nguyễn Thị Hằng"),
            recipients=["UBND huyện Ba Vì;", "Lưu: VT."])
    with translation.override("en"):  # the interface's language does not reach the document
        content = render_pdf("reports/document.html", {"doc": d})
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "UBND HUYỆN BA VÌ",
                     "Số: 12/BC-PGDĐT", "Ba Vì, ngày 15 tháng 8 năm 2023", "KẾT QUẢ THAM DỰ HỘI NGHỊ",
                     "Nơi nhận:", "- UBND huyện Ba Vì;", "KT. TRƯỞNG PHÒNG", "Nguyễn Thị Hằng"):
        assert expected in text, expected
    assert pdf_fonts(content) and all("Tinos" in name for name in pdf_fonts(content))
    assert Counter.asked and all(u.startswith(f"{BASE_URL}static/reports/") for u in Counter.asked)


def test_the_heading_and_the_date_line_are_written_once():
    """The national heading and the date line live in reports/document.py; no other module, template
    or stylesheet of the product writes them (the three copies that disagreed are gone)."""
    copies = []
    for path in SRC.rglob("*"):
        if path.suffix not in (".py", ".html", ".js") or "locale" in path.parts or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if path.relative_to(SRC).as_posix() == "reports/document.py":
            continue
        if "CỘNG HÒA XÃ HỘI" in text or "Độc lập - Tự do" in text or re.search(r"ngày \{.*tháng \{", text) \
                or "day %(d)s month" in text:
            copies.append(path.relative_to(SRC).as_posix())
    assert copies == []
