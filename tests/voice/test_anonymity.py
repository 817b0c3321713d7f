"""An anonymous item's author is known only to the rate limiter (Trust item 4).

A teacher sends anonymous items through the page and the API; moderators approve, edit, tag, merge
and forward them; the director puts one on screen; colleagues vote. Then everyone who reads
opinions or the audit log (district organiser, analyst, moderator, national organiser, support
staff in the admin) reads every page, fragment, JSON reply and export: the author's username and
full name never appear, nor the text of the item in the audit log. The author still sees their own.
"""

import io

import pytest
from openpyxl import load_workbook

from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry
from diemcau.orgs.models import Role
from diemcau.voice import opinions
from diemcau.voice.models import Opinion
from tests.reports.pdftext import pdf_text

pytestmark = pytest.mark.smoke

HX = {"HTTP_HX_REQUEST": "true"}
USERNAME = "gv_bimat_7731"
FULL_NAME = "Hoàng Thị Kín Đáo"
TEXT_1 = "Đề nghị giảm bớt hồ sơ sổ sách giấy tờ cho giáo viên tiểu học"
TEXT_2 = "Hồ sơ sổ sách giấy tờ của giáo viên tiểu học quá nhiều, đề nghị giảm bớt"


def xlsx_text(content: bytes) -> str:
    """Every cell of every sheet of a workbook, as one string (an .xlsx is zipped: bytes hide text)."""
    wb = load_workbook(io.BytesIO(content))
    return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
                     if c is not None)


def body(response) -> str:
    assert response.status_code == 200, (response.status_code, response.request["PATH_INFO"])
    if response["Content-Type"].startswith("application/vnd.openxmlformats"):
        return xlsx_text(response.content)
    if response["Content-Type"] == "application/pdf":
        return pdf_text(response.content)
    return response.content.decode()


@pytest.fixture
def story(client, conference, teacher, moderator, make_user, organiser_bavi, national, tree):
    """Two anonymous items by one teacher, moderated up to Ba Vì, one on screen, voted on."""
    author = teacher("school_a", username=USERNAME, name=FULL_NAME)
    client.force_login(author.user)
    r = client.post(f"/voice/{conference.pk}/", {"text": TEXT_1, "kind": "opinion", "anonymous": "1"})
    assert r.status_code == 302
    r = client.post(f"/api/voice/conferences/{conference.pk}/opinions/",
                    {"text": TEXT_2, "kind": "opinion", "anonymous": True}, content_type="application/json")
    assert r.status_code == 201 and r.json()["unit"] is None
    first, second = Opinion.objects.order_by("pk")
    assert first.anonymous and second.anonymous

    mod_school = moderator("school_a", "mod_school_a")
    mod_bavi = moderator("bavi", "mod_bavi")
    client.force_login(mod_school)
    for op in (first, second):
        assert client.post(f"/voice/opinions/{op.pk}/approve/", **HX).status_code == 200
    assert client.post(f"/voice/opinions/{first.pk}/edit/", {"text": TEXT_1 + "."}, **HX).status_code == 200
    topic = conference.voice_topics.filter(active=True).first()
    assert client.post(f"/voice/opinions/{first.pk}/tag/", {"topic": topic.pk}, **HX).status_code == 200
    assert client.post(f"/voice/opinions/{second.pk}/merge/", {"target": first.pk}, **HX).status_code == 200
    assert client.post(f"/voice/opinions/{first.pk}/forward/", **HX).status_code == 200
    first.refresh_from_db()
    for i in range(3):
        voter = teacher("school_b", username=f"gv_vote_{i}", name=f"Người Bỏ Phiếu {i}")
        opinions.vote(voter, first, "agree")
    client.force_login(national)
    assert client.post(f"/voice/opinions/{first.pk}/live/on_air/").status_code == 302
    first.refresh_from_db()
    assert first.status == Opinion.Status.ON_AIR and first.at_unit == tree["bavi"]
    return {"author": author, "first": first, "second": second, "mod_school": mod_school, "mod_bavi": mod_bavi}


