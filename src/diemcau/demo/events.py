"""The seed's conference on top of the demo tree: 15/08/2023, the Minister meets the sector.

What it builds, deterministically and in one transaction (running it again changes nothing):

- the conference, hosted by the ministry, with a morning session (preschool, general, continuing
  and specialised education) and an afternoon session (universities, teacher-training colleges),
  each with its agenda;
- halls: the ministry's, Hà Nội's department, the district offices' (Ba Vì's is the one the seed
  names, fully equipped), the bigger Ba Vì schools' and each university's;
- points: the host point at the ministry (the relay root), Hà Nội's department, Sóc Sơn's and
  Thạch Thất's offices with their few schools, one point per university for the afternoon;
- Ba Vì's 14 points, chosen by the planner among the candidate halls, with every Ba Vì
  institution assigned, and a technical contact at each point.

It needs the organisation demo (``manage.py load_demo``) first.
"""

import datetime
import os
import random
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from diemcau.core.errors import DomainError
from diemcau.events import services
from diemcau.events.models import Conference
from diemcau.orgs import admin_data
from diemcau.orgs.models import EducationLevel as L
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import access, assignment, bridge_points, planning, readiness
from diemcau.points import halls as points_halls
from diemcau.points.models import Assignment, BridgePoint, Hall

from . import org_reference, org_tree
from . import orgs as orgs_demo

TITLE = ("Bộ trưởng Bộ GD&ĐT gặp gỡ các nhà giáo, cán bộ quản lý, nhân viên ngành Giáo dục đào tạo "
         "năm 2023")
SEED_DAY = datetime.date(2023, 8, 15)


def demo_day() -> datetime.date:
    """The conference's day: the seed's 15/08/2023, or ``DIEMCAU_DEMO_DAY`` (``today`` or dd/mm/yyyy).

    ``make demo`` holds the seed's conference today, as a rehearsal, so that badges, posters and
    the live programme are valid while someone tries them; tests keep the seed's date.
    """
    raw = os.environ.get("DIEMCAU_DEMO_DAY", "").strip()
    if not raw:
        return SEED_DAY
    if raw == "today":
        return timezone.localdate()  # in settings.TIME_ZONE
    return datetime.datetime.strptime(raw, "%d/%m/%Y").date()


DAY = demo_day()
MORNING_LEVELS = L.PRESCHOOL | L.PRIMARY | L.LOWER_SECONDARY | L.UPPER_SECONDARY | L.CONTINUING | L.SPECIALISED
AFTERNOON_LEVELS = L.UNIVERSITY | L.TEACHER_COLLEGE
BA_VI_POINTS = 14
# Ba Vì's schools with the most people offer their hall to the planner (plus the office's).
BA_VI_CANDIDATE_SCHOOLS = 30
PLANNER_SEED = 2023

MORNING_AGENDA = [
    ((8, 0), (8, 15), "Khai mạc, giới thiệu đại biểu", "Ban tổ chức"),
    ((8, 15), (9, 0), "Báo cáo tình hình ngành Giáo dục năm học 2022-2023 và nhiệm vụ năm học 2023-2024",
     "Bộ trưởng Bộ Giáo dục và Đào tạo"),
    ((9, 0), (11, 0), "Nhà giáo, cán bộ quản lý, nhân viên chia sẻ tâm tư, nguyện vọng, khó khăn", "Các điểm cầu"),
    ((11, 0), (11, 30), "Bộ trưởng trao đổi, phát biểu kết luận", "Bộ trưởng Bộ Giáo dục và Đào tạo"),
]
AFTERNOON_AGENDA = [
    ((14, 0), (14, 15), "Khai mạc phiên buổi chiều", "Ban tổ chức"),
    ((14, 15), (16, 30), "Giảng viên, cán bộ quản lý các cơ sở giáo dục đại học, trường cao đẳng sư phạm "
     "trao đổi với Bộ trưởng", "Các điểm cầu"),
    ((16, 30), (17, 0), "Bộ trưởng phát biểu kết luận", "Bộ trưởng Bộ Giáo dục và Đào tạo"),
]
FULL_EQUIPMENT = {"has_camera": True, "has_microphone": True, "has_speakers": True, "has_display": True,
                  "has_computer": True}


@dataclass
class DemoReport:
    """What :func:`load` did, and the figures of Ba Vì's plan."""

    skipped: bool = False
    conference_id: int | None = None
    points: int = 0
    bavi_points: int = 0
    bavi_institutions: int = 0
    bavi_people: int = 0
    bavi_seats: int = 0
    travel_person_km: float = 0.0
    average_km: float = 0.0
    method: str = ""
    loads: list = field(default_factory=list)


