"""A planning world in miniature: the seed's conference, a host point, Ba Vì schools with halls."""

import datetime

import pytest
from django.utils import timezone

from diemcau.events import services as events
from diemcau.orgs.models import EducationLevel as L
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import bridge_points
from diemcau.points import halls as points_halls

MORNING = L.PRESCHOOL | L.PRIMARY | L.LOWER_SECONDARY | L.UPPER_SECONDARY | L.CONTINUING | L.SPECIALISED
AFTERNOON = L.UNIVERSITY | L.TEACHER_COLLEGE
DAY = datetime.date(2023, 8, 15)


def at(hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(DAY, datetime.time(hour, minute)))


# Eight more Ba Vì schools around the district town (lat, lon), with their declared staff.
BAVI_SCHOOLS = [
    ("TH_TANLINH", "Trường Tiểu học Tản Lĩnh", L.PRIMARY, 21.0900, 105.3900, 40),
    ("THCS_TANLINH", "Trường THCS Tản Lĩnh", L.LOWER_SECONDARY, 21.0920, 105.3950, 45),
    ("MN_BAVI", "Trường Mầm non Ba Vì", L.PRESCHOOL, 21.1000, 105.3800, 30),
    ("TH_CAMLINH", "Trường Tiểu học Cẩm Lĩnh", L.PRIMARY, 21.1500, 105.3700, 35),
    ("THCS_CAMLINH", "Trường THCS Cẩm Lĩnh", L.LOWER_SECONDARY, 21.1520, 105.3720, 40),
    ("THPT_BAVI", "Trường THPT Ba Vì", L.UPPER_SECONDARY, 21.2000, 105.4200, 80),
    ("GDTX_BAVI", "Trung tâm GDNN-GDTX Ba Vì", L.CONTINUING, 21.2050, 105.4250, 25),
    ("TH_VANHOA", "Trường Tiểu học Vân Hòa", L.PRIMARY, 21.1000, 105.4300, 35),
]


@pytest.fixture
def planning(tree, make_unit):
    """The conference, its two sessions, the ministry's host point, Hà Nội's point and Ba Vì's halls."""
    from diemcau.orgs import services as orgs

    t = dict(tree)
    for key, lat, lon, teachers in (("ministry", 21.0245, 105.8412, 0), ("hanoi", 21.0285, 105.8542, 0),
                                    ("bavi", 21.1990, 105.4230, 0), ("school_a", 21.0700, 105.3600, 30),
                                    ("school_b", 21.1020, 105.4280, 20)):
        t[key] = orgs.update_unit(SYSTEM, t[key], latitude=lat, longitude=lon, teachers_count=teachers)
    for code, name, level, lat, lon, staff in BAVI_SCHOOLS:
        t[code] = make_unit(t["bavi"], name, code=code, levels=level, latitude=lat, longitude=lon,
                            teachers_count=staff)
    t["university"] = make_unit(t["ministry"], "Trường Đại học Sư phạm Hà Nội", code="DHSPHN",
                                levels=L.UNIVERSITY, latitude=21.0370, longitude=105.7830, teachers_count=900)
    conf = events.create_conference(
        SYSTEM, title="Bộ trưởng Bộ GD&ĐT gặp gỡ các nhà giáo năm 2023", date=DAY,
        host_unit=t["ministry"], place="Hà Nội")
    morning = events.create_session(SYSTEM, conf, title="Phiên buổi sáng", starts_at=at(8), ends_at=at(11, 30),
                                    audience_levels=MORNING)
    afternoon = events.create_session(SYSTEM, conf, title="Phiên buổi chiều", starts_at=at(14), ends_at=at(17),
                                      audience_levels=AFTERNOON)
    halls = {
        "ministry": points_halls.create_hall(SYSTEM, t["ministry"], name="Hội trường Bộ", capacity=300),
        "hanoi": points_halls.create_hall(SYSTEM, t["hanoi"], name="Hội trường Sở", capacity=200),
        "bavi": points_halls.create_hall(SYSTEM, t["bavi"], name="Hội trường Phòng", capacity=150),
        "thpt": points_halls.create_hall(SYSTEM, t["THPT_BAVI"], name="Hội trường A", capacity=150),
        "thcs_tl": points_halls.create_hall(SYSTEM, t["THCS_TANLINH"], name="Hội trường", capacity=120),
        "thcs_cl": points_halls.create_hall(SYSTEM, t["THCS_CAMLINH"], name="Hội trường", capacity=100),
        "th_vh": points_halls.create_hall(SYSTEM, t["TH_VANHOA"], name="Nhà đa năng", capacity=80),
    }
    host = bridge_points.create_point(SYSTEM, conf, halls["ministry"], name="Điểm cầu chính – Bộ GD&ĐT", is_host=True)
    hanoi_point = bridge_points.create_point(SYSTEM, conf, halls["hanoi"], name="Điểm cầu Sở GD&ĐT Hà Nội")
    return {"t": t, "conference": conf, "morning": morning, "afternoon": afternoon, "halls": halls,
            "host": host, "hanoi_point": hanoi_point}


@pytest.fixture
def bavi_institutions(planning):
    """Ba Vì's invited institutions for the morning session."""
    return list(events.invited_institutions(planning["morning"], within=planning["t"]["bavi"]).order_by("path"))


def unit(code: str) -> Unit:
    return Unit.objects.get(code=code)


@pytest.fixture
def bavi_point(planning):
    """A bridge point in Ba Vì's hall for the planning conference."""
    return bridge_points.create_point(SYSTEM, planning["conference"], planning["halls"]["bavi"])