def readers(story, make_user, organiser_bavi, national, django_user_model):
    analyst = make_user("phan_tich", Role.ANALYST)
    support = django_user_model.objects.create_superuser("ho_tro", password="Mat-khau-2023")
    return {"organiser_bavi": organiser_bavi, "analyst": analyst, "mod_school": story["mod_school"],
            "mod_bavi": story["mod_bavi"], "national": national, "support": support}


def urls_for(conference, story) -> dict[str, list[str]]:
    c, first = conference.pk, story["first"]
    audit = ["/audit/", "/audit/?action=voice.", "/audit/?format=xlsx", "/audit/?format=xlsx&action=voice."]
    summary = [f"/voice/{c}/summary/", f"/voice/{c}/summary/print/?format=xlsx", f"/voice/{c}/summary/print/",
               f"/voice/{c}/summary/print/pdf/"]
    lists = [f"/voice/{c}/ranked/?below=1", f"/api/voice/conferences/{c}/opinions/?below=true",
             f"/voice/{c}/on-air/", f"/api/voice/conferences/{c}/on-air/",
             f"/voice/{c}/similar/?text=giam+bot+ho+so+so+sach", f"/api/voice/conferences/{c}/similar/?q=ho+so+so+sach"]
    moderation = [f"/voice/{c}/moderate/", f"/api/voice/conferences/{c}/queue/"]
    return {
        "organiser_bavi": audit + summary + lists,
        "analyst": audit + summary + lists + [f"/voice/{c}/groups/"],
        "mod_school": moderation + lists,
        "mod_bavi": moderation + lists + summary,
        "national": audit + summary + lists + moderation + [f"/voice/{c}/director/", f"/voice/{c}/topics/"],
        "support": audit + ["/admin/voice/opinion/", f"/admin/voice/opinion/{first.pk}/change/",
                            f"/admin/voice/opinion/{story['second'].pk}/change/", "/admin/core/auditentry/",
                            "/admin/core/auditentry/?q=voice.opinion", "/admin/voice/moderationaction/"]
        + [f"/admin/core/auditentry/{pk}/change/" for pk in AuditEntry.objects.filter(
            object_type="voice.opinion").values_list("pk", flat=True)],
    }


def test_no_reader_ever_sees_the_author_of_an_anonymous_item(client, conference, story, make_user, organiser_bavi,
                                                             national, django_user_model,
                                                             django_capture_on_commit_callbacks):
    people = readers(story, make_user, organiser_bavi, national, django_user_model)
    leaks = []
    for role, urls in urls_for(conference, story).items():
        client.force_login(people[role])
        for url in urls:
            # The summary's first visit queues its stored figures (computed at commit here): the
            # documents after it read them.
            with django_capture_on_commit_callbacks(execute=True):
                text = body(client.get(url))
            # The unfiltered log also holds the person's creation and sign-ins ("person.created",
            # "account.login"), which are not about the item; there only the item's text is looked
            # for, and the voice entries are read through the action filter.
            whole_log = url in ("/audit/", "/audit/?format=xlsx", "/admin/core/auditentry/")
            for secret in () if whole_log else (USERNAME, FULL_NAME):
                if secret in text:
                    leaks.append(f"{role} {url}: {secret}")
            if url.startswith(("/audit/", "/admin/core/")) and (TEXT_1[:40] in text or TEXT_2[:40] in text):
                leaks.append(f"{role} {url}: the item's text")
    assert not leaks, "\n".join(leaks)


def test_anonymous_acts_are_audited_without_the_person(conference, story):
    ids = [str(story["first"].pk), str(story["second"].pk)]
    entries = list(AuditEntry.objects.filter(object_type="voice.opinion", object_id__in=ids))
    actions = {e.action for e in entries}
    # The act is recorded ...
    assert {"voice.opinion.submit", "voice.opinion.approve", "voice.opinion.edit", "voice.opinion.merge",
            "voice.opinion.forward", "voice.opinion.on_air"} <= actions
    submits = [e for e in entries if e.action == "voice.opinion.submit"]
    assert len(submits) == 2
    # ... the person is not: no actor, no text, no kiosk.
    for e in submits:
        assert e.actor_id is None and e.after.get("anonymous") is True and "point" not in e.after
    for e in entries:
        assert TEXT_1[:40] not in f"{e.object_repr} {e.before} {e.after}", e.action
    # Moderators' own acts keep their name: they act in their role, not anonymously.
    assert {e.actor_id for e in entries if e.action == "voice.opinion.approve"} == {story["mod_school"].pk}


