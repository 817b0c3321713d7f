"""Spreadsheets in and out, the way officials make them.

Reading copes with Excel's habits: a title block of merged rows above the real header, trailing
spaces, numbers stored as text (and text stored as numbers), codes with leading zeros, CSV in
UTF-8 with or without a BOM. Writing is safe from formula injection.
"""

import csv
import datetime
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from .errors import DomainError
from .vntext import fold, nfc

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
HEADER_SEARCH_ROWS = 15


@dataclass
class Column:
    """A column an import understands: its key, its label, and the headers officials write."""

    key: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = False

    def matches(self, header: str) -> bool:
        h = fold(header).strip(" *:.")
        return h in {fold(self.label)} | {fold(a) for a in self.aliases} | {self.key}


@dataclass
class Sheet:
    """The rows of an uploaded table, keyed by column, with their spreadsheet row numbers."""

    columns: dict[str, int]  # key -> 0-based column index
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    header_row: int = 1
    column_letters: dict[str, str] = field(default_factory=dict)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_text(value) -> str:
    """Turn one cell into text as the official meant it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    text = nfc(str(value))
    # Our own exports protect formula-like text with a leading apostrophe; take it off again.
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


# What an upload may unpack to and hold. Checked before a workbook is parsed (the zip's directory
# and the sheet's declared <dimension>), then again while rows stream in (a sheet may declare
# nothing, or less than it holds). Each is a setting (IMPORT_MAX_*, declared with its default in
# settings.py); see docs/SECURITY.md.
def _limit(name: str) -> int:
    return int(getattr(settings, name))  # name is one of the IMPORT_MAX_* settings
# Entries smaller than this are not held to the ratio (tiny XML parts compress very well).
_RATIO_FLOOR = 1024 * 1024
_MAX_ENTRIES = 10_000


def read_table(data: bytes, filename: str, columns: list[Column], max_bytes: int | None = None) -> Sheet:
    """Read an .xlsx or .csv upload into a :class:`Sheet`; raise :class:`DomainError` if unusable.

    A workbook is checked (:func:`check_upload`) before it is parsed, and rows are counted as they
    stream in, so a hostile file is refused fast and in bounded memory.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise too_large(len(data), max_bytes)
    if not data:
        raise DomainError(_("The file is empty."), "empty_file")
    kind = _file_kind(data, filename)
    readers = {"xlsx": _xlsx_rows, "xls": _xls_rows, "csv": _csv_rows}
    return _locate(readers[kind](data), columns)


def megabytes(size: int) -> str:
    """A size as the import pages state limits: "10 MB", "10,5 MB" (MB = 1024 × 1024 bytes)."""
    mb = round(size / 1024 / 1024, 1)
    return _("%(mb)s MB") % {"mb": number_format(int(mb) if mb.is_integer() else mb)}


def too_large(size: int, limit: int) -> DomainError:
    """An upload over the limit, in the same words and units as the page that states the limit."""
    return DomainError(_("The file is %(size)s; the limit is %(limit)s.")
                       % {"size": megabytes(size), "limit": megabytes(limit)}, "too_large")


def _file_kind(data: bytes, filename: str) -> str:
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        return "xlsx"
    if name.endswith(".csv") or name.endswith(".txt"):
        return "csv"
    if name.endswith(".xls") or data[:8] == _OLE_MAGIC:
        return "xls"
    raise DomainError(_("Upload an Excel (.xlsx) or CSV file."), "bad_format")


