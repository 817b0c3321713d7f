"""How an import's codes meet the codes already stored: case aside, and leading zeros Excel dropped.

Officials' files write ``dup-0001`` for ``DUP-0001`` and let Excel turn ``01271032`` into the
number 1271032. A code in the file matches a stored code written the same way, in upper or lower
case, or (digits only) with up to :data:`MAX_DROPPED_ZEROS` zeros in front; every match that is not
exact is reported in the preview as a note, so nobody is surprised by it. Lookups stay on the
``code`` index (a handful of spellings per code, no function over the column).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_DROPPED_ZEROS = 4
_CHUNK = 2000


def spellings(code: str) -> list[str]:
    """The stored spellings a code in a file may stand for."""
    out = [code, code.upper(), code.lower()]
    if code.isdigit():
        out += ["0" * n + code for n in range(1, MAX_DROPPED_ZEROS + 1)]
    return list(dict.fromkeys(out))


@dataclass
class CodeMatches:
    """The stored objects a file's codes stand for, and how each was matched."""

    objects: dict[str, object] = field(default_factory=dict)  # code as written -> stored object
    notes: dict[str, str] = field(default_factory=dict)  # code as written -> the note for the preview

    def get(self, code: str):
        """The stored object a code as written stands for."""
        return self.objects.get(code)

    def get_stored(self, stored_code: str):
        """The stored object with this exact (canonical) code."""
        return self._by_stored().get(stored_code)

    def _by_stored(self) -> dict:
        if not hasattr(self, "_stored"):
            self._stored = {obj.code: obj for obj in self.objects.values()}
        return self._stored

    def canonical(self, code: str) -> str:
        """The stored code a written one stands for, or the code as written when nothing is stored."""
        obj = self.objects.get(code)
        return obj.code if obj is not None else code


def match_codes(queryset, codes: set[str]) -> CodeMatches:
    """Find the stored objects (units or people) for ``codes`` as written in a file.

    Exact codes first (one lookup per chunk, as before); only the codes not found that way are
    looked up again by their other spellings, so a clean file costs no more than it did.
    """
    codes = {code for code in codes if code}
    stored = _lookup(queryset, codes)
    missing = {code: spellings(code)[1:] for code in codes if code not in stored}
    stored.update(_lookup(queryset, {s for options in missing.values() for s in options}))
    matches = CodeMatches()
    for code in codes:
        hit = stored.get(code) or next((stored[s] for s in missing.get(code, ()) if s in stored), None)
        if hit is None:
            continue
        matches.objects[code] = hit
        if hit.code != code:
            matches.notes[code] = note(code, hit.code)
    return matches


def _lookup(queryset, codes: set[str]) -> dict:
    ordered, found = sorted(codes), {}
    for i in range(0, len(ordered), _CHUNK):
        for obj in queryset.filter(code__in=ordered[i:i + _CHUNK]):
            found[obj.code] = obj
    return found


def note(written: str, stored: str) -> str:
    if written.isdigit() and stored.lstrip("0") == written:
        return _("The code %(written)s was read as %(stored)s: Excel drops the zeros in front of a code "
                 "kept as a number (format the column as Text to keep them).") % {"written": written,
                                                                                   "stored": stored}
    return _("The code %(written)s was read as %(stored)s (codes are matched whatever their case).") % {
        "written": written, "stored": stored}
