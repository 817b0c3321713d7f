"""Vietnamese text: NFC normalisation, diacritic-free folding for search, legacy-font detection, and
the one rule on characters that text coming in may hold (:func:`clean_text`)."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.db.models import CharField, F, Func
from django.db.models.functions import Collate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import DomainError

_SPACES = re.compile(r"\s+")
# Characters that Vietnamese Unicode text never needs but that TCVN3 (ABC) and VNI fonts produce
# when their bytes are read as Latin-1/Windows-1252: "Tr­êng" (TCVN3), "Tröôøng" (VNI).
# Symbols in the middle of a name are a sure sign; foreign letters (ç, ö) only when there are several.
_LEGACY_SYMBOLS = set("¸µ¶·¹¨©ª«¬®§¦¥¤£¢¡±²³´º»¼½¾¿\u00ad")
_LEGACY_LETTERS = set("ÆÇËÎÏÑÖ×ØÛÜÞßäåæçëîïñöøûüÿþð")
# VNI read as Windows-1252 writes a letter's marks as a second letter after it: "Nguyeãn Vaên" (Nguyễn
# Văn), "Taây" (Tây). These pairs never occur in Vietnamese Unicode ("hoà", "hoãn" do, so o + à/ã is left out).
_VNI_PAIRS = re.compile(r"[aAeE][âÂãÃäÄåÅàÀáÁ]|[aA][êÊéÉèÈúÚüÜëË]|[oO][âÂäÄåÅ]|[aeiouyAEIOUY][øØïÏûÛ]")
# Letters that only proper Vietnamese Unicode has: none of them is in Latin-1, where legacy fonts live.
_VIETNAMESE_ONLY = re.compile(r"[ăđơưĂĐƠƯ\u1ea0-\u1ef9\u0300-\u0323]")


def nfc(text: str) -> str:
    """Return text in NFC with surrounding whitespace removed and inner runs collapsed."""
    if text is None:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()


def fold(text: str) -> str:
    """Return the search key of text: no diacritics, đ as d, lower case, single spaces.

    "Ba Vì", "BA VÌ" and "ba vi" all fold to "ba vi".
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", str(text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", stripped.lower()).strip()


def search_terms(query: str) -> list[str]:
    """Split a user's query into folded words, each of which must appear in a match.

    Characters no stored name holds (controls, NUL, format characters) are dropped, so a query
    never carries a NUL to PostgreSQL, which refuses it.
    """
    spaced = _SPACES.sub(" ", query or "")  # a tab or a line break between words stays a space
    return [w for w in fold(strip_unsafe(spaced, kind=SEARCH)).split(" ") if w]


def looks_like_legacy_font(text: str) -> bool:
    """Tell whether text looks like TCVN3/VNI mojibake rather than Unicode Vietnamese.

    Such text must be converted (e.g. with Unikey's converter) before import; storing it would
    make it unreadable and unsearchable.
    """
    if not text or text.isascii():
        return False
    symbols = sum(1 for ch in text if ch in _LEGACY_SYMBOLS)
    letters = sum(1 for ch in text if ch in _LEGACY_LETTERS)
    vni_pairs = len(_VNI_PAIRS.findall(text))
    if not symbols and not letters and not vni_pairs:
        return False
    if _VIETNAMESE_ONLY.search(unicodedata.normalize("NFC", text)):
        # Real Vietnamese with a stray symbol is fine; mojibake has no such letters at all.
        marks = symbols + letters
        return marks >= 3 and marks * 4 >= len(text.replace(" ", ""))
    return symbols >= 1 or letters >= 2 or vni_pairs >= 1


def has_markup(text: str) -> bool:
    """Tell whether text carries HTML-like markup, which names and codes never need."""
    return bool(text) and ("<" in text or ">" in text)


