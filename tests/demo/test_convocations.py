"""The demo's "before": Ba Vì receives Hà Nội's convocation (forwarded from the ministry's), confirms it,
and its points have their rehearsal slots the day before."""

import pytest

from diemcau.convocations import confirming
from diemcau.convocations.models import Convocation, Dispatch
from diemcau.demo import convocations as demo_convocations
from diemcau.demo import events as demo
from diemcau.demo import org_tree
from diemcau.demo import orgs as orgs_demo
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import readiness
from diemcau.points.models import RehearsalSlot

pytestmark = pytest.mark.slow


@pytest.mark.django_db
def test_bavi_receives_confirms_and_rehearses(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    orgs_demo.load(accounts=False)
    demo.load()
    conference = demo.loaded()
    report = demo_convocations.load(conference)
    assert report["sent"] == 1 and report["slots"] == demo.BA_VI_POINTS
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    received = Dispatch.objects.get(recipient__unit=bavi)
    assert received.status == "sent" and received.recipient.convocation.parent.issuer.kind == "ministry"
    assert "Giấy mời số 2876" in next(tmp_path.iterdir()).read_text()
    assert confirming.rollup(SYSTEM, conference, bavi)["own"].confirmation
    board = readiness.board(SYSTEM, conference, bavi)
    assert board["points"] == demo.BA_VI_POINTS and board["no_rehearsal"] == 0
    assert RehearsalSlot.objects.filter(point__hall__unit__path__startswith=bavi.path).count() == demo.BA_VI_POINTS
    assert demo_convocations.load(conference) == {"skipped": True} and Convocation.objects.count() == 2
