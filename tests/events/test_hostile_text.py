"""Conference, session and agenda forms refuse control, bidi and zero-width characters (Trust 11)."""

import pytest

from diemcau.events.forms import AgendaItemForm, ConferenceForm
from diemcau.orgs.models import Unit

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize("char,code_point", [("\x07", "U+0007"), ("\u202e", "U+202E"), ("\u200b", "U+200B"),
                                             ("\x00", "")])
def test_conference_form_refuses_hostile_titles(tree, char, code_point):
    form = ConferenceForm({"title": f"Hội nghị{char} tổng kết", "date": "2026-08-15", "place": "Hà Nội",
                           "host_unit": tree["ministry"].pk}, hosts=Unit.objects.filter(pk=tree["ministry"].pk))
    assert not form.is_valid()
    assert "title" in form.errors and code_point in str(form.errors["title"])


def test_agenda_speaker_is_checked(tree):
    form = AgendaItemForm({"starts": "08:00", "title": "Khai mạc", "speaker": "Ông A\u2066", "minutes": 10})
    assert not form.is_valid() and "U+2066" in str(form.errors["speaker"])


def test_multi_line_description_keeps_its_lines(tree):
    form = ConferenceForm({"title": "Hội nghị", "date": "2026-08-15", "place": "Hà Nội",
                           "description": "Dòng 1\r\nDòng 2\tcó tab", "host_unit": tree["ministry"].pk},
                          hosts=Unit.objects.filter(pk=tree["ministry"].pk))
    assert form.is_valid(), form.errors