# --- the characters text may hold ------------------------------------------------------------------
# What text is for decides what it may hold:
#   NAME      names, titles, addresses, labels: one line, letters people can read;
#   CODE      codes: the same as names (spaces are the caller's rule);
#   MULTILINE opinions, descriptions, notes: \n and \t are allowed, private-use and not-yet-assigned
#             code points too (newer emoji), and U+200D (ZERO WIDTH JOINER), which emoji sequences use;
#   SEARCH    a query: only what stripping removes matters (see :func:`search_terms`).
# Everywhere: C0/C1 control characters (NUL included: PostgreSQL refuses it), surrogates, and
# format characters (Unicode category Cf: zero-width spaces, bidi marks, overrides and isolates
# U+200B–U+200F, U+202A–U+202E, U+2066–U+2069, the BOM U+FEFF...). They are invisible or reorder
# what is shown, so two names that look the same could differ, and a name could show a false text.
NAME, CODE, MULTILINE, SEARCH = "name", "code", "multiline", "search"
KINDS = (NAME, CODE, MULTILINE, SEARCH)
_MULTILINE_ALLOWED = frozenset("\n\t\r\u200d")
_ALWAYS_REFUSED = frozenset(("Cc", "Cf", "Cs"))
_STRICT_REFUSED = _ALWAYS_REFUSED | {"Co", "Cn"}
_WHAT = {
    "Cc": gettext_lazy("control character"),
    "Cf": gettext_lazy("invisible formatting character"),
    "Cs": gettext_lazy("surrogate code point"),
    "Co": gettext_lazy("private-use character"),
    "Cn": gettext_lazy("unassigned character"),
}


def _refused(kind: str) -> frozenset:
    return _STRICT_REFUSED if kind in (NAME, CODE) else _ALWAYS_REFUSED


def find_unsafe(text: str, *, kind: str = NAME) -> str | None:
    """The first character that text of ``kind`` must not hold, or None."""
    # str.isprintable() is False for every category refused here (and for spaces other than " "):
    # the common case costs one C loop.
    if not text or text.isprintable():
        return None
    refused = _refused(kind)
    allowed = _MULTILINE_ALLOWED if kind == MULTILINE else frozenset()
    for ch in text:
        if ch not in allowed and unicodedata.category(ch) in refused:
            return ch
    return None


def strip_unsafe(text: str, *, kind: str = NAME, replacement: str = "") -> str:
    """Text with every character that ``kind`` refuses removed (or replaced by ``replacement``)."""
    if not text or text.isprintable():
        return text or ""
    refused = _refused(kind)
    allowed = _MULTILINE_ALLOWED if kind == MULTILINE else frozenset()
    return "".join(replacement if ch not in allowed and unicodedata.category(ch) in refused else ch
                   for ch in text)


def describe_char(ch: str) -> str:
    """“control character U+0007”: what a refused character is and its code point."""
    what = _WHAT.get(unicodedata.category(ch), _("character"))
    return f"{what} U+{ord(ch):04X}"


def unsafe_message(field_label, ch: str) -> str:
    return _("%(field)s contains a %(char)s; remove this character.") % {
        "field": field_label, "char": describe_char(ch)}


def check_chars(text: str, field_label="", *, kind: str = NAME) -> None:
    """Raise ``DomainError`` "unsafe_char" if text holds a character that text of ``kind`` must not."""
    if kind not in KINDS:
        raise ValueError(kind)
    ch = find_unsafe(text, kind=kind)
    if ch is not None:
        raise DomainError(unsafe_message(field_label or _("The text"), ch), "unsafe_char")


def clean_text(value, field_label="", *, kind: str = NAME) -> str:
    """Text as it is stored: NFC, trimmed; refused (``DomainError`` "unsafe_char") if it holds a
    character that text of ``kind`` must not hold. Names and codes also get inner whitespace runs
    collapsed; multi-line text keeps its lines."""
    text = "" if value is None else str(value)
    check_chars(text, field_label, kind=kind)
    if kind == MULTILINE:
        return unicodedata.normalize("NFC", text).strip()
    return nfc(text)


