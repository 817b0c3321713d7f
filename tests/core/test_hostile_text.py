"""Hostile text (Trust item 11): one rule refuses control, format and invisible characters on the way
in, with a message naming the field and the character; exports never break on what is stored."""

import io
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from diemcau.core import vntext
from diemcau.core.errors import DomainError
from diemcau.core.excel import build_workbook, safe_cell

pytestmark = pytest.mark.smoke

HOSTILE = {
    "\x00": "U+0000", "\x07": "U+0007", "\x1b": "U+001B", "\x85": "U+0085", "\u202e": "U+202E",
    "\u2066": "U+2066", "\u200b": "U+200B", "\u200f": "U+200F", "\ufeff": "U+FEFF",
}


@pytest.mark.parametrize("char,code_point", HOSTILE.items())
@pytest.mark.parametrize("kind", ["name", "code", "multiline"])
def test_each_hostile_character_is_refused_with_its_code_point(char, code_point, kind):
    with pytest.raises(DomainError) as err:
        vntext.clean_text(f"Trường{char} Tiểu học", "Tên đơn vị", kind=kind)
    assert err.value.code == "unsafe_char"
    assert "Tên đơn vị" in err.value.message and code_point in err.value.message


@pytest.mark.parametrize("char", ["\ue000", "\U000f0000", "\u0378"])  # private use (2), unassigned
def test_private_use_and_unassigned_are_refused_in_names_and_codes_only(char):
    for kind in ("name", "code"):
        with pytest.raises(DomainError):
            vntext.clean_text("A" + char, "Mã", kind=kind)
    assert vntext.clean_text("A" + char, "Ý kiến", kind="multiline") == "A" + char


def test_vietnamese_newlines_and_tabs():
    assert vntext.clean_text(unicodedata.normalize("NFD", "Hòa Bình"), "Tên", kind="name") == "Hòa Bình"
    assert vntext.clean_text("dòng 1\ndòng\t2", "Ý kiến", kind="multiline") == "dòng 1\ndòng\t2"
    with pytest.raises(DomainError):
        vntext.clean_text("dòng 1\ndòng 2", "Tên", kind="name")
    # An emoji sequence joins with U+200D; free text keeps it.
    assert vntext.clean_text("👩\u200d🏫 cô giáo", "Ý kiến", kind="multiline") == "👩\u200d🏫 cô giáo"


def test_the_message_is_vietnamese():
    from django.utils import translation

    with translation.override("vi"), pytest.raises(DomainError) as err:
        vntext.clean_text("A\x07", "Tên đơn vị", kind="name")
    assert err.value.message == "Tên đơn vị chứa ký tự điều khiển U+0007; hãy xoá ký tự này."


def test_django_validators():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as err:
        vntext.reject_unsafe_chars("Hội nghị\u202e")
    assert "U+202E" in str(err.value)
    vntext.reject_unsafe_chars("Hội nghị tổng kết")
    vntext.reject_unsafe_chars_multiline("dòng 1\ndòng 2")


def test_search_terms_drop_what_a_database_cannot_take():
    assert vntext.search_terms("Tây\x00 Đằng\u200b") == ["tay", "dang"]
    assert vntext.search_terms("\x00") == []
    assert vntext.search_terms("Tây\tĐằng\nA") == ["tay", "dang", "a"]


_ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)


@settings(max_examples=400, deadline=None)
@given(_ANY_TEXT)
def test_property_cleaned_text_is_safe_or_refused(text):
    for kind in ("name", "code", "multiline"):
        try:
            clean = vntext.clean_text(text, "Tên", kind=kind)
        except DomainError as exc:
            assert exc.code == "unsafe_char"
            continue
        assert unicodedata.is_normalized("NFC", clean)
        assert vntext.find_unsafe(clean, kind=kind) is None
        assert "\x00" not in clean


@settings(max_examples=300, deadline=None)
@given(_ANY_TEXT)
def test_property_stripped_text_always_passes(text):
    for kind in ("name", "code", "multiline"):
        stripped = vntext.strip_unsafe(text, kind=kind)
        assert vntext.find_unsafe(stripped, kind=kind) is None
        assert vntext.clean_text(stripped, "Tên", kind=kind) == unicodedata.normalize("NFC", stripped).strip() \
            or kind != "multiline"


@settings(max_examples=200, deadline=None)
@given(st.lists(_ANY_TEXT, min_size=1, max_size=5))
def test_property_any_stored_text_exports(values):
    content = build_workbook("Đơn vị", ["A", "B", "C", "D", "E"], [values])
    ws = load_workbook(io.BytesIO(content)).active
    assert ws.max_row == 2


def test_stored_control_characters_export_and_formulas_stay_inert():
    content = build_workbook("Đơn vị", ["Mã", "Tên"], [["A\x07B", "=HYPERLINK(\"x\")\x1b"], ["\x01=1+2", "ok"]],
                             heading=["TIÊU ĐỀ\x0b"])
    ws = load_workbook(io.BytesIO(content)).active
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert values[0] == ["A\ufffdB", "'=HYPERLINK(\"x\")\ufffd"]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert safe_cell("\x01=1+2") == "\ufffd=1+2"
