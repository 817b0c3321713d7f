"""Convocations on the attendance world: the ministry convokes its departments, Hà Nội forwards to Ba Vì.

Recipients of the ministry's convocation (units below it that the sessions invite): Hà Nội and
TP Hồ Chí Minh (their schools), and the university (the afternoon's audience). Hà Nội's organiser
and Hồ Chí Minh's have e-mail addresses; the university has none.
"""

import datetime

import pytest

from diemcau.convocations import issuing
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from tests.attendance.conftest import world  # noqa: F401  (fixtures reused)
from tests.points.conftest import bavi_institutions, planning  # noqa: F401

ISSUED = datetime.date(2023, 8, 1)


@pytest.fixture
def people(world, make_user):  # noqa: F811
    t = world["t"]
    hanoi = make_user("sohanoi", Role.UNIT_ORGANISER, t["hanoi"])
    hanoi.email = "vanphong@hanoi.edu.vn"
    hanoi.save()
    hcm = make_user("sohcm", Role.UNIT_ORGANISER, t["hcm"])
    hcm.email = "vanphong@hcm.edu.vn"
    hcm.save()
    bavi = make_user("pgdbavi", Role.UNIT_ORGANISER, t["bavi"])
    bavi.email = "pgd@bavi.edu.vn"
    bavi.save()
    ministry = make_user("bo", Role.NATIONAL_ORGANISER)
    return {"hanoi": hanoi, "hcm": hcm, "bavi": bavi, "ministry": ministry}


@pytest.fixture
def convoked(world, people):  # noqa: F811
    """The ministry's convocation (number 12) and Hà Nội's forward of it (number 15) to its districts."""
    t = world["t"]
    ministry = issuing.issue(people["ministry"], world["conference"], t["ministry"], issued_on=ISSUED, number="12",
                             place="Hà Nội", signer_on_behalf="KT. BỘ TRƯỞNG", signer_title="THỨ TRƯỞNG",
                             signer_name="Nguyễn Văn Phúc")
    to_hanoi = ministry.recipients.get(unit=t["hanoi"])
    hanoi = issuing.forward(people["hanoi"], to_hanoi, issued_on=ISSUED + datetime.timedelta(days=2), number="15",
                            place="Hà Nội", additions="Các phòng GD&ĐT thông báo đến các trường trực thuộc.")
    return {**world, "people": people, "ministry_conv": ministry, "hanoi_conv": hanoi, "to_hanoi": to_hanoi,
            "to_bavi": hanoi.recipients.get(unit=t["bavi"]), "system": SYSTEM}
