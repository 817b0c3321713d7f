"""The summary for policy and the opinion groups are stored results, recomputed in the background
(debounced per conference), and the page reads them without computing anything."""

import pytest
from django.core.cache import cache

from diemcau.core.models import Job
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, near_duplicates, opinions, similar, stored, summary
from diemcau.voice.models import OpinionGroupsRun, StoredDuplicates, StoredSummary, Vote

from .conftest import clustered

pytestmark = pytest.mark.smoke


@pytest.fixture
def analyst(client, make_user, settings):
    cache.clear()  # the debounce windows of earlier tests
    settings.VOICE_REFRESH_SECONDS = 3600  # one window however slow a loaded machine is
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

    # Items arrive: nothing is recomputed by the page, which says so.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        _submit(teacher, conference, "Đề nghị giảm hồ sơ sổ sách cho giáo viên")
    monkeypatch.setattr(summary, "policy_summary", lambda *a, **k: pytest.fail("the page computed the summary"))
    html = analyst.get(url).content.decode()
    assert ">1</dd>" in html.replace(" ", "")
    monkeypatch.undo()

    # The background job (what the worker runs at the end of the window) stores the new figures.
    # The first change after the first look opens a window of its own: one job, at the window's end.
    assert len(queued) == 3 and Job.objects.filter(kind=stored.REFRESH_JOB).count() == 2
    stored.recompute(conference.pk)
    html = analyst.get(url).content.decode()
    assert ">2</dd>" in html.replace(" ", "") and "summary-refreshing" not in html


def test_changes_are_debounced_to_one_job_per_window(conference, teacher, tree, settings,
                                                    django_capture_on_commit_callbacks):
    cache.clear()
    settings.VOICE_REFRESH_SECONDS = 3600  # one window however slow a loaded machine makes the fifty changes
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



LESS_PAPER = "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên tiểu học"
LESS_PAPER_FOLDED = "de nghi giam bot ho so so sach cho giao vien tieu hoc"


def test_duplicates_are_stored_results_the_moderation_page_never_computes(
        client, conference, teacher, moderator, monkeypatch, settings, django_capture_on_commit_callbacks):
    cache.clear()
    settings.VOICE_REFRESH_SECONDS = 3600
    a = opinions.submit(teacher(), conference, LESS_PAPER)
    b = opinions.submit(teacher("school_b"), conference, LESS_PAPER_FOLDED)
    mod = moderator("bavi")
    client.force_login(mod)
    url = f"/voice/{conference.pk}/moderate/"
    never = lambda *a, **k: pytest.fail("the page clustered the conference")  # noqa: E731
    monkeypatch.setattr(near_duplicates, "duplicate_clusters", never)
    with django_capture_on_commit_callbacks(execute=False) as queued:  # the first look queues the job
        html = client.get(url).content.decode()
    assert 'id="duplicates-pending"' in html and 'class="peers"' not in html
    assert len(queued) == 1 and StoredDuplicates.objects.get().refreshing
    monkeypatch.undo()
    stored.recompute(conference.pk)  # what the worker runs
    html = client.get(url).content.decode()
    assert 'class="peers"' in html and 'id="duplicates-age"' in html and "đã tìm trong 2 ý kiến" in html

    # A new item queues the recomputation (one per window); until it runs the page shows what is stored.
    with django_capture_on_commit_callbacks(execute=False):
        c = opinions.submit(teacher("school_b"), conference, "Đề nghị giảm hồ sơ sổ sách cho giáo viên tiểu học")
    assert Job.objects.filter(kind=stored.REFRESH_JOB).count() == 2 and StoredDuplicates.objects.get().refreshing
    monkeypatch.setattr(near_duplicates, "duplicate_clusters", never)
    html = client.get(url).content.decode()
    assert 'id="duplicates-refreshing"' in html
    assert [sorted(o.pk for o in g) for g in similar.suggested_duplicates(mod, conference)] == [
        sorted([a.pk, b.pk])]
    monkeypatch.undo()
    stored.recompute(conference.pk)
    assert [sorted(o.pk for o in g) for g in similar.suggested_duplicates(mod, conference)] == [
        sorted([a.pk, b.pk, c.pk])]
    assert 'id="duplicates-refreshing"' not in client.get(url).content.decode()


def test_stored_duplicates_cover_the_conference_and_each_moderator_sees_their_scope(conference, teacher, moderator):
    a = opinions.submit(teacher(), conference, LESS_PAPER)
    b = opinions.submit(teacher("school_b"), conference, LESS_PAPER_FOLDED)
    c = opinions.submit(teacher("school_c"), conference, LESS_PAPER)  # Sóc Sơn: the same cluster, another scope
    clustered(conference)
    mod = moderator("bavi")
    assert sorted(StoredDuplicates.objects.get().clusters[0]) == sorted([a.pk, b.pk, c.pk])
    assert [sorted(o.pk for o in g) for g in similar.suggested_duplicates(mod, conference)] == [
        sorted([a.pk, b.pk])]
    assert similar.suggested_duplicates(moderator("socson"), conference) == []  # one item of its own: no pair
    assert similar.suggested_duplicates(teacher().user, conference) == []
    moderation.reject(mod, b, "Trùng")  # gone since the clusters were stored: no longer suggested
    assert similar.suggested_duplicates(mod, conference) == []
