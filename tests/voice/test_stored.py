"""The summary for policy and the opinion groups are stored results, recomputed in the background
(debounced per conference), and the page reads them without computing anything."""

import pytest
from django.core.cache import cache

from diemcau.core.models import Job
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, opinions, stored, summary
from diemcau.voice.models import OpinionGroupsRun, StoredSummary, Vote

pytestmark = pytest.mark.smoke


@pytest.fixture
def analyst(client, make_user):
    cache.clear()  # the debounce windows of earlier tests
    client.force_login(make_user("pt", Role.ANALYST))
    return client


def _submit(teacher, conference, text):
    return moderation.approve(SYSTEM, opinions.submit(teacher(), conference, text))


def test_page_shows_the_stored_summary_with_its_age_and_never_computes_it(
        analyst, conference, teacher, monkeypatch, django_capture_on_commit_callbacks):
    url = f"/voice/{conference.pk}/summary/"
    _submit(teacher, conference, "Lương giáo viên mầm non quá thấp")
    with django_capture_on_commit_callbacks(execute=True):  # the first visit queues the computation
        html = analyst.get(url).content.decode()
    assert "summary-pending" in html and 'http-equiv="refresh"' in html
    html = analyst.get(url).content.decode()
    assert ">1</dd>" in html.replace(" ", "") and 'id="summary-age">Cập nhật' in html

    # Items arrive inside the window: nothing is recomputed by the page, which says so.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        _submit(teacher, conference, "Đề nghị giảm hồ sơ sổ sách cho giáo viên")
    monkeypatch.setattr(summary, "policy_summary", lambda *a, **k: pytest.fail("the page computed the summary"))
    html = analyst.get(url).content.decode()
    assert ">1</dd>" in html.replace(" ", "")
    monkeypatch.undo()

    # The background job (what the worker runs at the end of the window) stores the new figures.
    assert len(queued) == 2 and Job.objects.filter(kind=stored.REFRESH_JOB).count() == 1  # live notices only
    stored.recompute(conference.pk)
    html = analyst.get(url).content.decode()
    assert ">2</dd>" in html.replace(" ", "") and "summary-refreshing" not in html


def test_changes_are_debounced_to_one_job_per_window(conference, teacher, tree, django_capture_on_commit_callbacks):
    cache.clear()
    StoredSummary.objects.create(conference=conference, unit=tree["ministry"])
    first = _submit(teacher, conference, "Thiếu phòng học bộ môn")
    # Fifty changes (items and votes) in one window queue one job, which starts at the window's end.
    for k in range(25):
        op = _submit(teacher, conference, f"Ý kiến số {k} về tiền lương giáo viên")
        opinions.vote(teacher(), first if k % 2 else op, Vote.Kind.UPVOTE)
    jobs = Job.objects.filter(kind=stored.REFRESH_JOB)
    assert jobs.count() == 1 and StoredSummary.objects.get().refreshing
    # The next window queues the next one; running it stores the summary and the groups' run.
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        stored.changed(conference.pk)
    assert jobs.count() == 2 and jobs.order_by("-pk").first().status == Job.Status.DONE
    snapshot = StoredSummary.objects.get()
    assert not snapshot.refreshing and snapshot.data["total"] == 26
    assert not OpinionGroupsRun.objects.filter(status=OpinionGroupsRun.Status.RUNNING).exists()

