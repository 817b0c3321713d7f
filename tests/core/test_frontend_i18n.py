"""One JavaScript translation scheme (Django's catalogue at /jsi18n/), numbers through the formats,
and the page's time zone from settings."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from diemcau.points.halls import whole_number as points_number

SRC = Path(__file__).resolve().parents[2] / "src" / "diemcau"
JS_PO = SRC / "locale/vi/LC_MESSAGES/djangojs.po"
VENDORED = ("vendor", "janus.js", "adapter.js", "htmx.min.js")
OUR_SCRIPTS = sorted(p for p in SRC.rglob("static/**/*.js") if not any(v in p.parts or p.name == v for v in VENDORED))
# gettext("..."), ngettext("...", "...", n) with plain double-quoted literals, possibly "a" + "b" joined.
LITERAL = r'"(?:[^"\\]|\\.)*"(?:\s*\+\s*"(?:[^"\\]|\\.)*")*'
CALL = re.compile(rf"\b(n?gettext)\(\s*({LITERAL})(?:\s*,\s*({LITERAL}))?")


def _literal(text: str) -> str:
    return "".join(json.loads(part) for part in re.findall(r'"(?:[^"\\]|\\.)*"', text))


def _msgids(path: Path) -> list[str]:
    out = []
    for m in CALL.finditer(path.read_text(encoding="utf-8")):
        out.append(_literal(m.group(2)))
    return out


def _catalogue(client, language: str) -> dict:
    client.cookies["diemcau_language"] = language
    text = client.get("/jsi18n/").content.decode()
    words = re.search(r"const newcatalog = (\{.*?\});", text, re.S)  # absent when nothing is translated
    catalogue = json.loads(words.group(1)) if words else {}
    formats = json.loads(re.search(r"django.formats = (\{.*?\});", text, re.S).group(1))
    return {"catalogue": catalogue, "formats": formats}


def test_the_scan_finds_our_scripts():
    names = {p.name for p in OUR_SCRIPTS}
    assert {"rollcall.js", "kiosk.js", "director.js", "check.js", "app.js"} <= names
    assert "janus.js" not in names and "idb.umd.js" not in names


@pytest.mark.parametrize("script", [p for p in OUR_SCRIPTS if _msgids(p)], ids=lambda p: p.name)
def test_every_word_of_a_script_is_in_the_vietnamese_catalogue(client, db, script):
    catalogue = _catalogue(client, "vi")["catalogue"]
    missing = [m for m in _msgids(script) if not catalogue.get(m)]
    assert missing == []


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext tools are not installed")
def test_the_script_catalogue_is_complete():
    stats = subprocess.run(["msgfmt", "--check-format", "--statistics", "-o", "/dev/null", str(JS_PO)],
                           capture_output=True, text=True, check=True).stderr
    assert "translated message" in stats
    assert "untranslated" not in stats and "fuzzy" not in stats, stats


def test_no_hand_written_dictionary_is_left():
    """The scripts take their words from the catalogue: no data-msg-* attributes, no labels in a config."""
    templates = [p for p in SRC.rglob("templates/**/*.html") if "data-msg-" in p.read_text(encoding="utf-8")]
    scripts = [p.name for p in OUR_SCRIPTS if re.search(r"cfg\.labels|dataset\[\"msg|dataset\.msg",
                                                          p.read_text(encoding="utf-8"))]
    assert templates == [] and scripts == []
    assert not (SRC / "live" / "labels.py").exists()


@pytest.mark.parametrize("language,thousands,decimal,waiting", [
    ("vi", ".", ",", "%(n)s lượt điểm danh đang chờ đồng bộ"),
    ("en", ",", ".", None),  # English: the msgid itself
])
def test_the_catalogue_carries_words_and_number_formats(client, db, language, thousands, decimal, waiting):
    served = _catalogue(client, language)
    assert served["formats"]["THOUSAND_SEPARATOR"] == thousands
    assert served["formats"]["DECIMAL_SEPARATOR"] == decimal
    assert served["catalogue"].get("%(n)s check-in waiting to sync") == ([waiting] if waiting else None)


def test_every_page_gets_the_catalogue_and_the_settings_zone(client, db, settings):
    settings.TIME_ZONE = "Asia/Bangkok"  # any zone: the page says the one settings name
    page = client.get("/accounts/login/").content.decode()
    assert 'data-time-zone="Asia/Bangkok"' in page
    assert '<script src="/jsi18n/" defer></script>' in page


@pytest.mark.parametrize("language,present,expected", [("vi", "1.234", "4.900"), ("en", "1,234", "4,900")])
def test_counts_are_printed_with_the_language_number_format(language, present, expected):
    context = {"session": SimpleNamespace(pk=1), "point": SimpleNamespace(pk=2),
               "counts": {"present": 1234, "expected": 4900, "percentage": 25.2}}
    with translation.override(language):
        html = render_to_string("attendance/_counts.html", context)
    assert present in html and expected in html


@pytest.mark.parametrize("language,text", [("vi", "3.200"), ("en", "3,200")])
def test_numbers_in_messages_follow_the_formats(language, text):
    with translation.override(language):
        assert points_number(3200) == text
