"""A teacher's morning, built once for the participant's tests (page and browser): a conference at
the ministry with a session running now, Tây Đằng A's hall (with an address) as its point, the
teacher named in the school's delegation, and a colleague's approved question to vote on."""

import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from diemcau.attendance import delegations
from diemcau.events import services as events
from diemcau.orgs.models import EducationLevel, Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.orgs.services import grant_role
from diemcau.points import assignment, bridge_points, halls
from diemcau.voice import moderation, opinions

QUESTION = "Khi nào có hướng dẫn đánh giá học sinh tiểu học theo Thông tư mới?"
ADDRESS = "Thôn Tây Đằng, huyện Ba Vì, Hà Nội"


def teacher_morning(tree, person_factory, password="Mat-khau-2023") -> dict:
    conference = events.create_conference(SYSTEM, title="Hội nghị trực tuyến ngành Giáo dục",
                                          date=timezone.localdate(), host_unit=tree["ministry"], place="Hà Nội")
    now = timezone.now()
    # on now, and on the conference's day even just after midnight (a session must start on its day)
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    session = events.create_session(SYSTEM, conference, title="Phiên sáng",
                                    starts_at=max(now - datetime.timedelta(hours=1), midnight),
                                    ends_at=now + datetime.timedelta(hours=2),
                                    audience_levels=EducationLevel.PRIMARY | EducationLevel.PRESCHOOL)
    studio = halls.create_hall(SYSTEM, tree["ministry"], name="Hội trường Bộ", capacity=200)
    host = bridge_points.create_point(SYSTEM, conference, studio, name="Điểm cầu chính", is_host=True)
    hall = halls.create_hall(SYSTEM, tree["school_a"], name="Hội trường Tây Đằng A", capacity=120, address=ADDRESS)
    point = bridge_points.create_point(SYSTEM, conference, hall, name="Điểm cầu Tây Đằng A", relay_parent=host)
    bridge_points.update_point(SYSTEM, point, sessions=[session])
    assignment.assign(SYSTEM, session, tree["school_a"], point)
    users = get_user_model().objects
    teacher = users.create_user("giaovien", password=password)
    grant_role(SYSTEM, teacher, Role.PARTICIPANT, tree["school_a"])
    person = person_factory(tree["school_a"], name="Lê Thị Mai", user=teacher)
    colleague = person_factory(tree["school_a"], name="Trần Văn Bình")
    delegations.name_delegation(SYSTEM, session, tree["school_a"], members=[person.pk, colleague.pk])
    item = moderation.approve(SYSTEM, opinions.submit(colleague, conference, QUESTION, kind="question"))
    return {"conference": conference, "session": session, "point": point, "teacher": teacher, "person": person,
            "colleague": colleague, "item": item}
