"""Rehearsal slots before the day, the technical check's deadline, and the readiness board's alarms."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from diemcau.core.errors import DomainError, ScopeError
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import bridge_points, readiness, rehearsals
from diemcau.points.models import RehearsalSlot

from .conftest import DAY, at

pytestmark = pytest.mark.django_db


def _eve(hour, minute=0):
    return at(hour, minute) - datetime.timedelta(days=1)


@pytest.fixture
def bavi(planning, make_user):
    conf, halls = planning["conference"], planning["halls"]
    points = [bridge_points.create_point(SYSTEM, conf, halls["bavi"], name="Điểm cầu Phòng Ba Vì",
                                         contact_name="Nguyễn Văn Kỹ", contact_phone="0912345678"),
              bridge_points.create_point(SYSTEM, conf, halls["thpt"], name="Điểm cầu THPT Ba Vì")]
    for p in points:
        p.sessions.add(planning["morning"])
    return {**planning, "points": points, "organiser": make_user("pgd", Role.UNIT_ORGANISER, planning["t"]["bavi"])}


def test_a_slot_is_before_the_day_never_overlaps_and_only_in_ones_own_subtree(bavi):
    organiser, point = bavi["organiser"], bavi["points"][0]
    slot = rehearsals.create_slot(organiser, point, starts_at=_eve(14), ends_at=_eve(14, 30), note="Chạy thử")
    assert slot.created_by == organiser
    for start, end, code in ((_eve(14, 15), _eve(14, 45), "slot_overlap"), (at(6), at(6, 30), "slot_not_before_day"),
                             (_eve(15), _eve(15, 2), "bad_slot_window")):
        with pytest.raises(DomainError) as exc:
            rehearsals.create_slot(organiser, point, starts_at=start, ends_at=end)
        assert exc.value.code == code
    with pytest.raises(ScopeError):  # Hà Nội's point is not Ba Vì's to book
        rehearsals.create_slot(organiser, bavi["hanoi_point"], starts_at=_eve(9), ends_at=_eve(9, 30))


def test_generating_spreads_one_slot_per_point_evenly_over_the_window(bavi):
    slots = rehearsals.generate_slots(bavi["organiser"], bavi["conference"], bavi["t"]["bavi"],
                                      starts_at=_eve(8), ends_at=_eve(10), minutes=45)
    assert [(timezone.localtime(s.starts_at).strftime("%H:%M"), timezone.localtime(s.ends_at).strftime("%H:%M"))
            for s in slots] == [("08:00", "08:45"), ("09:00", "09:45")]
    assert RehearsalSlot.objects.filter(point=bavi["hanoi_point"]).count() == 0  # outside Ba Vì
    with pytest.raises(DomainError) as exc:
        rehearsals.generate_slots(bavi["organiser"], bavi["conference"], bavi["t"]["bavi"],
                                  starts_at=_eve(8), ends_at=_eve(10))
    assert exc.value.code == "nothing_to_schedule"


def test_the_board_shows_the_deadline_and_alarms_for_unchecked_uncontacted_unequipped_points(bavi, settings):
    settings.TECHNICAL_CHECK_DEADLINE_MINUTES = 90
    ready, bare = bavi["points"]
    for field in ready.EQUIPMENT_FIELDS:
        setattr(ready, field, True)
    ready.bandwidth_mbps = 20
    ready.save()
    readiness.set_readiness(SYSTEM, ready, "equipped")
    readiness.record_check(SYSTEM, ready, passed=True)
    rehearsals.create_slot(SYSTEM, bare, starts_at=_eve(14), ends_at=_eve(14, 30))
    before = readiness.board(bavi["organiser"], bavi["conference"], now=at(6))
    rows = {r["point"].name: r for r in before["rows"]}
    assert set(rows) == {"Điểm cầu Phòng Ba Vì", "Điểm cầu THPT Ba Vì"}  # Hà Nội's and the ministry's are not Ba Vì's
    assert timezone.localtime(rows["Điểm cầu THPT Ba Vì"]["deadline"]).strftime("%d/%m/%Y %H:%M") == "15/08/2023 06:30"
    assert [c for c, _l in rows["Điểm cầu THPT Ba Vì"]["alarms"]] == ["not_checked", "no_contact", "no_equipment"]
    assert rows["Điểm cầu Phòng Ba Vì"]["alarms"] == [] and before["ready"] == 1 and before["no_rehearsal"] == 1
    after = readiness.board(bavi["organiser"], bavi["conference"], now=at(6, 31))
    assert after["rows"][0]["alarms"][0][0] == "overdue"
    assert DAY == bavi["conference"].date


def test_the_pages_show_the_board_and_book_a_slot(bavi, client):
    client.force_login(bavi["organiser"])
    cid = bavi["conference"].pk
    page = client.get(reverse("points:readiness-board", args=[cid])).content.decode()
    assert "Điểm cầu THPT Ba Vì" in page and 'data-alarm="no_contact"' in page
    assert "Điểm cầu Sở GD&amp;ĐT Hà Nội" not in page
    response = client.post(reverse("points:rehearsals", args=[cid]), {
        "action": "one", "point": bavi["points"][1].pk, "starts_at": "2023-08-14T09:00", "ends_at": "2023-08-14T09:30"})
    assert response.status_code == 302
    assert "14/08/2023 09:00" in client.get(reverse("points:rehearsals", args=[cid])).content.decode()
