"""The official list of bridge points and the institutions assigned to them, on screen and as a workbook.
"""

import datetime
from collections import defaultdict

from diemcau.core.errors import ScopeError
from diemcau.core.scoping import SYSTEM, scope_for
from diemcau.events.models import Conference
from diemcau.orgs.models import Unit

from .access import points_in_scope
from .models import Assignment


# --- the official list ------------------------------------------------------------------------
def official_list(user, conference: Conference, unit: Unit | None = None) -> list[dict]:
    """Bridge points with their assigned institutions, contacts and seat use, per session.

    ``unit`` limits the list to points hosted in its subtree; without it, every point the user
    can see inside their subtrees (the whole conference for a national organiser).
    """
    if unit is not None and user is not SYSTEM and not scope_for(user).can_see(unit):
        raise ScopeError()
    points = list(points_in_scope(user, conference, within=unit).prefetch_related("sessions")
                  .order_by("hall__unit__path", "name"))
    assignments = defaultdict(list)
    for a in (Assignment.objects.filter(point__in=points).select_related("institution")
              .order_by("institution__path")):
        assignments[(a.point_id, a.session_id)].append(a)
    blocks = []
    for s in conference.sessions.all():
        rows = []
        for p in points:
            if not any(x.pk == s.pk for x in p.sessions.all()):
                continue
            items = assignments.get((p.pk, s.pk), [])
            rows.append({"point": p, "assignments": items, "used": sum(a.seats for a in items)})
        if rows:
            blocks.append({"session": s, "points": rows,
                           "institutions": sum(len(r["assignments"]) for r in rows),
                           "people": sum(r["used"] for r in rows)})
    return blocks


NATIONAL_HEADER = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


def document_date(place: str, day: datetime.date) -> str:
    """The place-and-date line of a Vietnamese administrative document.

    Written in Vietnamese whatever the interface language: the document is official.
    """
    return f"{place}, ngày {day.day} tháng {day.month} năm {day.year}"


def issuing_units(conference: Conference, unit: Unit | None) -> tuple[str, str]:
    """The two lines of the issuing unit: its parent (governing body) and itself, in capitals."""
    issuer = unit or conference.host_unit
    parent = issuer.parent.name.upper() if issuer.parent_id else ""
    return parent, issuer.name.upper()


# The official list's columns are Vietnamese whatever the interface language: officials exchange
# it, and it reads back as an assignment list (points/importing.py uses the same labels).
OFFICIAL_HEADERS = ["STT", "Phiên", "Mã điểm cầu", "Điểm cầu", "Hội trường", "Địa chỉ", "Đơn vị chủ trì",
                    "Người phụ trách kỹ thuật", "Điện thoại", "Số chỗ", "Số chỗ đã xếp", "Đơn vị được phân công",
                    "Mã đơn vị", "Số người"]
OFFICIAL_TITLE = "DANH SÁCH ĐIỂM CẦU VÀ ĐƠN VỊ ĐƯỢC PHÂN CÔNG"


def official_list_workbook(user, conference: Conference, unit: Unit | None, place: str,
                           day: datetime.date) -> bytes:
    """The official list as an .xlsx: the administrative heading, then one row per institution."""
    from diemcau.core.excel import build_workbook

    blocks = official_list(user, conference, unit)
    parent, issuer = issuing_units(conference, unit)
    heading = [NATIONAL_HEADER[0], NATIONAL_HEADER[1], parent, issuer, "", OFFICIAL_TITLE, conference.title,
               document_date(place, day)]
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
    return build_workbook("Danh sách điểm cầu", OFFICIAL_HEADERS, rows, heading=[h for h in heading if h],
                          widths=[6, 20, 10, 32, 22, 30, 28, 22, 14, 9, 11, 36, 16, 9])
