"""The files officials send: CSV in UTF-16 or Windows-1258, old .xls workbooks."""

import io
import unicodedata

import pytest
import xlwt

from diemcau.core.errors import DomainError
from diemcau.core.excel import Column, megabytes, read_table, too_large

COLUMNS = [Column("code", "Mã đơn vị", required=True), Column("name", "Tên đơn vị", required=True)]
TABLE = "Mã đơn vị,Tên đơn vị\n01271032,Trường Tiểu học Tây Đằng A\nPGD_BAVI,Phòng Giáo dục và Đào tạo Ba Vì\n"


def _rows(sheet):
    return [raw for _row, raw in sheet.rows]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "cp1258", "utf-8-sig"])
def test_csv_in_the_encodings_officials_use(encoding):
    # UTF-16: Excel's "Unicode text" (with or without its byte-order mark); Windows-1258: older Excel.
    data = _cp1258(TABLE) if encoding == "cp1258" else TABLE.encode(encoding)
    sheet = read_table(data, "don-vi.csv", COLUMNS)
    assert _rows(sheet)[0] == {"code": "01271032", "name": "Trường Tiểu học Tây Đằng A"}
    assert _rows(sheet)[1]["name"] == "Phòng Giáo dục và Đào tạo Ba Vì"


def _cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: the letter (ă â ê ô ơ ư đ) precomposed, its tone as a combining mark."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = bytearray()
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        letter = unicodedata.normalize("NFC", "".join(p for p in parts if p not in tones))
        out += letter.encode("cp1258") + "".join(p for p in parts if p in tones).encode("cp1258")
    return bytes(out)


def test_an_old_xls_workbook_is_read_with_its_leading_zeros():
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Don vi")
    sheet.write(0, 0, "DANH SÁCH ĐƠN VỊ")
    for col, header in enumerate(["Mã đơn vị", "Tên đơn vị"]):
        sheet.write(2, col, header)
    sheet.write(3, 0, "01271032")  # kept as text
    sheet.write(3, 1, "Trường Tiểu học Tây Đằng A")
    sheet.write(4, 0, 1271033)     # stored as a number: its leading zero is gone
    sheet.write(4, 1, "Trường Mầm non Vân Hòa")
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue(), "don-vi.xls", COLUMNS)
    assert table.header_row == 3
    assert _rows(table) == [{"code": "01271032", "name": "Trường Tiểu học Tây Đằng A"},
                            {"code": "1271033", "name": "Trường Mầm non Vân Hòa"}]


def test_the_size_limit_is_stated_as_the_page_states_it():
    limit = 10 * 1024 * 1024
    assert megabytes(limit) == "10 MB"
    with pytest.raises(DomainError) as err:
        read_table(b"x" * (limit + 600_000), "big.csv", COLUMNS, max_bytes=limit)
    assert err.value.message == too_large(limit + 600_000, limit).message
    assert "giới hạn là 10 MB" in err.value.message
