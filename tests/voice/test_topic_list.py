"""Editing a conference's topics (scoped to the top), and the topics the system proposes (a job)."""

import threading

import pytest

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry, Job
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import access, analysis, moderation, opinions, topic_list
from diemcau.voice.models import TopicProposal

SPORTS = [
    "Đề nghị tổ chức giải thể thao, văn nghệ cho giáo viên toàn huyện mỗi năm",
    "Giáo viên mong có hội thao, giải bóng đá, bóng chuyền giao lưu giữa các trường",
    "Nên tổ chức giải bóng chuyền giáo viên để giao lưu, rèn luyện sức khỏe",
    "Mong phòng giáo dục tổ chức hội diễn văn nghệ, thể thao cho thầy cô dịp 20/11",
    "Giải thể thao giáo viên cấp huyện đã lâu không được tổ chức",
    "Đề nghị có kinh phí cho hoạt động văn nghệ, thể thao của công đoàn trường",
]


@pytest.fixture
def top_moderator(make_user, tree):
    return make_user("kd_bo", Role.MODERATOR, tree["ministry"])


@pytest.mark.smoke
def test_topic_editors_add_rename_merge_and_retire(conference, top_moderator, teacher):
    topic_list.ensure_topics(conference)
    topic = topic_list.add_topic(top_moderator, conference, "Văn hóa, thể thao", "giải thể thao, văn nghệ; hội thao")
    assert topic.key == "van-hoa-the-thao" and topic.keywords == ["giải thể thao", "văn nghệ", "hội thao"]
    with pytest.raises(DomainError) as e:
        topic_list.add_topic(top_moderator, conference, "văn hóa, thể thao")
    assert e.value.code == "duplicate_topic"
    topic = topic_list.edit_topic(top_moderator, topic, "Văn hóa, văn nghệ, thể thao", "thể thao")
    assert topic.name == "Văn hóa, văn nghệ, thể thao"
    # The suggester uses the new topic's keywords for the next item.
    op = opinions.submit(teacher(), conference, "Mong được tham gia giải thể thao giáo viên")
    assert op.suggested_topic == topic
    salary = conference.voice_topics.get(key="luong_phu_cap")
    moderation.tag(SYSTEM, moderation.approve(SYSTEM, op), topic)
    target = topic_list.merge_topic(top_moderator, topic, salary)
    op.refresh_from_db()
    topic.refresh_from_db()
    assert op.topic == target and not topic.active and "thể thao" in target.keywords
    assert topic not in topic_list.ensure_topics(conference)
    exams = conference.voice_topics.get(key="thi_cu")
    topic_list.retire_topic(top_moderator, exams)
    assert not conference.voice_topics.get(key="thi_cu").active
    with pytest.raises(DomainError):
        topic_list.merge_topic(top_moderator, salary, salary)
    actions = set(AuditEntry.objects.filter(action__startswith="voice.topic.").values_list("action", flat=True))
    assert actions == {"voice.topic.add", "voice.topic.edit", "voice.topic.merge", "voice.topic.retire"}


@pytest.mark.smoke
def test_topic_editing_is_for_the_top_only(conference, moderator, teacher, make_user, client, top_moderator):
    topic_list.ensure_topics(conference)
    district = moderator("bavi")
    salary = conference.voice_topics.get(key="luong_phu_cap")
    for user in (district, teacher().user, make_user("pt", Role.ANALYST)):
        assert not access.can_edit_topics(user, conference)
        with pytest.raises(ScopeError):
            topic_list.add_topic(user, conference, "Chủ đề mới")
        with pytest.raises(ScopeError):
            topic_list.retire_topic(user, salary)
        client.force_login(user)
        assert client.get(f"/voice/{conference.pk}/topics/").status_code == 404
        assert client.post(f"/voice/{conference.pk}/topics/", {"action": "retire", "topic": salary.pk}).status_code \
            == 404
    assert salary.__class__.objects.get(pk=salary.pk).active
    assert access.can_edit_topics(make_user("bo_x", Role.NATIONAL_ORGANISER), conference)
    client.force_login(top_moderator)
    r = client.post(f"/voice/{conference.pk}/topics/", {"action": "add", "name": "Thi đua, khen thưởng",
                                                        "keywords": "thi đua, khen thưởng"})
    assert r.status_code == 302 and conference.voice_topics.filter(name="Thi đua, khen thưởng").exists()
    html = client.get(f"/voice/{conference.pk}/topics/").content.decode()
    assert "Thi đua, khen thưởng" in html


def test_proposals_job_finds_a_topic_nobody_listed_and_moderators_accept_it(
        conference, teacher, top_moderator, django_capture_on_commit_callbacks, client):
    for text in [*SPORTS, "Lương giáo viên thấp, phụ cấp ít", "Sổ sách hồ sơ quá nhiều"]:
        opinions.submit(teacher(), conference, text)
    with django_capture_on_commit_callbacks(execute=True):
        job = analysis.start_topic_proposals(top_moderator, conference)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.owner == top_moderator and job.result["proposals"] >= 1
    proposal = TopicProposal.objects.get(conference=conference)
    texts = set(conference.opinions.filter(pk__in=proposal.members).values_list("text", flat=True))
    assert len(texts) >= 4 and texts <= set(SPORTS)
    client.force_login(top_moderator)
    html = client.get(f"/voice/{conference.pk}/topics/?job={job.pk}").content.decode()
    assert f'id="proposal-{proposal.pk}"' in html and f'id="job-{job.pk}"' in html
    r = client.post(f"/voice/{conference.pk}/topics/", {"action": "accept", "proposal": proposal.pk,
                                                        "name": "Văn nghệ, thể thao"})
    assert r.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == "accepted" and proposal.topic.name == "Văn nghệ, thể thao"
    assert proposal.topic.keywords == proposal.terms
    with pytest.raises(DomainError) as e:
        topic_list.accept_proposal(top_moderator, proposal)
    assert e.value.code == "proposal_handled"


def test_proposals_are_refused_outside_the_top(conference, moderator):
    with pytest.raises(ScopeError):
        analysis.start_topic_proposals(moderator("bavi"), conference)
    assert not Job.objects.exists()


def test_a_large_conferences_suggester_is_refitted_beside_the_teachers_request(
        conference, top_moderator, teacher, monkeypatch):
    """From REFIT_IN_BACKGROUND_FROM labels the submission that notices a change is not made to wait."""
    monkeypatch.setattr(topic_list, "REFIT_IN_BACKGROUND_FROM", 0)
    fitted_in = []
    learned = topic_list.topic_engine.learned_suggester

    def spy(*args, **kwargs):
        fitted_in.append(threading.current_thread().name)
        return learned(*args, **kwargs)

    monkeypatch.setattr(topic_list.topic_engine, "learned_suggester", spy)
    topic_list.ensure_topics(conference)
    topic = topic_list.add_topic(top_moderator, conference, "Văn hóa, thể thao", "hội diễn")
    opinions.submit(teacher(), conference, "Mong có hội diễn văn nghệ cho giáo viên")
    assert fitted_in == [threading.current_thread().name]  # nothing older to serve: built in the request
    topic_list.edit_topic(top_moderator, topic, topic.name, "hội diễn; giải bóng chuyền")
    op = opinions.submit(teacher(), conference, "Đề nghị tổ chức giải bóng chuyền giáo viên")
    assert op.suggested_topic != topic  # the previous model answered
    topic_list._suggesters.settle()
    assert fitted_in[1] == f"refit-{conference.pk}"
    op = opinions.submit(teacher(), conference, "Đề nghị tổ chức giải bóng chuyền giáo viên")
    assert op.suggested_topic == topic
