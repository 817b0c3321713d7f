"""Opinion groups as a background job over a conference's stored votes, scoped to the analyst's subtree."""

import random

import pytest

from diemcau.core.errors import ScopeError
from diemcau.core.models import Job
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import analysis
from diemcau.voice.models import OpinionGroupsRun, Vote

STATEMENTS = [
    "Giáo viên cần được tăng lương ngay trong năm nay",  # consensus: everyone agrees
    "Nên bỏ sổ đầu bài giấy, chuyển hết sang sổ điện tử",
    "Không nên thi tuyển vào lớp 10, chỉ cần xét tuyển",
    "Mỗi lớp chỉ nên có tối đa 35 học sinh",
    "Giáo viên mầm non nên được nghỉ hưu sớm hơn",
    "Nên giao quyền chọn sách giáo khoa cho từng trường",
    "Không nên tổ chức thi giáo viên dạy giỏi hằng năm",
    "Nên có tiết đọc sách bắt buộc hằng tuần",
]


@pytest.fixture
def voted(conference, approved, person_factory, tree):
    """Eight statements; 24 people of Ba Vì in two camps (school A vs school B), 6 in Sóc Sơn."""
    items = [approved(t, kind="opinion") for t in STATEMENTS]
    rng = random.Random(4)
    people = [(person_factory(tree["school_a"]), 0) for _ in range(12)] + \
             [(person_factory(tree["school_b"]), 1) for _ in range(12)]
    outside = [person_factory(tree["school_c"]) for _ in range(6)]
    votes = []
    for person, camp in people:
        for j, op in enumerate(items):
            agree = True if j == 0 else (j % 2 == camp) if rng.random() < 0.95 else (j % 2 != camp)
            votes.append(Vote(opinion=op, person=person, family="stance",
                              kind=Vote.Kind.AGREE if agree else Vote.Kind.DISAGREE))
    for person in outside:
        votes += [Vote(opinion=op, person=person, family="stance", kind=Vote.Kind.DISAGREE) for op in items]
    Vote.objects.bulk_create(votes)
    return items, people, outside


def test_groups_job_recovers_two_camps_and_the_consensus(conference, voted, make_user, tree,
                                                         django_capture_on_commit_callbacks):
    items, _people, _ = voted
    analyst = make_user("pt_bavi", Role.ANALYST, tree["bavi"])
    with django_capture_on_commit_callbacks(execute=True):
        run = analysis.start_groups(analyst, conference)
    run.refresh_from_db()
    job = Job.objects.get(pk=run.job_id)
    assert job.kind == "voice.opinion_groups" and job.owner == analyst and job.status == "done"
    assert run.status == "done" and run.unit == tree["bavi"]
    result = run.result
    # Only Ba Vì's 24 voters: Sóc Sơn's are outside the analyst's subtree.
    assert result["participants"] == 24 and result["statements"] == 8 and result["k"] == 2
    assert sorted(g["n"] for g in result["groups"]) == [12, 12]
    assert items[0].pk in [c["opinion"] for c in result["consensus"] if c["direction"] == "agree"]
    assert all(g["representative"] for g in result["groups"])
    assert len(result["scatter"]) == 24
    assert analysis.latest_done_groups(analyst, conference) == run


def test_groups_job_with_too_few_votes_fails_readably(conference, approved, make_user,
                                                      django_capture_on_commit_callbacks):
    approved("Một ý kiến", kind="opinion")
    analyst = make_user("pt", Role.ANALYST)
    with django_capture_on_commit_callbacks(execute=True):
        run = analysis.start_groups(analyst, conference)
    run.refresh_from_db()
    assert run.status == "failed" and run.error
    job = Job.objects.get(pk=run.job_id)
    assert job.status == "failed" and job.result["code"] == "too_few_votes"


def test_groups_are_scoped(conference, voted, make_user, moderator, teacher, tree, client,
                           django_capture_on_commit_callbacks):
    with pytest.raises(ScopeError):
        analysis.start_groups(teacher().user, conference)
    bavi_mod = moderator("bavi")
    with pytest.raises(ScopeError):
        analysis.start_groups(bavi_mod, conference, tree["hcm"])
    client.force_login(bavi_mod)
    assert client.get(f"/voice/{conference.pk}/groups/?unit={tree['hcm'].pk}").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/voice/{conference.pk}/groups/")
    assert r.status_code == 302
    run = OpinionGroupsRun.objects.get()
    assert run.unit == tree["bavi"] and run.requested_by == bavi_mod
    html = client.get(f"/voice/{conference.pk}/groups/").content.decode()
    assert "<svg class=\"scatter\"" in html and html.count("<circle") == 24
    # Another analyst's page over the whole tree shows no result yet (runs are per subtree).
    client.force_login(make_user("pt_all", Role.ANALYST))
    html = client.get(f"/voice/{conference.pk}/groups/").content.decode()
    assert "<circle" not in html
    client.force_login(teacher().user)
    assert client.get(f"/voice/{conference.pk}/groups/").status_code == 404
    assert SYSTEM  # the demo loader computes runs as the system
