"""Vietnamese text: NFC normalisation, diacritic-free folding for search, legacy-font detection."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Characters that Vietnamese Unicode text never needs but that TCVN3 (ABC) and VNI fonts produce
# when their bytes are read as Latin-1/Windows-1252: "Tr­êng" (TCVN3), "Tröôøng" (VNI).
# Symbols in the middle of a name are a sure sign; foreign letters (ç, ö) only when there are several.
_LEGACY_SYMBOLS = set("¸µ¶·¹¨©ª«¬®§¦¥¤£¢¡±²³´º»¼½¾¿\u00ad")
_LEGACY_LETTERS = set("ÆÇËÎÏÑÖ×ØÛÜÞßäåæçëîïñöøûüÿþð")
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
    """Split a user's query into folded words, each of which must appear in a match."""
    return [w for w in fold(query).split(" ") if w]


def looks_like_legacy_font(text: str) -> bool:
    """Tell whether text looks like TCVN3/VNI mojibake rather than Unicode Vietnamese.

    Such text must be converted (e.g. with Unikey's converter) before import; storing it would
    make it unreadable and unsearchable.
    """
    if not text or text.isascii():
        return False
    symbols = sum(1 for ch in text if ch in _LEGACY_SYMBOLS)
    letters = sum(1 for ch in text if ch in _LEGACY_LETTERS)
    if not symbols and not letters:
        return False
    if _VIETNAMESE_ONLY.search(unicodedata.normalize("NFC", text)):
        # Real Vietnamese with a stray symbol is fine; mojibake has no such letters at all.
        marks = symbols + letters
        return marks >= 3 and marks * 4 >= len(text.replace(" ", ""))
    return symbols >= 1 or letters >= 2


def has_markup(text: str) -> bool:
    """Tell whether text carries HTML-like markup, which names and codes never need."""
    return bool(text) and ("<" in text or ">" in text)
