"""Opinions with control, bidi and zero-width characters are refused with a clear message (Trust 11)."""

import pytest

from diemcau.core.errors import DomainError
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, opinions

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize("char,code_point", [("\x00", "U+0000"), ("\x07", "U+0007"), ("\u202e", "U+202E"),
                                             ("\u200b", "U+200B")])
def test_api_refuses_hostile_opinions(client, teacher, conference, char, code_point):
    person = teacher()
    client.force_login(person.user)
    r = client.post(f"/api/voice/conferences/{conference.pk}/opinions/",
                    {"text": f"Đề nghị{char} tăng phụ cấp"}, content_type="application/json")
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "unsafe_char" and code_point in r.json()["message"]


def test_page_refuses_a_hostile_opinion(client, teacher, conference):
    person = teacher()
    client.force_login(person.user)
    r = client.post(f"/voice/{conference.pk}/", {"text": "Đề nghị\u202e tăng phụ cấp", "kind": "question"})
    assert r.status_code == 400
    assert "U+202E" in r.content.decode()
    assert not person.opinions.exists()


def test_a_moderators_edit_is_checked_too(conference, teacher):
    op = opinions.submit(teacher(), conference, "Đề nghị tăng phụ cấp")
    with pytest.raises(DomainError) as err:
        moderation.edit(SYSTEM, op, "Đề nghị\x07 tăng phụ cấp")
    assert err.value.code == "unsafe_char"


def test_multi_line_opinions_and_emoji_still_pass(conference, teacher):
    op = opinions.submit(teacher(), conference, "Đề nghị tăng phụ cấp 👩\u200d🏫\ncho giáo viên")
    assert "👩\u200d🏫" in op.text
