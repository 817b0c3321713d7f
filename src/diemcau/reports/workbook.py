"""An official document as an .xlsx: the document's heading above each sheet, through the one
workbook builder (:class:`diemcau.core.excel.WorkbookBuilder`, formula-safe, dd/mm/yyyy dates,
frozen header row) that every list of the product uses."""

from diemcau.core.excel import WorkbookBuilder

from .document import OfficialDocument


class DocumentWorkbook:
    """Sheets that open with the document's heading (national heading, issuer, number, title, date)."""

    def __init__(self, doc: OfficialDocument):
        self.doc = doc
        self.book = WorkbookBuilder()

    def sheet(self, title: str, headers: list[str], rows, *, widths: list[int] | None = None,
              extra: list[str] = (), wrap: bool = False) -> None:
        """One sheet: the heading, then ``extra`` lines (a sheet's own figures), the header, the rows."""
        heading = [*self.doc.heading_lines(), *[line for line in extra if line]]
        self.book.sheet(title, headers, rows, heading=heading, widths=widths, wrap=wrap)

    def to_bytes(self) -> bytes:
        return self.book.to_bytes()
