"""The summary for policy (báo cáo tổng hợp ý kiến) as an official document: print page, PDF, .xlsx.

The figures come from :func:`diemcau.voice.summary.policy_summary` (scoped to the user); this
module writes them in the administrative layout, in Vietnamese whatever the interface language.
"""

import datetime

from diemcau.orgs.models import Unit

from .document import OfficialDocument, issuer_lines
from .workbook import DocumentWorkbook

TEMPLATE = "reports/policy_summary.html"
DIRECTIONS = {"agree": "Đồng ý", "disagree": "Không đồng ý"}


def summary_document(s: dict, unit: Unit, place: str, day: datetime.date | None = None) -> OfficialDocument:
    """The document around a computed summary ``s`` of ``unit``'s subtree."""
    governing, issuer = issuer_lines(unit)
    return OfficialDocument(
        governing=governing, issuer=issuer, symbol="BC-TH", kind="BÁO CÁO",
        title="Tổng hợp ý kiến, câu hỏi của nhà giáo, cán bộ quản lý và nhân viên",
        subtitle=s["conference"].title, place=place, day=day or s["generated_at"].date(),
        filename=f"tong-hop-y-kien-{unit.code}")


def group_rows(s: dict) -> list[dict]:
    """The opinion groups of the summary's latest finished run, numbered from 1."""
    run = s["groups"]
    if not run or not run.result:
        return []
    return [{**g, "number": i} for i, g in enumerate(run.result["groups"], start=1)]


def summary_workbook(doc: OfficialDocument, s: dict) -> bytes:
    """The summary as an .xlsx, one sheet per breakdown."""
    book = DocumentWorkbook(doc)
    scope = [f"Phạm vi: {s['unit'].name}"]
    book.sheet("Tổng hợp", ["Chỉ tiêu", "Số lượng"], [
        ["Ý kiến, câu hỏi (không tính bị từ chối)", s["total"]], ["Câu hỏi", s["questions"]],
        ["Ý kiến", s["opinions"]], ["Số người gửi", s["people"]], ["Số đơn vị có người gửi", s["units"]],
    ] + [[f"Trạng thái: {r['label']}", r["count"]] for r in s["status"]], widths=[50, 14], extra=scope)
    breakdown = ["STT", "Nhóm", "Số lượng", "Tỷ lệ (%)"]
    for title, key in (("Chủ đề", "topics"), ("Cấp học", "levels"), ("Địa bàn", "areas"),
                       ("Đối tượng", "categories"), ("Theo ngày", "days"), ("Theo giờ", "hours")):
        book.sheet(title, breakdown, [[i, r["label"], r["count"], r["share"]] for i, r in enumerate(s[key], 1)],
                   widths=[6, 50, 12, 12], extra=scope)
    quote_rows = [[i, t["label"], q["kind"], q["text"], q["unit"], q["upvotes"], q["agree"], q["disagree"],
                   q["people"], q["units"], q["status"]]
                  for i, (t, q) in enumerate(((t, q) for t in s["topics"] for q in t["quotes"]), 1)]
    book.sheet("Ý kiến tiêu biểu", ["STT", "Chủ đề", "Loại", "Nội dung", "Đơn vị", "Bình chọn", "Đồng ý",
                                    "Không đồng ý", "Số người nêu", "Số đơn vị nêu", "Trạng thái"], quote_rows,
               widths=[6, 30, 10, 70, 30, 10, 10, 12, 12, 12, 14], extra=scope, wrap=True)
    rows = []
    for group in group_rows(s):
        for r in group["representative"] or [{"text": "", "direction": "", "group_pct": "", "rest_pct": ""}]:
            rows.append([f"Nhóm {group['number']}", group["n"], r["text"], DIRECTIONS.get(r["direction"], ""),
                         r["group_pct"], r["rest_pct"]])
    book.sheet("Nhóm quan điểm", ["Nhóm", "Số người", "Ý kiến đặc trưng", "Xu hướng", "Tỷ lệ trong nhóm (%)",
                                  "Tỷ lệ ngoài nhóm (%)"], rows,
               widths=[10, 10, 70, 14, 14, 14], extra=scope, wrap=True)
    run = s["groups"]
    consensus = [[i, c["text"], DIRECTIONS.get(c["direction"], ""), ", ".join(f"{p}%" for p in c["pcts"])]
                 for i, c in enumerate(run.result["consensus"], 1)] if run and run.result else []
    book.sheet("Đồng thuận", ["STT", "Ý kiến được các nhóm đồng thuận", "Xu hướng", "Tỷ lệ từng nhóm"], consensus,
               widths=[6, 70, 14, 24], extra=scope, wrap=True)
    return book.to_bytes()
