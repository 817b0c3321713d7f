"""The Vietnamese catalogue is complete, and Vietnamese text handling is right."""

import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from diemcau.core.vntext import fold, looks_like_legacy_font, nfc, search_terms

pytestmark = pytest.mark.smoke
PO = Path(__file__).resolve().parents[2] / "src/diemcau/locale/vi/LC_MESSAGES/django.po"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext tools are not installed")
def test_vi_catalogue_has_no_untranslated_or_fuzzy_entries():
    stats = subprocess.run(["msgfmt", "--check-format", "--statistics", "-o", "/dev/null", str(PO)],
                           capture_output=True, text=True, check=True).stderr
    assert "translated message" in stats
    assert "untranslated" not in stats and "fuzzy" not in stats, stats


def test_catalogue_is_nfc():
    text = PO.read_text(encoding="utf-8")
    assert text == unicodedata.normalize("NFC", text)


@pytest.mark.parametrize("raw,folded", [
    ("Ba Vì", "ba vi"), ("BA VÌ", "ba vi"), ("ba vi", "ba vi"),
    ("Đặng Thị Đào", "dang thi dao"), (unicodedata.normalize("NFD", "Trường Tiểu học"), "truong tieu hoc"),
    ("  Sở   GD&ĐT  ", "so gd&dt"),
])
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_nfc_collapses_and_composes():
    assert nfc(unicodedata.normalize("NFD", " Hà  Nội ")) == "Hà Nội"
    assert search_terms("  Tây  ĐẰNG ") == ["tay", "dang"]


@pytest.mark.parametrize("text,legacy", [
    ("Tr\xadêng TiÓu häc Cæ §«", True),          # TCVN3 (ABC) read as Windows-1252
    ("Tröôøng Tieåu hoïc Coå Ñoâ", True),        # VNI read as Windows-1252
    ("Nguyeãn Vaên An", True),                   # VNI without its telltale letters (ö ø ï ñ)
    ("Hoaøng Thò Lan", True),
    ("Leâ Thò Thu", True),
    ("Hoà Bình, Hoãn, Muôn, Thuý, Khuê", False),  # pairs that real Vietnamese has
    ("Müller", False),
    ("Trường Tiểu học Cổ Đô", False),
    ("Nhiệt độ 30°C ở Hà Nội", False),
    ("Ecole Française", False),
    ("", False),
])
def test_legacy_font_detection(text, legacy):
    assert looks_like_legacy_font(text) is legacy
