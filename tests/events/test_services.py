"""Conferences, sessions and agendas: the rules, the audience and who may change what."""

import datetime

import pytest
from django.utils import timezone

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry
from diemcau.events import access, services
from diemcau.events.models import Conference
from diemcau.orgs.models import EducationLevel as L
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM

pytestmark = pytest.mark.smoke

DAY = datetime.date(2023, 8, 15)
MORNING = L.PRESCHOOL | L.PRIMARY | L.LOWER_SECONDARY | L.UPPER_SECONDARY | L.CONTINUING | L.SPECIALISED


def at(hour, minute=0, day=DAY):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def conference(tree):
    return services.create_conference(SYSTEM, title="Bộ trưởng gặp gỡ nhà giáo 2023", date=DAY,
                                      host_unit=tree["ministry"], place="Hà Nội")


@pytest.fixture
def morning(conference):
    return services.create_session(SYSTEM, conference, title="Phiên sáng", starts_at=at(8), ends_at=at(11, 30),
                                   audience_levels=MORNING)


def test_create_conference_and_audit(national, tree):
    conf = services.create_conference(national, title="  Hội nghị   tổng kết ", date=DAY,
                                      host_unit=tree["ministry"], place="Hà Nội")
    assert conf.title == "Hội nghị tổng kết"
    entry = AuditEntry.objects.get(action="conference.created")
    assert entry.actor == national and entry.unit_path == tree["ministry"].path


def test_district_organiser_cannot_host_at_the_ministry(organiser_bavi, tree):
    with pytest.raises(ScopeError):
        services.create_conference(organiser_bavi, title="X", date=DAY, host_unit=tree["ministry"])
    conf = services.create_conference(organiser_bavi, title="Hội nghị huyện", date=DAY, host_unit=tree["bavi"])
    assert conf.host_unit == tree["bavi"]


def test_conference_visibility_follows_the_line(conference, organiser_bavi, make_user, tree):
    # Ba Vì sees the ministry's conference (it hangs below the host) ...
    assert conference in access.visible_conferences(organiser_bavi)
    # ... but not a conference hosted by Hồ Chí Minh City's department.
    hcm_conf = services.create_conference(SYSTEM, title="Hội nghị TP.HCM", date=DAY, host_unit=tree["hcm"])
    assert hcm_conf not in access.visible_conferences(organiser_bavi)
    nobody = make_user("nobody")
    assert not access.visible_conferences(nobody).exists()
    assert not access.can_manage(organiser_bavi, conference)


def test_session_needs_an_audience(conference):
    with pytest.raises(DomainError) as err:
        services.create_session(SYSTEM, conference, title="Phiên", starts_at=at(8), ends_at=at(9),
                                audience_levels=0)
    assert err.value.code == "session_without_audience"
    assert not conference.sessions.exists()


@pytest.mark.parametrize("start,end,code", [
    (at(9), at(8), "bad_time_window"),
    (at(8, day=DAY + datetime.timedelta(days=1)), at(9, day=DAY + datetime.timedelta(days=1)),
     "session_outside_conference"),
])
def test_session_time_window(conference, start, end, code):
    with pytest.raises(DomainError) as err:
        services.create_session(SYSTEM, conference, title="Phiên", starts_at=start, ends_at=end,
                                audience_levels=MORNING)
    assert err.value.code == code


def test_audience_must_lie_below_the_host(tree):
    conf = services.create_conference(SYSTEM, title="Hội nghị Hà Nội", date=DAY, host_unit=tree["hanoi"])
    with pytest.raises(DomainError) as err:
        services.create_session(SYSTEM, conf, title="Phiên", starts_at=at(8), ends_at=at(9),
                                audience_levels=MORNING, audience_units=[tree["hcm"]])
    assert err.value.code == "audience_outside_host"


def test_invited_institutions_follow_levels_and_subtrees(conference, morning, tree, organiser_bavi):
    invited = set(services.invited_institutions(morning))
    assert {tree["school_a"], tree["school_b"], tree["school_c"], tree["school_d"]} <= invited
    assert tree["bavi"] not in invited  # offices are not invited, institutions are
    preschool = services.create_session(SYSTEM, conference, title="Mầm non Ba Vì", starts_at=at(14),
                                        ends_at=at(15), audience_levels=L.PRESCHOOL,
                                        audience_units=[tree["bavi"]])
    assert list(services.invited_institutions(preschool)) == [tree["school_b"]]
    # A Ba Vì organiser sees only Ba Vì's invited institutions, counted by level.
    summary = services.session_summary(morning, organiser_bavi)
    assert summary["invited"] == 2 and summary["unassigned"] == 2
    by_level = {row["level"]: row["count"] for row in summary["by_level"]}
    assert by_level["primary"] == 1 and by_level["preschool"] == 1 and by_level["upper_secondary"] == 0


def test_agenda_items_stay_inside_their_session(morning):
    item = services.add_agenda_item(SYSTEM, morning, starts_at=at(8), ends_at=at(8, 15),
                                    title="Khai mạc", speaker="Bộ trưởng")
    assert list(morning.agenda.all()) == [item]
    with pytest.raises(DomainError) as err:
        services.add_agenda_item(SYSTEM, morning, starts_at=at(12), title="Quá giờ")
    assert err.value.code == "agenda_outside_session"
    services.remove_agenda_item(SYSTEM, item)
    assert not morning.agenda.exists()


def test_update_conference_date_keeps_sessions_on_it(conference, morning):
    with pytest.raises(DomainError) as err:
        services.update_conference(SYSTEM, conference, date=DAY + datetime.timedelta(days=1))
    assert err.value.code == "sessions_on_other_date"
    services.update_conference(SYSTEM, conference, title="Tên mới")
    assert Conference.objects.get(pk=conference.pk).title == "Tên mới"


def test_only_the_hosts_organisers_change_sessions(morning, organiser_bavi, make_user, tree):
    with pytest.raises(ScopeError):
        services.update_session(organiser_bavi, morning, title="Đổi tên")
    hanoi = make_user("hn", Role.UNIT_ORGANISER, tree["hanoi"])
    with pytest.raises(ScopeError):
        services.add_agenda_item(hanoi, morning, starts_at=at(9), title="X")
    bo = make_user("bo2", Role.NATIONAL_ORGANISER)
    services.update_session(bo, morning, title="Phiên sáng (sửa)")
    morning.refresh_from_db()
    assert morning.title == "Phiên sáng (sửa)"


def test_markup_and_legacy_text_are_refused(conference):
    with pytest.raises(DomainError) as err:
        services.create_session(SYSTEM, conference, title="<b>Phiên</b>", starts_at=at(8), ends_at=at(9),
                                audience_levels=MORNING)
    assert err.value.code == "markup"
