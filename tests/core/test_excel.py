"""Spreadsheets in and out: Excel's habits when reading, formula injection when writing."""

import datetime
import io
import unicodedata

import pytest
from openpyxl import Workbook, load_workbook

from diemcau.core.errors import DomainError
from diemcau.core.excel import Column, build_workbook, cell_text, column_letter, read_table, safe_cell

pytestmark = pytest.mark.smoke

COLUMNS = [
    Column("code", "Mã đơn vị", required=True),
    Column("name", "Tên đơn vị", required=True),
    Column("teachers", "Số giáo viên"),
]


def xlsx(rows, *, title=None) -> bytes:
    """An .xlsx with an optional merged title block above the table."""
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
        ws.append([])
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_csv_with_and_without_bom_read_the_same():
    text = "Mã đơn vị,Tên đơn vị,Số giáo viên\n001,Trường Tiểu học Cổ Đô,30\n"
    plain = read_table(text.encode("utf-8"), "a.csv", COLUMNS)
    bom = read_table(b"\xef\xbb\xbf" + text.encode("utf-8"), "a.csv", COLUMNS)
    assert plain.rows == bom.rows == [(2, {"code": "001", "name": "Trường Tiểu học Cổ Đô", "teachers": "30"})]


def test_semicolon_csv_and_required_marks_in_headers():
    text = "Mã đơn vị*;Tên đơn vị *;Số giáo viên\nA1;Trường A;5\n"
    sheet = read_table(text.encode(), "a.csv", COLUMNS)
    assert sheet.rows == [(2, {"code": "A1", "name": "Trường A", "teachers": "5"})]


def test_header_under_a_merged_title_row():
    data = xlsx([["Mã đơn vị", "Tên đơn vị", "Số giáo viên"], ["TH01", "Trường TH 1", 12]],
                title="DANH SÁCH ĐƠN VỊ")
    sheet = read_table(data, "a.xlsx", COLUMNS)
    assert sheet.header_row == 3
    assert sheet.column_letters == {"code": "A", "name": "B", "teachers": "C"}
    assert sheet.rows == [(4, {"code": "TH01", "name": "Trường TH 1", "teachers": "12"})]


def test_excel_habits_trailing_spaces_text_numbers_leading_zeros_nfd():
    nfd = unicodedata.normalize("NFD", "Trường Mầm non Vân Hòa")
    data = xlsx([["Mã đơn vị ", " Tên đơn vị", "Số giáo viên"],
                 ["00123", nfd + "   ", "30"],
                 [" 0456 ", "Trường  B", 30.0]])
    rows = [values for _n, values in read_table(data, "a.xlsx", COLUMNS).rows]
    assert rows[0] == {"code": "00123", "name": "Trường Mầm non Vân Hòa", "teachers": "30"}
    assert unicodedata.is_normalized("NFC", rows[0]["name"])
    assert rows[1] == {"code": "0456", "name": "Trường B", "teachers": "30"}


def test_empty_rows_are_skipped_and_row_numbers_are_the_sheets():
    data = xlsx([["Mã đơn vị", "Tên đơn vị"], ["A", "Một"], [None, None], ["B", "Hai"]])
    assert [n for n, _v in read_table(data, "a.xlsx", COLUMNS).rows] == [2, 4]


@pytest.mark.parametrize("value,text", [
    (None, ""), (30.0, "30"), (21.0285, "21.0285"), (True, "1"),
    (datetime.date(2023, 8, 15), "15/08/2023"), (datetime.datetime(2023, 8, 15, 8, 30), "15/08/2023 08:30"),
    ("'=1+2", "=1+2"), ("  a  b ", "a b"),
])
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


@pytest.mark.parametrize("data,name,code", [
    (b"PK\x03\x04 not really a zip", "a.xlsx", "bad_xlsx"),
    (b"\x00\x01garbage", "a.xlsx", "bad_xlsx"),
    (b"\xd0\xcf\x11\xe0old", "a.xls", "bad_xls"),  # damaged: a real .xls is read (tests/core/test_excel_encodings.py)
    (b"%PDF-1.4", "a.pdf", "bad_format"),
    (b"", "a.csv", "empty_file"),
    (b"x,y\n1,2\n", "a.csv", "no_header"),
    ("Mã đơn vị,Ghi chú\nA,x\n".encode(), "a.csv", "missing_columns"),
])
def test_unusable_files_are_refused_with_a_code(data, name, code):
    with pytest.raises(DomainError) as err:
        read_table(data, name, COLUMNS)
    assert err.value.code == code
    assert err.value.message


def test_missing_columns_are_named():
    with pytest.raises(DomainError) as err:
        read_table("Mã đơn vị,Ghi chú\nA,x\n".encode(), "a.csv", COLUMNS)
    assert "Tên đơn vị" in err.value.message
    assert err.value.details == [{"row": 1, "column": "", "message": "Tên đơn vị"}]


def test_size_limit_is_checked_first():
    with pytest.raises(DomainError) as err:
        read_table(b"x" * 2000, "a.csv", COLUMNS, max_bytes=1000)
    assert err.value.code == "too_large"


@pytest.mark.parametrize("text", ["=1+2", '=HYPERLINK("http://evil","bấm")', "+84912345678", "-5", "@SUM(A1)"])
def test_written_cells_are_never_formulas_and_read_back_as_written(text):
    content = build_workbook("T", ["Mã đơn vị", "Tên đơn vị"], [["A1", text]], heading=["TIÊU ĐỀ"])
    ws = load_workbook(io.BytesIO(content)).active
    cell = ws.cell(row=4, column=2)
    assert cell.data_type == "s"
    assert not str(cell.value).startswith("=")
    sheet = read_table(content, "a.xlsx", COLUMNS)
    assert sheet.rows == [(4, {"code": "A1", "name": text})]


def test_safe_cell_leaves_numbers_and_plain_text():
    assert safe_cell(5) == 5
    assert safe_cell("Trường") == "Trường"
    assert safe_cell("=x") == "'=x"
