"""The summary for policy (báo cáo tổng hợp ý kiến) as an official document: print page, PDF, .xlsx.

The figures come from :func:`diemcau.voice.summary.policy_summary` (scoped to the user); this
module writes them in the administrative layout, in Vietnamese whatever the interface language.
"""

import datetime

from django.urls import reverse
from django.utils import translation

from diemcau.live import polls as live_polls
from diemcau.live.models import Recording
from diemcau.orgs.models import Unit
from diemcau.voice import answers as voice_answers
from diemcau.voice import summary as voice_summary
from diemcau.voice.models import Opinion

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


def summary_workbook(doc: OfficialDocument, s: dict, after: dict | None = None, site: str = "") -> bytes:
    """The summary as an .xlsx, one sheet per breakdown; with ``after`` (:func:`after_the_day`), the
    polls' results by province and by level and the answers by unit too (links to the recording
    start with ``site``, e.g. "https://diemcau.moet.gov.vn")."""
    book = DocumentWorkbook(doc)
    at = s["generated_at"]
    scope = [f"Phạm vi: {s['unit'].name}", f"Số liệu tổng hợp đến {at:%H} giờ {at:%M} ngày {at:%d/%m/%Y}"]
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
    if after is not None:
        _after_sheets(book, after, scope, site)
    return book.to_bytes()


POLL_HEADERS = ["STT", "Câu hỏi thăm dò", "{by}", "Số trả lời", "Phương án", "Số phiếu", "Tỷ lệ (%)",
                "Điểm trung bình"]


def poll_rows(polls: list[dict], key: str) -> list[list]:
    """The polls' results broken down by ``key`` ("provinces" or "levels"), one row per option."""
    rows = []
    for i, r in enumerate(polls, 1):
        for part in r[key]:
            for bar in part["bars"]:
                rows.append([i, r["poll"].question, part["label"], part["total"], bar["label"], bar["votes"],
                             bar["pct"], part["mean"] if part["mean"] is not None else ""])
    return rows


def _after_sheets(book: DocumentWorkbook, after: dict, scope: list[str], site: str) -> None:
    """The section "during and after the day": polls by province and by level, answers by unit, the
    moments in the recording."""
    totals = [f"{i}. {r['poll'].question}: {r['total']} câu trả lời"
              + (f", điểm trung bình {r['mean']}" if r["mean"] is not None else "")
              for i, r in enumerate(after["polls"], 1)]
    for title, key, by in (("Thăm dò theo địa bàn", "provinces", "Địa bàn"),
                           ("Thăm dò theo cấp học", "levels", "Cấp học")):
        book.sheet(title, [h.format(by=by) for h in POLL_HEADERS], poll_rows(after["polls"], key),
                   widths=[6, 50, 30, 12, 30, 10, 10, 14], extra=[*scope, *totals], wrap=True)
    book.sheet("Trả lời theo đơn vị", ["STT", "Đơn vị", "Trả lời trực tiếp", "Trả lời sau hội nghị",
                                       "Chưa trả lời", "Quá hạn"],
               [[i, r["unit"], r["live"], r["later"], r["open"], r["overdue"]]
                for i, r in enumerate(after["answers"], 1)],
               widths=[6, 50, 16, 18, 14, 10], extra=scope)
    book.sheet("Trả lời trực tiếp", ["STT", "Câu hỏi", "Đơn vị", "Thời điểm trong bản ghi", "Đường dẫn"],
               [[i, m["text"], m["unit"], m["clock"], site + m["link"] if m["link"] else ""]
                for i, m in enumerate(after["moments"], 1)],
               widths=[6, 70, 30, 14, 40], extra=scope, wrap=True)


# --- during and after the day: polls, answers by unit, the moments questions were answered --------------

def after_the_day(conference, unit: Unit) -> dict:
    """The summary's section on the live polls (results by province and level), the answers by
    responsible unit (live, later, open) and, for each question answered on air, its moment in the
    recording (a link that plays from there). Call it after ``voice.summary.policy_summary`` has
    checked the user may see the conference; figures are in Vietnamese whatever the interface."""
    items = voice_summary.items_in(unit, conference)
    with translation.override("vi"):
        polls = live_polls.conference_polls(conference)
    recordings = list(Recording.objects.filter(session__conference=conference, state=Recording.State.READY))
    moments = []
    for o in items.filter(status=Opinion.Status.ANSWERED, on_air_at__isnull=False).order_by("on_air_at"):
        rec = next((r for r in recordings if r.ended_at and r.started_at <= o.on_air_at <= r.ended_at), None)
        at = int((o.on_air_at - rec.started_at).total_seconds()) if rec else None
        moments.append({"text": o.text, "unit": "" if o.anonymous else o.author_unit.name, "at": at,
                        "clock": f"{at // 3600:02d}:{at // 60 % 60:02d}:{at % 60:02d}" if at is not None else "",
                        "link": f"{reverse('recording', args=[rec.pk])}?t={at}" if rec else ""})
    return {"polls": polls, "answers": voice_answers.answer_status(items, conference.host_unit), "moments": moments}
