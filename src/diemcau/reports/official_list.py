"""The official list of bridge points (danh sách điểm cầu và đơn vị được phân công) as an official
document: print page, PDF and .xlsx. The rows come from :func:`diemcau.points.official_list.official_list`
(scoped to the user); the .xlsx reads back as an assignment list (``points/importing.py`` knows the
same Vietnamese column labels)."""

import datetime

from diemcau.core.dbrouter import reading_replica
from diemcau.events.models import Conference
from diemcau.orgs.models import Unit
from diemcau.points import official_list as points

from .document import OfficialDocument, issuer_lines
from .workbook import DocumentWorkbook

TEMPLATE = "reports/official_list.html"
HEADERS = ["STT", "Phiên", "Mã điểm cầu", "Điểm cầu", "Hội trường", "Địa chỉ", "Đơn vị chủ trì",
           "Người phụ trách kỹ thuật", "Điện thoại", "Số chỗ", "Số chỗ đã xếp", "Đơn vị được phân công",
           "Mã đơn vị", "Số người"]


@reading_replica  # figures may lag the primary by a moment: read from the replica when there is one
def official_list(user, conference: Conference, unit: Unit | None, place: str,
                  day: datetime.date) -> tuple[OfficialDocument, list[dict]]:
    """The document and its blocks (one per session) for the points in ``unit``'s subtree."""
    blocks = points.official_list(user, conference, unit)
    governing, issuer = issuer_lines(unit or conference.host_unit)
    doc = OfficialDocument(
        governing=governing, issuer=issuer, symbol="DS-ĐC", kind="DANH SÁCH",
        title="Điểm cầu và đơn vị được phân công", subtitle=conference.title, place=place, day=day,
        filename=f"danh-sach-diem-cau-{unit.code if unit else 'toan-quoc'}")
    return doc, blocks


def official_list_workbook(user, conference: Conference, unit: Unit | None, place: str,
                           day: datetime.date) -> bytes:
    """The official list as an .xlsx: the document's heading, then one row per institution."""
    doc, blocks = official_list(user, conference, unit, place, day)
    rows, n = [], 0
    for block in blocks:
        for r in block["points"]:
            p = r["point"]
            base = [block["session"].title, p.pk, p.name, p.hall.name, p.hall.full_address, p.hall.unit.name,
                    p.contact_name, p.contact_phone, p.capacity, r["used"]]
            if not r["assignments"]:
                n += 1
                rows.append([n, *base, "", "", 0])
            for a in r["assignments"]:
                n += 1
                rows.append([n, *base, a.institution.name, a.institution.code, a.seats])
    book = DocumentWorkbook(doc)
    book.sheet("Danh sách điểm cầu", HEADERS, rows, widths=[6, 20, 10, 32, 22, 30, 28, 22, 14, 9, 11, 36, 16, 9])
    return book.to_bytes()
