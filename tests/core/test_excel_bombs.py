"""Hostile spreadsheets (Trust item 12): a sheet that declares a huge size, a zip bomb, a sheet of
millions of rows. Each is refused before it is parsed, fast and in bounded memory."""

import io
import multiprocessing
import re
import resource
import time
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook

from diemcau.core import excel
from diemcau.core.errors import DomainError
from diemcau.core.excel import Column, read_table

pytestmark = [pytest.mark.smoke, pytest.mark.timeout(10)]

COLUMNS = [Column("code", "Mã đơn vị", required=True), Column("name", "Tên đơn vị", required=True)]


def plain_xlsx(rows=(("Mã đơn vị", "Tên đơn vị"), ("TH01", "Trường Tiểu học Cổ Đô"))) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rewrite(data: bytes, name: str, change, *, level=9) -> bytes:
    """The same workbook with one entry's text changed by ``change`` (a function or new bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == name:
                if callable(change):
                    dst.writestr(info.filename, change(content))
                    continue
                with dst.open(info.filename, "w") as f:  # a generator of chunks: streamed, never held
                    for chunk in change:
                        f.write(chunk)
                continue
            dst.writestr(info, content)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def huge_dimension() -> bytes:
    """The issue's 24 KB file in miniature: two real rows and one far cell, under A1:XFD1048576."""
    def change(xml):
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)
        return xml.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
    return rewrite(plain_xlsx(), SHEET, change)


def inflating_sheet(megabytes: int) -> bytes:
    """A sheet whose XML inflates to ``megabytes`` MB (a string of spaces inside one cell)."""
    head = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
            b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:B2"/>'
            b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>M\xc3\xa3 \xc4\x91\xc6\xa1n v\xe1\xbb\x8b</t>'
            b'</is></c><c r="B1" t="inlineStr"><is><t>T\xc3\xaan</t></is></c></row>'
            b'<row r="2"><c r="A2" t="inlineStr"><is><t>TH01</t></is></c><c r="B2" t="inlineStr"><is><t>x')
    tail = b"</t></is></c></row></sheetData></worksheet>"
    block = b"a" * (1 << 20)

    def chunks():
        yield head
        for _ in range(megabytes):
            yield block
        yield tail

    return rewrite(plain_xlsx(), SHEET, chunks(), level=1)


def many_rows(n: int) -> bytes:
    """A real sheet of ``n`` rows, written by hand so that the test is quick."""
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i) for i in range(2, n + 2))
    xml = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
           b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           b'<row r="1"><c r="A1" t="inlineStr"><is><t>Ma don vi</t></is></c>'
           b'<c r="B1" t="inlineStr"><is><t>Ten don vi</t></is></c></row>' + rows + b"</sheetData></worksheet>")
    return rewrite(plain_xlsx(), SHEET, lambda _xml: xml)


def _read_in_child(data: bytes, conn):
    """Read ``data`` under a hard cap on memory; send back (code, message, seconds, peak bytes)."""
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + 600 * 1024 * 1024, resource.RLIM_INFINITY))
    tracemalloc.start()
    started = time.perf_counter()
    try:
        read_table(data, "bom.xlsx", COLUMNS)
        outcome = ("read", "", 0.0)
    except DomainError as exc:
        outcome = (exc.code, exc.message, time.perf_counter() - started)
    except MemoryError:
        outcome = ("MemoryError", "over 600 MB", time.perf_counter() - started)
    conn.send((*outcome, tracemalloc.get_traced_memory()[1]))


def refused_quickly(data: bytes, code: str, wait: float = 8.0, max_seconds: float = 1.0):
    """Read a hostile file in a child process (so a failure cannot take the machine's memory) and
    check that it was refused with ``code`` in under ``max_seconds`` (a second) and 30 MB."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_read_in_child, args=(data, child))
    proc.start()
    try:
        assert parent.poll(wait), f"still reading after {wait} s"
        got, message, seconds, peak = parent.recv()
    finally:
        proc.kill()
        proc.join()
    assert got == code, (got, message)
    assert seconds < max_seconds, seconds
    assert peak < 30 * 1024 * 1024, peak
    return message


def test_a_small_file_declaring_a_million_rows_and_16384_columns_is_refused():
    data = huge_dimension()
    assert len(data) < 10_000
    message = refused_quickly(data, "sheet_too_big")
    assert "A1:XFD1048576" in message


def test_a_sheet_that_inflates_to_hundreds_of_megabytes_is_refused():
    data = inflating_sheet(300)
    assert len(data) < 2_000_000
    refused_quickly(data, "xlsx_too_big")


def test_a_high_compression_ratio_is_refused_even_under_the_total_limit():
    data = inflating_sheet(20)
    refused_quickly(data, "xlsx_too_big")


def test_rows_beyond_the_limit_are_refused_while_streaming(settings):
    settings.IMPORT_MAX_ROWS = 2000
    # The rows up to the limit are parsed (under tracemalloc, which slows parsing several times).
    message = refused_quickly(many_rows(5000), "too_many_rows", max_seconds=4.0)
    assert "2000" in message.replace(".", "").replace(",", "")


def test_a_sheet_without_a_dimension_that_is_too_wide_is_refused():
    xml = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
           b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           + b"".join(b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (i, i) for i in range(1, 200))
           + b"</sheetData></worksheet>")
    refused_quickly(rewrite(plain_xlsx(), SHEET, lambda _x: xml), "too_many_columns")


def test_a_csv_of_too_many_rows_is_refused(settings):
    settings.IMPORT_MAX_ROWS = 1000
    data = ("Mã đơn vị,Tên đơn vị\n" + "A,B\n" * 5000).encode()
    with pytest.raises(DomainError) as err:
        read_table(data, "a.csv", COLUMNS)
    assert err.value.code == "too_many_rows"


def test_an_honest_file_still_reads_and_reports_its_uncompressed_size():
    data = plain_xlsx()
    sheet = read_table(data, "a.xlsx", COLUMNS)
    assert sheet.rows == [(2, {"code": "TH01", "name": "Trường Tiểu học Cổ Đô"})]
    assert 0 < excel.uncompressed_size(data, "a.xlsx") < 100_000
    assert excel.uncompressed_size(b"a,b\n", "a.csv") == 4


def test_a_sheet_whose_dimension_understates_it_is_read_whole():
    # Some generators write <dimension ref="A1"/> over a full table; reading must not stop at A1.
    data = rewrite(plain_xlsx(), SHEET, lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1"/>', xml))
    assert len(read_table(data, "a.xlsx", COLUMNS).rows) == 1
