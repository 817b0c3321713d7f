"""Vietnamese words from what participants type: folded syllables, typo correction, compounds.

Participants type on phones, often without diacritics, with typos and in any order. Everything here
works on the *folded* text (``vntext.fold``: no diacritics, lower case): :func:`syllables` splits a
text into folded syllables, :class:`Speller` corrects a syllable with one typo to the most frequent
syllable of the corpus near it, :class:`Segmenter` joins syllables into the compound words of the
domain (a seed lexicon plus what it learns from the corpus). :mod:`diemcau.voice.textsim` builds
its word features from them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from diemcau.core.vntext import fold, nfc

# Letters and digits (not "_"), plus stray combining marks so that a decomposed letter stays inside
# its word until folding removes the mark.
_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")

# Folded function words and request formulas: dropped from the word block (they say nothing about
# the concern) but kept in the character block. "co" (có/cô) and "de" (để/đề) are ambiguous after
# folding; the compounds that matter ("co_giao", "de_thi") survive segmentation first.
STOP_WORDS = frozenset(
    """
    va cua cac nhung la thi ma cho de o trong voi nay do nen vi mot da se dang rat qua nhu bi tu
    den hay hoac ve theo tai cung lai ra vao khi duoc khong co can phai con van neu moi nao gi
    the ay hon chi nhieu ca vua toi chung ho em anh chi cung nhu_vay hien_nay de_nghi kinh_mong
    mong xin kinh_gui kinh_thua thua bo_truong mot_so
    """.split()
)

# Compounds of the domain that must be words even before pyvi has seen them (the lexicon learned
# from the corpus adds the rest). Folded, syllables separated by spaces.
SEED_COMPOUNDS = (
    "giao vien", "nha giao", "co giao", "thay co", "hoc sinh", "phu huynh", "hieu truong", "mam non",
    "tieu hoc", "luong huu", "tuoi nghi huu", "khu vuc", "thanh pho", "kho khan", "trung hoc",
    "pho thong", "giao duc", "dao tao", "boi duong", "phu cap", "uu dai", "tham nien", "tien luong",
    "luong co so", "he so", "bien che", "hop dong", "tuyen dung", "vien chuc", "nghi huu", "bao hiem",
    "thai san", "ho so", "so sach", "giao an", "sach giao khoa", "chuong trinh", "tich hop",
    "co so vat chat", "thiet bi", "phong hoc", "diem truong", "vung sau", "vung xa", "vung cao",
    "mien nui", "dan toc", "ban tru", "noi tru", "bao luc", "hoc duong", "tam ly", "thang hang",
    "chuc danh", "nghe nghiep", "danh gia", "thi dua", "tot nghiep", "tuyen sinh", "hoc ba", "phan mem",
    "du lieu", "hoc lieu", "hoc lieu so", "chuyen doi so", "hoc phi", "lam thu", "day them", "hoc them",
    "tap huan", "chuyen mon", "kiem nhiem", "dinh muc", "thua gio", "nha cong vu", "nong thon moi",
    "dac biet kho khan", "khoa hoc tu nhien", "lich su", "dia ly", "tin hoc", "tieng anh", "tieng viet",
    "ngoai ngu", "thong tu", "nghi dinh", "nghi quyet", "cai cach", "kinh phi", "ngan sach",
    "mang xa hoi", "dien thoai", "thuyen chuyen", "luan chuyen",
)

# Folded Vietnamese syllables: an optional onset and a rhyme. A token of another shape that is rare
# in the corpus is a typo ("cnag", "phpa", "sch") and gets corrected; a token of this shape is
# left alone even when rare, because it is more likely a real, rare word than a typo.
_ONSETS = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|g|h|k|l|m|n|p|r|s|t|v|x"
_RHYMES = (
    "a ac ach ai am an ang anh ao ap at au ay e ec ech em en eng enh eo ep et eu i ia ich iem ien "
    "ieng iep iet ieu im in inh ip it iu o oa oac oach oai oam oan oang oanh oao oap oat oay oc oe "
    "oen oeo oet oi om on ong ooc oong op ot u ua uan uang uat uay uc ue uech uen uenh uet ui um un "
    "ung uo uoc uoi uom uon uong uop uot uou up ut uu uy uya uych uyen uyet uynh uyt uyu y yem yen "
    "yet yeu"
).split()
_SYLLABLE = re.compile(rf"^(?:{_ONSETS})?(?:{'|'.join(sorted(_RHYMES, key=len, reverse=True))})$")


def match_key(text: str) -> str:
    """Return the text as it is matched: NFC, no diacritics, lower case, single spaces."""
    return fold(nfc(text))


_CHUNKS: dict[str, tuple[str, ...]] = {}


def _chunk_syllables(chunk: str) -> tuple[str, ...]:
    hit = _CHUNKS.get(chunk)
    if hit is None:
        hit = tuple(t for t in (fold(w) for w in _TOKEN.findall(chunk)) if t)
        if len(_CHUNKS) > 1_000_000:
            _CHUNKS.clear()  # bounded memory for a long-running server
        _CHUNKS[chunk] = hit
    return hit


def syllables(text: str) -> list[str]:
    """Split text into folded syllables (and numbers), dropping punctuation.

    Same result as ``fold(nfc(text)).split()`` minus punctuation, but folds each distinct
    whitespace-separated chunk once through a cache: on large batches the same few thousand chunks
    recur and this is ~10 times faster. (``unicodedata.normalize`` instead of ``nfc`` because
    ``split`` already collapses the whitespace that ``nfc`` would.)
    """
    if not text:
        return []
    out: list[str] = []
    for chunk in unicodedata.normalize("NFC", text).lower().split():
        out.extend(_CHUNKS.get(chunk) or _chunk_syllables(chunk))
    return out


def is_syllable(token: str) -> bool:
    """Tell whether a folded token has the shape of a Vietnamese syllable."""
    return bool(_SYLLABLE.match(token))


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class Speller:
    """Corrects a folded syllable with one typo to the most frequent syllable of the corpus near it.

    One edit covers what thumbs do: a dropped letter ("sch" → "sach"), a doubled one ("llap" →
    "lap"), two swapped ("cnag" → "cang") or one wrong ("buoii" → "buoi"). Tone-mark slips vanish
    in folding already.
    """

    def __init__(self, counts: Counter, min_count: int = 2):
        self.counts = counts
        self.known = {w for w, c in counts.items() if c >= min_count and len(w) > 1}
        self._near: dict[str, list[str]] = {}
        for word in self.known:
            for d in _deletes(word) | {word}:
                self._near.setdefault(d, []).append(word)
        self._cache: dict[str, str] = {}

    @classmethod
    def from_syllables(cls, texts: Iterable[Sequence[str]], min_count: int = 2) -> Speller:
        """Learn the syllable frequencies of a corpus given as lists of folded syllables."""
        counts = Counter()
        for syls in texts:
            counts.update(syls)
        return cls(counts, min_count)

    def correct(self, token: str) -> str:
        """Return the token, or its correction when it is a rare non-syllable one edit from a known one."""
        hit = self._cache.get(token)
        if hit is not None:
            return hit
        fixed = token
        if token not in self.known and not token.isdigit() and len(token) > 2 and not is_syllable(token):
            candidates = set(self._near.get(token, ()))
            for d in _deletes(token):
                candidates.update(self._near.get(d, ()))
            if candidates:
                # Most frequent wins; ties go to the alphabetically first, for determinism.
                fixed = min(candidates, key=lambda w: (-self.counts[w], w))
        if len(self._cache) > 500_000:
            self._cache.clear()  # bounded memory for a long-running server
        self._cache[token] = fixed
        return fixed


class Segmenter:
    """Joins folded syllables into words (từ) by longest match against a lexicon of compounds.

    pyvi segments well only text with diacritics, and a participant's folded text cannot be fed to
    it. So pyvi is run once over the texts that have diacritics, the compounds it finds are folded
    into a lexicon, and every text, with or without diacritics, is segmented with that lexicon: the
    two spellings of one concern get the same words.
    """

    def __init__(self, compounds: Iterable[str] = (), max_len: int = 4):
        self.compounds = {c for c in (*SEED_COMPOUNDS, *compounds) if " " in c}
        self.max_len = max_len
        # First two syllables → the compounds starting with them, longest first: most positions
        # start no compound and cost one dictionary miss.
        self._starts: dict[str, list[tuple[str, ...]]] = {}
        for c in self.compounds:
            parts = tuple(c.split(" "))
            if len(parts) <= max_len:
                self._starts.setdefault(f"{parts[0]} {parts[1]}", []).append(parts)
        for options in self._starts.values():
            options.sort(key=lambda p: (-len(p), p))

    @classmethod
    def learn(cls, texts: Sequence[str], sample: int = 2000, min_count: int = 1, seed: int = 0) -> Segmenter:
        """Build the lexicon from what pyvi finds in up to ``sample`` texts that carry diacritics."""
        from pyvi import ViTokenizer  # imported here: loading its model costs ~0.3 s

        accented = [t for t in texts if t and not t.isascii() and any(ord(ch) > 127 and ch.isalpha() for ch in t)]
        if len(accented) > sample:
            pick = np.random.default_rng(seed).choice(len(accented), sample, replace=False)
            accented = [accented[i] for i in sorted(pick)]
        counts = Counter()
        for text in accented:
            for token in ViTokenizer.tokenize(nfc(text)).split():
                if "_" in token:
                    parts = syllables(token.replace("_", " "))
                    if 1 < len(parts) <= 4:
                        counts[" ".join(parts)] += 1
        return cls([c for c, n in counts.items() if n >= min_count])

    def segment(self, syls: Sequence[str]) -> list[str]:
        """Return the words of a sequence of folded syllables, compounds joined with "_"."""
        out = []
        i, n = 0, len(syls)
        starts = self._starts
        while i < n - 1:
            options = starts.get(f"{syls[i]} {syls[i + 1]}")
            if options is not None:
                for parts in options:
                    size = len(parts)
                    if size == 2 or tuple(syls[i:i + size]) == parts:
                        out.append("_".join(parts))
                        i += size
                        break
                else:
                    out.append(syls[i])
                    i += 1
            else:
                out.append(syls[i])
                i += 1
        if i == n - 1:
            out.append(syls[i])
        return out