def uncompressed_size(data: bytes, filename: str) -> int:
    """What reading an upload means in bytes: a workbook's declared unpacked size, a CSV's length."""
    if data[:2] == b"PK" or (filename or "").lower().endswith(".xlsx"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return sum(i.file_size for i in archive.infolist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return len(data)
    return len(data)


# Files up to this size, that unpack to no more than settings.IMPORT_SYNC_UNCOMPRESSED_BYTES, are read
# within the request; larger ones by a background job (every import follows this one rule).
SYNC_READ_BYTES = 200_000


def reads_inline(size: int, unpacked: int, max_bytes: int = SYNC_READ_BYTES) -> bool:
    """Whether reading an upload is cheap enough for a request (else a background job reads it)."""
    return size <= max_bytes and unpacked <= settings.IMPORT_SYNC_UNCOMPRESSED_BYTES


def check_upload(data: bytes, filename: str) -> int:
    """Refuse an upload that reading would make costly, without parsing it; return its unpacked size.

    For a workbook: the zip directory's declared sizes (in total and per entry against its packed
    size: a zip bomb) and the first sheet's declared ``<dimension>``. Python's zip reader never
    inflates an entry beyond its declared size, so the declared sizes bound the work.

    A file that is not a usable table at all (damaged, .xls, another format) passes: it is cheap to
    refuse, and ``read_table`` says what is wrong with it where the import shows its problems.
    """
    try:
        if _file_kind(data, filename) != "xlsx":
            return len(data)
        wb = _open_workbook(data)
    except DomainError as exc:
        if exc.code in ("bad_xlsx", "bad_format", "bad_xls"):
            return len(data)
        raise
    try:
        if wb.worksheets:  # a workbook without sheets is read_table's "not a valid workbook"
            _check_dimension(wb.worksheets[0])
    finally:
        wb.close()
    return uncompressed_size(data, filename)


def _bad_xlsx():
    return DomainError(_("The file is not a valid Excel workbook (.xlsx)."), "bad_xlsx")


def _check_archive(data: bytes):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _bad_xlsx() from exc
    limit = _limit("IMPORT_MAX_UNCOMPRESSED_BYTES")
    total = sum(i.file_size for i in entries)
    if total > limit or len(entries) > _MAX_ENTRIES:
        raise DomainError(
            _("The workbook unpacks to %(size).1f MB; the limit is %(limit).1f MB. Split it into smaller files.")
            % {"size": total / 1e6, "limit": limit / 1e6}, "xlsx_too_big")
    ratio = _limit("IMPORT_MAX_COMPRESSION_RATIO")
    for info in entries:
        if info.file_size > _RATIO_FLOOR and info.file_size > ratio * max(info.compress_size, 1):
            raise DomainError(
                _("The workbook is packed abnormally tightly: %(name)s unpacks to %(size).1f MB, %(ratio)d "
                  "times its packed size (the limit is %(limit)d). Open it in Excel, save it again and "
                  "upload it again.")
                % {"name": info.filename, "size": info.file_size / 1e6,
                   "ratio": info.file_size // max(info.compress_size, 1), "limit": ratio}, "xlsx_too_big")


def _open_workbook(data: bytes):
    from openpyxl import load_workbook

    _check_archive(data)
    try:
        # read_only streams the sheet; it reads only the start of its XML to learn the dimension.
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on damaged files
        raise _bad_xlsx() from exc


def _check_dimension(ws):
    """Refuse a sheet whose declared ``<dimension ref=...>`` is beyond the limits."""
    from openpyxl.utils import get_column_letter

    rows, cols = ws.max_row, ws.max_column
    if not rows or not cols:
        return  # no dimension declared: the streaming counts decide
    max_rows, max_cols = _limit("IMPORT_MAX_ROWS"), _limit("IMPORT_MAX_COLUMNS")
    if rows > max_rows + HEADER_SEARCH_ROWS or cols > max_cols or rows * cols > _limit("IMPORT_MAX_CELLS"):
        ref = f"{get_column_letter(ws.min_column or 1)}{ws.min_row or 1}:{get_column_letter(cols)}{rows}"
        raise DomainError(
            _("The sheet declares the range %(ref)s (%(rows)s rows × %(cols)s columns); the limit is %(max_rows)s "
              "rows and %(max_cols)s columns. Delete the empty rows and columns below and to the right of the "
              "table, save and upload again.")
            % {"ref": ref, "rows": number_format(rows, force_grouping=True),
               "cols": number_format(cols, force_grouping=True),
               "max_rows": number_format(max_rows, force_grouping=True), "max_cols": max_cols},
            "sheet_too_big")


def _bounded(rows) -> list[list]:
    """Take rows from a stream, refusing as soon as there are too many rows, columns or cells."""
    max_rows, max_cols = _limit("IMPORT_MAX_ROWS") + HEADER_SEARCH_ROWS, _limit("IMPORT_MAX_COLUMNS")
    max_cells = _limit("IMPORT_MAX_CELLS")
    out, cells = [], 0
    for n, row in enumerate(rows, start=1):
        if n > max_rows:
            raise DomainError(_("The table has more than %(n)d rows; split it into smaller files.")
                              % {"n": _limit("IMPORT_MAX_ROWS")}, "too_many_rows")
        row = list(row)
        while row and (row[-1] is None or row[-1] == ""):
            row.pop()
        if len(row) > max_cols:
            raise DomainError(_("Row %(row)d has a value in column %(col)s; a table may have at most %(max)d "
                                "columns. Delete what lies to the right of the table.")
                              % {"row": n, "col": column_letter(len(row) - 1), "max": max_cols},
                              "too_many_columns")
        cells += len(row)
        if cells > max_cells:
            raise DomainError(_("The table has more than %(n)d cells; split it into smaller files.")
                              % {"n": max_cells}, "sheet_too_big")
        out.append(row)
    return out


def _xlsx_rows(data: bytes) -> list[list]:
    wb = _open_workbook(data)
    try:
        ws = wb.worksheets[0]
        _check_dimension(ws)
        # A declared dimension may also understate the table (some generators write "A1"); the
        # streaming counts bound the read instead, so nothing is cut off and nothing runs away.
        ws.reset_dimensions()
        return _bounded(ws.iter_rows(values_only=True))
    except DomainError:
        raise
    except Exception as exc:  # damage found while streaming
        raise _bad_xlsx() from exc
    finally:
        wb.close()


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of Excel 97–2003 (.xls)


def _xls_rows(data: bytes) -> list[list]:
    """The first sheet of an old .xls workbook (Excel 97–2003), through xlrd; dates as dates."""
    import xlrd  # only for .xls uploads

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # xlrd raises many kinds for a damaged or foreign file
        raise DomainError(_("This is not a valid Excel workbook (.xls). Open it in Excel and save it again."),
                          "bad_xls") from exc
    try:
        if book.nsheets == 0:
            raise DomainError(_("The workbook has no sheet."), "bad_xls")
        sheet = book.sheet_by_index(0)
        limit_rows = _limit("IMPORT_MAX_ROWS") + HEADER_SEARCH_ROWS
        rows = (_xls_row(book, sheet.row(i)) for i in range(min(sheet.nrows, limit_rows + 1)))
        return _bounded(rows)
    finally:
        book.release_resources()


def _xls_row(book, cells) -> list:
    import xlrd

    out = []
    for cell in cells:
        if cell.ctype == xlrd.XL_CELL_DATE:
            out.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
        elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            out.append(None)
        else:
            out.append(cell.value)
    return out


# Officials' CSV files: UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text"), or Windows-1258
# (Vietnamese ANSI, from older Excel). Tried in this order; cp1258 decodes any byte, so it comes last
# and only when the bytes are not UTF-8.
def _decode_csv(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    if len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:3:2] != b"\x00\x00":
        return data.decode("utf-16-le")  # UTF-16 without its byte-order mark
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1258")
    except UnicodeDecodeError as exc:
        raise DomainError(
            _("The CSV file's encoding was not recognised. In Excel choose “CSV UTF-8 (Comma delimited)” "
              "when saving."), "bad_encoding") from exc


def _csv_rows(data: bytes) -> list[list]:
    try:
        text = _decode_csv(data)
    except UnicodeDecodeError as exc:
        raise DomainError(
            _("The CSV file's encoding was not recognised. In Excel choose “CSV UTF-8 (Comma delimited)” "
              "when saving."), "bad_encoding") from exc
    text = unicodedata.normalize("NFC", text)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return _bounded(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise DomainError(_("The CSV file could not be read: %(error)s.") % {"error": exc}, "bad_csv") from exc


def _locate(raw_rows: list[list], columns: list[Column]) -> Sheet:
    """Find the header row among the first rows (titles and merged cells may sit above it)."""
    best = None
    for i, row in enumerate(raw_rows[:HEADER_SEARCH_ROWS]):
        found = {}
        for j, cell in enumerate(row):
            header = cell_text(cell)
            if not header:
                continue
            for col in columns:
                if col.key not in found and col.matches(header):
                    found[col.key] = j
                    break
        if found and (best is None or len(found) > len(best[1])):
            best = (i, found)
    if best is None:
        expected = ", ".join(c.label for c in columns if c.required)
        raise DomainError(
            _("No header row was found. The first row of the table must name the columns: %(cols)s.")
            % {"cols": expected},
            "no_header",
        )
    header_index, found = best
    missing = [c.label for c in columns if c.required and c.key not in found]
    if missing:
        raise DomainError(
            _("Required columns are missing: %(cols)s.") % {"cols": ", ".join(missing)},
            "missing_columns",
            details=[{"row": header_index + 1, "column": "", "message": m} for m in missing],
        )
    sheet = Sheet(columns=found, header_row=header_index + 1,
                  column_letters={k: column_letter(j) for k, j in found.items()})
    for i, row in enumerate(raw_rows[header_index + 1 :], start=header_index + 2):
        values = {key: cell_text(row[j]) if j < len(row) else "" for key, j in found.items()}
        if any(values.values()):
            sheet.rows.append((i, values))
    return sheet


# --- writing ----------------------------------------------------------------------------------
# Characters that XML 1.0 cannot carry (openpyxl refuses the C0 controls with IllegalCharacterError
# and would write U+FFFE/U+FFFF and lone surrogates into a file Excel cannot open). Text stored
# before the input rule existed may hold them; an export shows U+FFFD in their place.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def safe_cell(value):
    """Make a value safe to put in a spreadsheet cell: characters a workbook cannot hold become
    U+FFFD, and text that a spreadsheet would run as a formula gets a leading apostrophe, which
    our own import removes again."""
    if isinstance(value, str):
        value = _NOT_XML.sub("\ufffd", nfc(value))
        if value.startswith(FORMULA_PREFIXES):
            return "'" + value
    return value


class WorkbookBuilder:
    """The one way the product writes an .xlsx: named sheets, each an optional heading block, a bold
    shaded header row that stays frozen, column widths, then the rows.

    Every value goes through :func:`safe_cell` (no text cell can become a formula); dates and times
    are real date cells shown dd/mm/yyyy (and hh:mm). Written in openpyxl's streaming
    (write-only) mode: rows may be a generator of any length.
    """

    def __init__(self):
        from openpyxl import Workbook

        self.wb = Workbook(write_only=True)

    def sheet(self, title: str, headers: list[str], rows, *, heading: list[str] | None = None,
              widths: list[int] | None = None, wrap: bool = False) -> None:
        """Append one sheet; ``wrap`` wraps long text in the body rows too."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.utils import get_column_letter

        ws = self.wb.create_sheet((title or "Sheet")[:31])
        for j, h in enumerate(headers, start=1):
            width = widths[j - 1] if widths and j <= len(widths) else max(10, min(45, len(str(h)) + 4))
            ws.column_dimensions[get_column_letter(j)].width = width
        header_row = len(heading or []) + (1 if heading else 0) + 1
        ws.freeze_panes = f"A{header_row + 1}"
        bold = Font(bold=True)
        for line in heading or []:
            cell = WriteOnlyCell(ws, value=safe_cell(line))
            cell.font = bold
            ws.append([cell])
        if heading:
            ws.append([])
        fill = PatternFill("solid", fgColor="DDE7F3")
        centred = Alignment(wrap_text=True, vertical="center")
        header_cells = []
        for h in headers:
            cell = WriteOnlyCell(ws, value=safe_cell(h))
            cell.font, cell.fill, cell.alignment = bold, fill, centred
            header_cells.append(cell)
        ws.append(header_cells)
        top = Alignment(wrap_text=True, vertical="top") if wrap else None
        for row in rows:
            ws.append([self._cell(ws, v, top) for v in row])

    @staticmethod
    def _cell(ws, value, alignment):
        from openpyxl.cell import WriteOnlyCell

        value = safe_cell(value)
        fmt = DATETIME_FORMAT if isinstance(value, datetime.datetime) else \
            DATE_FORMAT if isinstance(value, datetime.date) else None
        if fmt is None and alignment is None:
            return value
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            value = timezone.localtime(value).replace(tzinfo=None)  # a workbook holds no time zone
        cell = WriteOnlyCell(ws, value=value)
        if fmt:
            cell.number_format = fmt
        if alignment is not None:
            cell.alignment = alignment
        return cell

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.wb.save(buf)
        return buf.getvalue()


DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "HH:MM DD/MM/YYYY"


def build_workbook(title: str, headers: list[str], rows, *, heading: list[str] | None = None,
                   widths: list[int] | None = None) -> bytes:
    """Return an .xlsx of one sheet (see :class:`WorkbookBuilder`)."""
    book = WorkbookBuilder()
    book.sheet(title, headers, rows, heading=heading, widths=widths)
    return book.to_bytes()


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=XLSX_MIME)
    ascii_name = fold(filename).replace(" ", "_").encode("ascii", "ignore").decode() or "export.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    return response