def test_signed_items_keep_their_author_in_the_audit(client, conference, teacher):
    author = teacher("school_a", username="gv_ky_ten", name="Trần Văn Ký")
    client.force_login(author.user)
    client.post(f"/voice/{conference.pk}/", {"text": "Câu hỏi có ký tên về chế độ phụ cấp"})
    entry = AuditEntry.objects.get(action="voice.opinion.submit")
    assert entry.actor_id == author.user_id and "chế độ phụ cấp" in entry.object_repr


def test_the_author_still_sees_their_own_items_and_the_limiter_still_counts_them(client, conference, story):
    client.force_login(story["author"].user)
    assert TEXT_2 in client.get(f"/voice/{conference.pk}/").content.decode()
    mine = client.get(f"/api/voice/conferences/{conference.pk}/mine/").json()
    assert {m["id"] for m in mine} == {story["first"].pk, story["second"].pk}
    for i in range(opinions.RATE_PER_PERSON - 2):
        opinions.submit(story["author"], conference, f"Ẩn danh {i}", anonymous=True)
    with pytest.raises(DomainError) as e:
        opinions.submit(story["author"], conference, "Thêm một câu", anonymous=True)
    assert e.value.code == "rate_limited_person"


def test_past_entries_of_anonymous_items_are_scrubbed(conference, teacher):
    """Entries written the old way (author as actor, text as label) lose the person, keep the act."""
    from diemcau.core import audit
    from diemcau.voice.anonymity import scrub_past_entries

    author = teacher("school_a", username=USERNAME, name=FULL_NAME)
    hidden = opinions.submit(author, conference, TEXT_1, anonymous=True)
    signed = opinions.submit(author, conference, "Một câu hỏi có ký tên", anonymous=False)
    AuditEntry.objects.all().delete()
    for op in (hidden, signed):
        audit.record(author.user, "voice.opinion.submit", op, after={"kind": "question", "anonymous": op.anonymous,
                                                                     "session": None, "point": 7})
        audit.record(author.user, "voice.opinion.edit", op, before={"text": op.text}, after={"text": op.text + "!"})
    assert scrub_past_entries(AuditEntry, Opinion) == 2
    assert scrub_past_entries(AuditEntry, Opinion) == 0  # a second run changes nothing
    submit, edit = (AuditEntry.objects.get(object_id=str(hidden.pk), action=a)
                    for a in ("voice.opinion.submit", "voice.opinion.edit"))
    assert submit.actor_id is None and submit.object_repr == f"Ý kiến ẩn danh #{hidden.pk}"
    assert submit.after == {"kind": "question", "anonymous": True, "session": None}
    assert edit.actor_id == author.user_id  # (an edit is a moderator's act: the actor stays)
    assert edit.before == {"text_length": len(TEXT_1)} and edit.after == {"text_length": len(TEXT_1) + 1}
    kept = AuditEntry.objects.filter(object_id=str(signed.pk))
    assert all(e.actor_id == author.user_id and "ký tên" in e.object_repr for e in kept)


def test_the_audit_logs_export_says_anonymous_and_is_itself_audited(client, conference, story, organiser_bavi):
    """The .xlsx names an anonymous act's actor as the page does ("Ẩn danh"), and exporting the log,
    which names the people who acted, leaves its own personal-data entry."""
    client.force_login(organiser_bavi)
    response = client.get("/audit/?format=xlsx&action=voice.opinion.submit", HTTP_ACCEPT_LANGUAGE="vi")
    wb = load_workbook(io.BytesIO(response.content))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    who = {str(row[1]) for row in rows[1:] if row and row[2] == "voice.opinion.submit"}
    assert who == {"Ẩn danh"}
    export = AuditEntry.objects.get(action="personal_data.exported", actor=organiser_bavi)
    assert export.after["export"] == "audit_log" and export.after["rows"] >= 2
