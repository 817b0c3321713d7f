"""The demo's opinions: sent, moderated up the tree, voted on, one on screen; deterministic, idempotent."""

import pytest

from diemcau.demo import events as events_demo
from diemcau.demo import orgs as orgs_demo
from diemcau.demo import voice as demo
from diemcau.voice import on_air as voice_on_air
from diemcau.voice.models import Opinion

pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True)
def test_demo_opinions_are_the_same_draws_as_before():
    orgs_demo.load(accounts=True)
    events_demo.load()
    report = demo.load()
    assert not report.skipped
    # One seeded generator drives everything: these figures are what load() gave before it was split
    # into steps (same draws in the same order), and change only with the labelled set or the seed.
    assert (report.items, report.approved, report.rejected, report.merged, report.at_ministry, report.votes) \
        == (demo.N_ITEMS, 167, 28, 117, 15, 13902)
    assert report.on_air.startswith("Đề nghị có chính sách thu hút học sinh giỏi vào ngành sư phạm")
    assert report.groups == 2 and report.proposals == 1
    conference = events_demo.loaded()
    on_air = voice_on_air.on_air(conference)
    assert on_air is not None and on_air.at_unit.parent_id is None
    assert Opinion.objects.filter(conference=conference, answered_at__isnull=False).count() == 1
    # Running it again changes nothing.
    again = demo.load()
    assert again.skipped and again.items == report.items