def at(hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(DAY, datetime.time(hour, minute)))


def _rng(*parts) -> random.Random:
    return random.Random("|".join(str(p) for p in ("events", PLANNER_SEED, *parts)))


def _hall(unit: Unit, name: str, capacity: int, address: str = "") -> Hall:
    hall = Hall.objects.filter(unit=unit, name=name).first()
    return hall or points_halls.create_hall(SYSTEM, unit, name=name, capacity=capacity, address=address or unit.address)


def _contact(unit: Unit) -> dict:
    """The point's technical contact: a staff member of the host unit (else one of its people)."""
    person = (Person.objects.filter(unit=unit, category=Person.Category.STAFF).order_by("code").first()
              or Person.objects.filter(unit=unit).order_by("code").first())
    if person is None:
        return {}
    return {"contact_name": person.full_name, "contact_phone": person.phone}


def _equip(point: BridgePoint, *, check: bool, bandwidth: int):
    point = bridge_points.update_point(SYSTEM, point, bandwidth_mbps=bandwidth, **FULL_EQUIPMENT)
    point = readiness.set_readiness(SYSTEM, point, BridgePoint.Readiness.EQUIPPED)
    if check:
        readiness.record_check(SYSTEM, point, passed=True, note="Chạy thử đạt yêu cầu: hình ảnh, âm thanh ổn định.")


def loaded() -> Conference | None:
    return Conference.objects.filter(title=TITLE, date=DAY).first()


def load(*, plan_bavi: bool = True) -> DemoReport:
    """Build the seed's conference; a no-op when it exists already.

    ``plan_bavi=False`` stops before Ba Vì's planning (the browser test plans it through the pages).
    """
    existing = loaded()
    if existing is not None:
        report = summarise(existing)
        report.skipped = True
        return report
    if orgs_demo.loaded() is None:
        raise DomainError("Chưa có dữ liệu mẫu của cây đơn vị: chạy manage.py load_demo trước.", "no_demo_tree")
    with transaction.atomic():
        conference = _build(plan_bavi)
    return summarise(conference)


