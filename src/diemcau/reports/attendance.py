"""The attendance report (báo cáo kết quả tham dự) as an official document: print page, PDF, .xlsx.

The figures come from :func:`diemcau.attendance.reports.unit_report`; this module writes them in
the administrative layout, in Vietnamese whatever the interface language.
"""

import datetime
import re

from django.utils import timezone, translation

from diemcau.attendance import reports as figures
from diemcau.attendance.models import Delegation
from diemcau.core.dbrouter import reading_replica
from diemcau.core.i18n import vietnamese_choices
from diemcau.events.models import Session
from diemcau.orgs.models import Unit

from .document import OfficialDocument, issuer_lines
from .workbook import DocumentWorkbook

PLACE_PATTERN = re.compile(r"(?:huyện|quận|thị xã|thành phố|tỉnh|TP\.?)\s+(.+)$", re.IGNORECASE)
TEMPLATE = "reports/attendance_report.html"


def place_of(unit: Unit, session: Session) -> str:
    """The place written before the date: the district or province in the unit's name, else the
    unit's commune, else the conference's place ("Ba Vì, ngày ... ")."""
    for u in [unit, *Unit.objects.filter(pk__in=unit.ancestor_ids()[:-1]).order_by("-path")]:
        m = PLACE_PATTERN.search(u.name)
        if m:
            return m.group(1).strip()
        if u.commune:
            return u.commune
    return session.conference.place or "Hà Nội"


@reading_replica  # figures may lag the primary by a moment: read from the replica when there is one
def attendance_report(session: Session, unit: Unit, *, place: str = "",
                      day: datetime.date | None = None) -> tuple[OfficialDocument, dict]:
    """The document and its figures for one unit's report on a session."""
    with translation.override("vi"):  # category labels, missing texts: the document is Vietnamese
        r = figures.unit_report(session, unit)
        rules = vietnamese_choices(Delegation.Rule.choices)
    for b in r["breaches"]:
        b["rule_label"] = rules.get(b["rule"], b["rule"])
    governing, issuer = issuer_lines(unit)
    starts = timezone.localtime(session.starts_at)
    doc = OfficialDocument(
        governing=governing, issuer=issuer, symbol=f"BC-{unit.code}", kind="BÁO CÁO",
        title="Kết quả tham dự hội nghị",
        subtitle=f"{session.conference.title}\n{session.title}, {starts:%H:%M} ngày {starts:%d/%m/%Y}",
        place=place or place_of(unit, session), day=day or timezone.localdate(),
        recipients=[f"{unit.parent.name};" if unit.parent_id else "Như trên;", "Lưu: VT."],
        filename=f"bao-cao-diem-danh-{unit.code}-{session.pk}")
    return doc, r


def attendance_workbook(doc: OfficialDocument, r: dict) -> bytes:
    """The report as an .xlsx: institutions, bridge points, missing institutions, breaches."""
    pct = r["percentage"] if r["percentage"] is not None else "—"
    overall = f"Dự kiến {r['expected']} người, có mặt {r['present']} người ({pct}%), tính đến {r['as_of']}"
    book = DocumentWorkbook(doc)

    def institutions():
        for n, i in enumerate(r["institutions"], start=1):
            c = i["compliance"]
            status = "" if c is None else ("Đủ" if c["complete"] else "Chưa đủ")
            yield [n, i["institution"], i["parent"], i["point"], i["expected"], i["present"], i["percentage"],
                   status, i["missing_text"]]

    book.sheet("Điểm danh", ["STT", "Cơ sở giáo dục", "Đơn vị cấp trên", "Điểm cầu", "Dự kiến", "Có mặt", "Tỉ lệ (%)",
                           "Thành phần", "Còn thiếu"], institutions(), extra=[overall],
               widths=[6, 40, 30, 36, 10, 10, 10, 14, 36])
    book.sheet("Điểm cầu", ["STT", "Điểm cầu", "Đơn vị chủ trì", "Số cơ sở giáo dục", "Dự kiến", "Có mặt", "Tỉ lệ (%)",
                            "Đếm số lượng"],
               ([n, p["point"], p["host"], p["institutions"], p["expected"], p["present"], p["percentage"],
                 p["headcount"]] for n, p in enumerate(r["points"], start=1)),
               extra=[overall], widths=[6, 40, 34, 12, 10, 10, 10, 12])
    book.sheet("Đơn vị vắng mặt", ["STT", "Cơ sở giáo dục", "Đơn vị cấp trên", "Điểm cầu", "Dự kiến"],
               ([n, m["institution"], m["parent"], m["point"], m["expected"]]
                for n, m in enumerate(r["missing_institutions"], start=1)),
               extra=[f"Đơn vị được phân công nhưng không có ai có mặt: {r['missing_total']}"],
               widths=[6, 40, 30, 36, 10])
    book.sheet("Chưa đủ thành phần", ["STT", "Cơ sở giáo dục", "Quy định", "Còn thiếu"],
               ([n, b["institution"], b["rule_label"], b["missing_text"]]
                for n, b in enumerate(r["breaches"], start=1)),
               extra=[f"Đoàn chưa đáp ứng quy định về thành phần: {r['breaches_total']}"],
               widths=[6, 40, 22, 50])
    return book.to_bytes()
