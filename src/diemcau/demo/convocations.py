"""The demo's convocations and rehearsals: the ministry convokes, Hà Nội forwards to Ba Vì, Ba Vì
confirms, and Ba Vì's points have their rehearsal slots the day before.

Mail in the demo goes where settings send it: with no ``EMAIL_HOST`` (``make demo``), to files under
``var/mail/``; never to anyone. Ba Vì's office gets a synthetic address so that its e-mail exists.
"""

import datetime
import os

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from diemcau.convocations import confirming, issuing, sending
from diemcau.convocations.models import Confirmation, Convocation
from diemcau.events.models import Conference
from diemcau.orgs import admin_data
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import rehearsals
from diemcau.reports.convocation_mail import send_dispatches

from . import org_reference, org_tree

BAVI_EMAIL = "vanphong.pgdbavi@example.invalid"


def load(conference: Conference | None) -> dict:
    """Issue, forward, send to Ba Vì, confirm, and book Ba Vì's rehearsals; nothing when already done."""
    if conference is None or Convocation.objects.filter(conference=conference).exists():
        return {"skipped": True}
    ministry, hanoi, bavi = (Unit.objects.get(code=c) for c in (
        admin_data.MINISTRY_CODE, org_tree.department_code(org_reference.HANOI), org_tree.BA_VI_CODE))
    day = conference.date
    with transaction.atomic():
        national = issuing.issue(
            SYSTEM, conference, ministry, issued_on=day - datetime.timedelta(days=14), number="1250", place="Hà Nội",
            signer_on_behalf="KT. BỘ TRƯỞNG", signer_title="THỨ TRƯỞNG", signer_name="Phạm Ngọc Thưởng")
        to_hanoi = national.recipients.get(unit=hanoi)
        department = issuing.forward(
            SYSTEM, to_hanoi, issued_on=day - datetime.timedelta(days=10), number="2876", place="Hà Nội",
            signer_on_behalf="KT. GIÁM ĐỐC", signer_title="PHÓ GIÁM ĐỐC", signer_name="Phạm Văn Đại",
            additions="Các phòng GD&ĐT thông báo tới các cơ sở giáo dục trực thuộc; điểm cầu hoàn thành chạy "
                      "thử theo lịch và kiểm tra kỹ thuật trước giờ khai mạc.")
        to_bavi = department.recipients.get(unit=bavi)
        if not to_bavi.email:
            to_bavi.email = BAVI_EMAIL
            to_bavi.save(update_fields=["email"])
        ids = sending.send(SYSTEM, department, _base_url(), enqueue=False)
    sent = send_dispatches(ids, _base_url())
    confirming.confirm(SYSTEM, to_bavi, via=Confirmation.Via.PAGE)
    eve = timezone.make_aware(datetime.datetime.combine(day - datetime.timedelta(days=1), datetime.time(8)))
    slots = rehearsals.generate_slots(SYSTEM, conference, bavi, starts_at=eve, ends_at=eve + datetime.timedelta(
        hours=4), minutes=15)
    return {"skipped": False, "recipients": national.recipients.count() + department.recipients.count(),
            "sent": sent["sent"], "slots": len(slots)}


def _base_url() -> str:
    """Where the demo's links point: the public address when one is set, else the demo's own server."""
    local = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
    return (settings.PUBLIC_URL or local) + "/"