def _build(plan_bavi: bool) -> Conference:
    unit = {u.code: u for u in Unit.objects.filter(code__in=[
        admin_data.MINISTRY_CODE, org_tree.department_code(org_reference.HANOI), org_tree.BA_VI_CODE,
        org_tree.district_code(org_reference.HANOI, org_reference.SOC_SON),
        org_tree.district_code(org_reference.HANOI, org_reference.THACH_THAT)])}
    ministry = unit[admin_data.MINISTRY_CODE]
    hanoi = unit[org_tree.department_code(org_reference.HANOI)]
    bavi = unit[org_tree.BA_VI_CODE]
    conference = services.create_conference(
        SYSTEM, title=TITLE, date=DAY, host_unit=ministry, place="Hà Nội",
        description="Hội nghị trực tuyến kết hợp trực tiếp: điểm cầu chính tại Bộ GD&ĐT, kết nối tới 63 Sở GD&ĐT "
                    "và, nơi có điều kiện, tới các Phòng GD&ĐT và cơ sở giáo dục.")
    morning = services.create_session(
        SYSTEM, conference, title="Phiên buổi sáng: mầm non, phổ thông, giáo dục thường xuyên, chuyên biệt",
        starts_at=at(8), ends_at=at(11, 30), audience_levels=MORNING_LEVELS)
    afternoon = services.create_session(
        SYSTEM, conference, title="Phiên buổi chiều: cơ sở giáo dục đại học, trường cao đẳng sư phạm",
        starts_at=at(14), ends_at=at(17), audience_levels=AFTERNOON_LEVELS)
    for session, agenda in ((morning, MORNING_AGENDA), (afternoon, AFTERNOON_AGENDA)):
        for start, end, title, speaker in agenda:
            services.add_agenda_item(SYSTEM, session, starts_at=at(*start), ends_at=at(*end), title=title,
                                     speaker=speaker)

    # The host point at the ministry, in person: the root of the relay tree.
    host_hall = _hall(ministry, "Hội trường tầng 2, trụ sở Bộ", 300, "35 Đại Cồ Việt, Hai Bà Trưng, Hà Nội")
    host = bridge_points.create_point(SYSTEM, conference, host_hall, name="Điểm cầu chính – Bộ Giáo dục và Đào tạo",
                                      is_host=True, sessions=[morning, afternoon],
                                      contact_name="Trần Quang Huy", contact_phone="0243869 4897")
    _equip(host, check=True, bandwidth=500)
    # Hà Nội's department relays to its district offices.
    hanoi_point = bridge_points.create_point(
        SYSTEM, conference, _hall(hanoi, "Hội trường Sở", 200), name="Điểm cầu Sở GD&ĐT Hà Nội",
        sessions=[morning], contact_name="Nguyễn Thị Thu Hà", contact_phone="0912 204 683")
    _equip(hanoi_point, check=True, bandwidth=200)
    # Sóc Sơn and Thạch Thất: one point at the office each, for their few schools.
    for code in (org_tree.district_code(org_reference.HANOI, org_reference.SOC_SON),
                 org_tree.district_code(org_reference.HANOI, org_reference.THACH_THAT)):
        office = unit[code]
        schools = list(services.invited_institutions(morning, within=office))
        seats = sum(assignment.declared_staff(s.pk for s in schools).values())
        hall = _hall(office, "Hội trường Phòng GD&ĐT", max(150, 50 * (seats // 50 + 2)))
        point = bridge_points.create_point(SYSTEM, conference, hall, sessions=[morning], **_contact(office))
        assignment.move_institutions(SYSTEM, morning, schools, point)
    # Ba Vì: the office's hall (the seed: "has all the equipment for online conferences") and the
    # bigger schools' halls are the candidates; the planner chooses 13 more and assigns every school.
    office_hall = _hall(bavi, "Hội trường Phòng GD&ĐT", 500)
    invited = list(services.invited_institutions(morning, within=bavi))
    sizes = assignment.declared_staff(u.pk for u in invited)
    bigger = sorted(invited, key=lambda u: (-sizes.get(u.pk, 0), u.code))[:BA_VI_CANDIDATE_SCHOOLS]
    halls = [office_hall]
    for school in sorted(bigger, key=lambda u: u.code):
        rng = _rng("hall", school.code)
        halls.append(_hall(school, "Hội trường", rng.choice([300, 350, 400, 450, 500])))
    # The office's point is opened first and always: the schools' points relay from it.
    bridge_points.create_point(SYSTEM, conference, office_hall, name="Điểm cầu Phòng GD&ĐT huyện Ba Vì",
                               sessions=[morning])
    if plan_bavi:
        request = planning.PlanRequest(k=BA_VI_POINTS, hall_ids=[h.pk for h in halls],
                                       fixed_hall_ids=[office_hall.pk])
        proposal = planning.plan_now(SYSTEM, morning, bavi, request, seed=PLANNER_SEED)
        planning.apply_proposal(SYSTEM, proposal)
    for point in BridgePoint.objects.filter(conference=conference, hall__in=halls).select_related("hall__unit"):
        fields = _contact(point.hall.unit)
        if fields:
            bridge_points.update_point(SYSTEM, point, **fields)
        if point.hall_id == office_hall.pk:
            _equip(point, check=True, bandwidth=100)
        elif _rng("equipped", point.hall.unit.code).random() < 0.5:
            _equip(point, check=False, bandwidth=_rng("bw", point.hall.unit.code).choice([20, 30, 40, 50]))
    # The afternoon: each university and teacher-training college is a point relaying from the host.
    for uni in services.invited_institutions(afternoon).order_by("code"):
        size = assignment.declared_staff([uni.pk]).get(uni.pk, 0)
        hall = _hall(uni, "Hội trường lớn", max(200, 50 * (size // 50 + 1)))
        point = bridge_points.create_point(SYSTEM, conference, hall, relay_parent=host, sessions=[afternoon],
                                           **_contact(uni))
        assignment.assign(SYSTEM, afternoon, uni, point)
    return conference


def summarise(conference: Conference) -> DemoReport:
    """The figures of the demo conference, Ba Vì's plan first."""
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    morning = conference.sessions.order_by("starts_at").first()
    report = DemoReport(conference_id=conference.pk, points=conference.points.count())
    bavi_points = access.points_in_scope(SYSTEM, conference, within=bavi).filter(sessions=morning)
    used = assignment.seats_used(morning, bavi_points)
    report.bavi_points = sum(1 for p in bavi_points if used.get(p.pk))
    report.bavi_institutions = Assignment.objects.filter(session=morning, point__in=bavi_points).count()
    report.bavi_people = sum(used.values())
    report.bavi_seats = sum(p.capacity for p in bavi_points if used.get(p.pk))
    report.loads = sorted(((p.name, used.get(p.pk, 0), p.capacity) for p in bavi_points if used.get(p.pk)),
                          key=lambda r: -r[1])
    proposal = morning.proposals.filter(unit=bavi, status="applied").order_by("-applied_at").first()
    if proposal is not None:
        report.travel_person_km = proposal.result["travel_person_km"]
        report.average_km = round(report.travel_person_km / max(1, proposal.result["people"]), 2)
        report.method = proposal.result["method"]
    return report
