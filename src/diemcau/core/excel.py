"""Spreadsheets in and out, the way officials make them.

Reading copes with Excel's habits: a title block of merged rows above the real header, trailing
spaces, numbers stored as text (and text stored as numbers), codes with leading zeros, CSV in
UTF-8 with or without a BOM. Writing is safe from formula injection.
"""

import csv
import datetime
import io
import unicodedata
from dataclasses import dataclass, field

from django.http import HttpResponse
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


def read_table(data: bytes, filename: str, columns: list[Column], max_bytes: int | None = None) -> Sheet:
    """Read an .xlsx or .csv upload into a :class:`Sheet`; raise :class:`DomainError` if unusable."""
    if max_bytes is not None and len(data) > max_bytes:
        raise DomainError(
            _("The file is %(size).1f MB; the limit is %(limit).1f MB.")
            % {"size": len(data) / 1e6, "limit": max_bytes / 1e6},
            "too_large",
        )
    if not data:
        raise DomainError(_("The file is empty."), "empty_file")
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        raw_rows = _xlsx_rows(data)
    elif name.endswith(".csv") or name.endswith(".txt"):
        raw_rows = _csv_rows(data)
    elif name.endswith(".xls"):
        raise DomainError(_("Old .xls files are not accepted: save the file as .xlsx and upload it again."),
                          "old_xls")
    else:
        raise DomainError(_("Upload an Excel (.xlsx) or CSV file."), "bad_format")
    return _locate(raw_rows, columns)


def _xlsx_rows(data: bytes) -> list[list]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DomainError(_("The file is not a valid Excel workbook (.xlsx)."), "bad_xlsx") from exc
    except Exception as exc:  # openpyxl raises many types on damaged files
        raise DomainError(_("The file is not a valid Excel workbook (.xlsx)."), "bad_xlsx") from exc
    try:
        ws = wb.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def _csv_rows(data: bytes) -> list[list]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError(
            _("The CSV file is not in UTF-8. In Excel choose “CSV UTF-8 (Comma delimited)” when saving."),
            "bad_encoding",
        ) from exc
    text = unicodedata.normalize("NFC", text)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


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
def safe_cell(value):
    """Make a value safe to put in a spreadsheet cell: text that a spreadsheet would run as a
    formula gets a leading apostrophe, which our own import removes again."""
    if isinstance(value, str):
        value = nfc(value)
        if value.startswith(FORMULA_PREFIXES):
            return "'" + value
    return value


def build_workbook(title: str, headers: list[str], rows, *, heading: list[str] | None = None,
                   widths: list[int] | None = None) -> bytes:
    """Return an .xlsx with an optional heading block, a bold header row and the rows.

    Written in openpyxl's streaming (write-only) mode: rows may be a generator of any length.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet((title or "Sheet")[:31])
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
    wrap = Alignment(wrap_text=True, vertical="center")
    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=safe_cell(h))
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        header_cells.append(cell)
    ws.append(header_cells)
    for row in rows:
        # safe_cell prefixes formula-like text, so no string cell can become a formula.
        ws.append([safe_cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=XLSX_MIME)
    ascii_name = fold(filename).replace(" ", "_").encode("ascii", "ignore").decode() or "export.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    return response
