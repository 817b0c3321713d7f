"""An official document (văn bản hành chính) in the style of Decree 30/2020/NĐ-CP.

One builder for every document the product issues (the attendance report, the official list of
bridge points, the summary for policy): the national heading, the issuing body (its governing
body above it), the number and symbol, the place-and-date line, the title, the recipients (Nơi
nhận) and the signature block. An official document is written in Vietnamese whatever the
language of the interface: its data is computed under ``translation.override("vi")`` (model
choice labels through :mod:`diemcau.core.i18n`), and its template renders inside
``{% language "vi" %}``.

The print page, the PDF (:mod:`.pdf`) and the workbook heading (:mod:`.workbook`) all read the
same :class:`OfficialDocument`.
"""

import datetime
from dataclasses import dataclass, field

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
DEFAULT_PLACE = "Hà Nội"
BLANK_NUMBER = "\u00a0" * 6  # the number is written by hand once the document is registered


def date_line(place: str, day: datetime.date) -> str:
    """The place-and-date line: "Hà Nội, ngày 05 tháng 01 năm 2024", "Ba Vì, ngày 15 tháng 8 năm 2023".

    Decree 30/2020/NĐ-CP (Appendix I, II.5): days below 10 and the months 1 and 2 take a leading
    zero; the other months are written without one.
    """
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


@dataclass
class Signature:
    """The signature block: "KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC", then the signer's name (blank to sign)."""

    title: str = "THỦ TRƯỞNG ĐƠN VỊ"
    on_behalf: str = ""  # "KT. GIÁM ĐỐC", "TL. BỘ TRƯỞNG": who the signer signs for
    name: str = ""
    note: str = "(Ký, ghi rõ họ tên và đóng dấu)"


@dataclass
class OfficialDocument:
    """Everything around a document's body, in the administrative layout.

    ``governing`` is the governing body (cơ quan chủ quản) and ``issuer`` the issuing body (cơ quan
    ban hành), both as written on the document (capitals); ``symbol`` is the document type's
    abbreviation and the issuer's ("BC-PGDĐT"); ``kind`` the type of document ("BÁO CÁO") written
    above the title.
    """

    issuer: str
    title: str
    day: datetime.date
    place: str = DEFAULT_PLACE
    governing: str = ""
    number: str = ""
    symbol: str = ""
    kind: str = ""
    subtitle: str = ""
    recipients: list[str] = field(default_factory=lambda: ["Như trên;", "Lưu: VT."])
    signature: Signature = field(default_factory=Signature)
    filename: str = "van-ban"

    national = (NATION, MOTTO)

    @property
    def date_line(self) -> str:
        return date_line(self.place, self.day)

    @property
    def number_line(self) -> str:
        """ "Số: 12/BC-PGDĐT", or "Số:       /BC-PGDĐT" before the number is given."""
        return f"Số: {self.number or BLANK_NUMBER}/{self.symbol}" if self.symbol else ""

    def heading_lines(self) -> list[str]:
        """The heading as lines of text, in reading order: what a workbook's first rows carry."""
        lines = [NATION, MOTTO, self.governing, self.issuer, self.number_line, "", self.kind, self.title.upper(),
                 self.subtitle, self.date_line]
        return [line for line in lines if line]


def issuer_lines(unit) -> tuple[str, str]:
    """The governing body and the issuing body for a document a unit issues, in capitals."""
    parent = unit.parent.name.upper() if unit.parent_id else ""
    return parent, unit.name.upper()


def parse_day(raw: str) -> datetime.date | None:
    """A date typed on a document's form: "15/08/2023" or "2023-08-15"; None when it is neither."""
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(raw.strip(), fmt).date()
        except ValueError:
            continue
    return None