def _validator(kind: str):
    def validate(value):
        ch = find_unsafe("" if value is None else str(value), kind=kind)
        if ch is not None:
            raise ValidationError(_("This text contains a %(char)s; remove this character.")
                                  % {"char": describe_char(ch)}, code="unsafe_char")

    validate.__name__ = f"reject_unsafe_chars_{kind}"
    return validate


# Validators for form fields (the field's label is shown next to its error).
reject_unsafe_chars = _validator(NAME)
reject_unsafe_chars_multiline = _validator(MULTILINE)


# --- Vietnamese order ------------------------------------------------------------------------
# Lists sort as Vietnamese readers expect: a < ă < â < b < … < d < đ < e < ê < … < o < ô < ơ < … < u < ư,
# tones second (a < à < ả < ã < á < ạ), case last. PostgreSQL uses the ICU collation "vi" (made by
# orgs' migration 0004); SQLite gets the same order from vi_sort_key, registered as the collation
# "vi" on every new connection. Every list orders through by_name() / people_order().
COLLATION = "vi"
_PRIMARY_MARKS = {"\u0306": 1, "\u0302": 2, "\u031b": 3}  # breve (ă), circumflex (â ê ô), horn (ơ ư)
_TONE_MARKS = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # huyền hỏi ngã sắc nặng


def vi_sort_key(text: str) -> tuple:
    """A key that orders text the Vietnamese way (the ICU vi order for the letters names use)."""
    primary: list[tuple[int, int]] = []
    tones: list[int] = []
    cases: list[int] = []
    for ch in unicodedata.normalize("NFD", text or ""):
        if ch in _PRIMARY_MARKS and primary:
            primary[-1] = (primary[-1][0], _PRIMARY_MARKS[ch])
        elif ch in _TONE_MARKS and tones:
            tones[-1] = _TONE_MARKS[ch]
        elif not unicodedata.combining(ch):
            lower = ch.lower()
            # đ sorts as its own letter right after d.
            primary.append((ord("d"), 9) if lower == "đ" else (ord(lower), 0))
            tones.append(0)
            cases.append(0 if ch == lower else 1)
    return (tuple(primary), tuple(tones), tuple(cases))


def vi_compare(a: str, b: str) -> int:
    """SQLite's collation function: -1, 0 or 1."""
    ka, kb = vi_sort_key(a), vi_sort_key(b)
    return (ka > kb) - (ka < kb)


def given_name_first(full_name: str) -> str:
    """"Nguyễn Văn An" → "An Nguyễn Văn": Vietnamese lists sort people by given name, then the rest."""
    family, _sep, given = (full_name or "").strip().rpartition(" ")
    return f"{given} {family}".strip()


def register_sqlite_collation(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: the "vi" collation and the given-name function on SQLite."""
    if connection.vendor == "sqlite":
        connection.connection.create_collation(COLLATION, vi_compare)
        connection.connection.create_function("vi_given_first", 1, given_name_first, deterministic=True)


def by_name(field: str = "name") -> Collate:
    """Order by a name field in Vietnamese order: ``qs.order_by(by_name("unit__name"), "pk")``."""
    return Collate(F(field), COLLATION)


class GivenNameFirst(Func):
    """SQL for :func:`given_name_first`: a regexp on PostgreSQL, the registered function on SQLite."""

    function = "vi_given_first"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="regexp_replace",
                           template=r"%(function)s(btrim(%(expressions)s), '^(.*)\s(\S+)$', '\2 \1')",
                           **extra_context)


def people_order(full_name: str = "full_name") -> list:
    """Order people as Vietnamese lists do: given name, then family and middle names."""
    return [Collate(GivenNameFirst(full_name), COLLATION), Collate(F(full_name), COLLATION)]


def vi_sorted(items, key=lambda item: item) -> list:
    """Sort Python objects in Vietnamese order (``key`` gives the text)."""
    return sorted(items, key=lambda item: vi_sort_key(key(item)))
