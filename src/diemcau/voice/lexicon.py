"""What a text says, before it is compared: numbers, common synonyms, set phrases and polarity.

Everything works on the tokens of a text as :func:`tokens` returns them: the lower-case NFC token
(diacritics kept: "đúng" is not "đừng") beside its folded form ("dung"), with the clause breaks
(., ?, !, ;, line ends) that tell a question's final "không" from a negation.

- :func:`normalise` writes numbers as digits ("năm mươi em" → "50 học sinh"), maps common synonyms
  to one form ("đô thị" → "thành phố") from ``data/synonyms.tsv``, and marks the set phrases of
  ``data/set_phrases.tsv`` ("cần tăng cường", "hướng dẫn cụ thể"), which the character features
  leave out;
- :class:`Polarity` says which words a text negates (the scope of "không", "chưa", ... in its
  clause) and which way it points on a few axes of opposite words (tăng / giảm, cho phép / cấm,
  ủng hộ / phản đối, ...). Two texts of opposite polarity (:func:`opposite`: a word one negates
  and the other affirms, or opposite words) are never merged.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from diemcau.core.vntext import fold

DATA_DIR = Path(__file__).resolve().parent / "data"
SYNONYMS = DATA_DIR / "synonyms.tsv"
SET_PHRASES = DATA_DIR / "set_phrases.tsv"

_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
_CLAUSE_END = re.compile(r"[.,?!;:\n]")

# --- tokens -------------------------------------------------------------------------------------

_CHUNKS: dict[str, tuple[tuple[str, str], ...]] = {}


def _chunk_tokens(chunk: str) -> tuple[tuple[str, str], ...]:
    hit = _CHUNKS.get(chunk)
    if hit is None:
        hit = tuple((w, f) for w in _TOKEN.findall(chunk) if (f := fold(w)))
        if _CLAUSE_END.search(chunk[-1:]):
            # A clause break after the chunk's last token: "?" ends a question, "," a clause within
            # a sentence.
            mark = "?" if "?" in chunk else "," if chunk[-1] in ",:" else ""
            hit = (*hit, (mark, "|"))
        if len(_CHUNKS) > 1_000_000:
            _CHUNKS.clear()  # bounded memory for a long-running server
        _CHUNKS[chunk] = hit
    return hit


def tokens(text: str) -> list[tuple[str, str]]:
    """(lower-case NFC token, folded token) pairs; (mark, "|") is a clause break: mark "" a sentence's
    end, "?" a question's, "," a break within a sentence."""
    if not text:
        return []
    out: list[tuple[str, str]] = []
    for chunk in unicodedata.normalize("NFC", text).lower().split():
        out.extend(_CHUNKS.get(chunk) or _chunk_tokens(chunk))
    return out


# --- numbers ------------------------------------------------------------------------------------

_DIGITS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5, "sau": 6, "bay": 7, "tam": 8,
           "chin": 9}
_MULTIPLIERS = {"muoi": 10, "tram": 100, "nghin": 1000, "ngan": 1000, "trieu": 1_000_000}
# A lone digit word is a number only before one of these: "hai buổi", not "ba" (father), "tạm".
_COUNTED = {"hoc", "em", "chau", "giao", "nguoi", "lop", "truong", "tiet", "buoi", "gio", "ngay", "thang",
            "nam", "phong", "diem", "mon", "ca", "lan", "trieu", "nghin", "ngan", "tram", "phan", "co", "thay"}
# After a number, these mean pupils: "năm mươi em" = "50 học sinh".
_PUPILS = {"em", "chau"}


def _number_value(words: list[str]) -> int:
    total, group, last = 0, 0, 0
    for w in words:
        if w.isdigit():
            last = int(w)
        elif w in _DIGITS:
            last = _DIGITS[w]
        elif w == "muoi":
            group += (last or 1) * 10
            last = 0
        elif w == "tram":
            group += last * 100
            last = 0
        elif w in ("nghin", "ngan", "trieu"):
            total += (group + last) * _MULTIPLIERS[w]
            group, last = 0, 0
    return total + group + last


def _numbers(folded: list[str]) -> list[tuple[int, int, str]]:
    """Spans (start, stop, digits) of the numbers written in words or digits in folded tokens."""
    out = []
    i, n = 0, len(folded)
    while i < n:
        w = folded[i]
        if not (w.isdigit() or w in _DIGITS or w == "muoi"):
            i += 1
            continue
        j = i + 1
        while j < n and (folded[j] in _DIGITS or folded[j] in _MULTIPLIERS or folded[j] in ("linh", "le")):
            j += 1
        while j > i + 1 and folded[j - 1] in ("linh", "le"):
            j -= 1
        words = folded[i:j]
        spelled = any(x in _MULTIPLIERS for x in words) or any(x.isdigit() for x in words)
        # "năm học" is a school year, not five of anything: a lone "năm" stays a word.
        lone = (len(words) == 1 and words[0] not in ("nam", "lam", "tu") and not words[0].isdigit()
                and j < n and folded[j] in _COUNTED)
        if spelled or lone:
            out.append((i, j, str(_number_value(words))))
        i = j
    return out


# --- synonyms and set phrases -------------------------------------------------------------------

def _read_tsv(path: Path) -> list[list[str]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rows.append(line.rstrip("\n").split("\t"))
    return rows[1:]  # the header


@functools.lru_cache(maxsize=1)
def synonyms() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Folded variant → folded canonical form, from ``data/synonyms.tsv``."""
    return {tuple(fold(v).split()): tuple(fold(c).split()) for v, c in _read_tsv(SYNONYMS)}


@functools.lru_cache(maxsize=1)
def set_phrases() -> frozenset[tuple[str, ...]]:
    """The folded set phrases of ``data/set_phrases.tsv``."""
    return frozenset(tuple(fold(row[0]).split()) for row in _read_tsv(SET_PHRASES))


def _starts(phrases) -> dict[str, list[tuple[str, ...]]]:
    starts: dict[str, list[tuple[str, ...]]] = {}
    for p in phrases:
        starts.setdefault(p[0], []).append(p)
    for options in starts.values():
        options.sort(key=len, reverse=True)
    return starts


@functools.lru_cache(maxsize=1)
def _synonym_starts():
    return _starts(synonyms())


@functools.lru_cache(maxsize=1)
def _phrase_starts():
    return _starts(set_phrases())


def _match(folded: list[str], i: int, starts) -> tuple[str, ...] | None:
    options = starts.get(folded[i])
    if options is None:
        return None
    for option in options:
        if tuple(folded[i:i + len(option)]) == option:
            return option
    return None


@dataclass
class Normalised:
    """A text ready for features: folded syllables, which are in a set phrase or negated, its polarity."""

    syllables: list[str]
    in_set_phrase: list[bool]
    negated: list[bool]
    polarity: Polarity
    #: per syllable: inside the scope of a negation of having or receiving ("chưa có", "không đủ")
    lack: list[bool] = field(default_factory=list)
    #: per syllable: asked for ("đề nghị tăng ...": "tăng" is wished, not stated)
    wish: list[bool] = field(default_factory=list)
    #: per syllable: covered by "cấm" or "thiếu" ("cấm học sinh dùng ..."): not stated (their
    #: direction on an axis is what opposes)
    unstated: list[bool] = field(default_factory=list)
    #: the text asks a yes/no question (:func:`yes_no_question`)
    yes_no: bool = False


_NORMALISED: dict[str, Normalised] = {}


def normalise(text: str) -> Normalised:
    """Numbers as digits, synonyms in their canonical form, set phrases marked, polarity read.

    Cached per text (bounded): the same text recurs in a conference's batches and while typing.
    """
    hit = _NORMALISED.get(text)
    if hit is None:
        hit = _normalise(text)
        if len(_NORMALISED) > 200_000:
            _NORMALISED.clear()  # bounded memory for a long-running server
        _NORMALISED[text] = hit
    return hit


def _normalise(text: str) -> Normalised:
    toks = tokens(text)
    folded = [f for _w, f in toks]
    marked = [False] * len(folded)
    starts = _phrase_starts()
    i = 0
    while i < len(folded):
        hit = _match(folded, i, starts)
        if hit:
            marked[i:i + len(hit)] = [True] * len(hit)
            i += len(hit)
        else:
            i += 1
    numbers = {start: (stop, digits) for start, stop, digits in _numbers(folded)}
    syn = _synonym_starts()
    out: list[tuple[str, str]] = []
    mask: list[bool] = []
    i = 0
    while i < len(folded):
        if i in numbers:
            stop, digits = numbers[i]
            out.append((digits, digits))
            mask.append(False)
            if stop < len(folded) and folded[stop] in _PUPILS:
                out.extend((("hoc", "hoc"), ("sinh", "sinh")))
                mask.extend((False, False))
                stop += 1
            i = stop
            continue
        hit = _match(folded, i, syn)
        if hit:
            canonical = synonyms()[hit]
            out.extend((c, c) for c in canonical)
            mask.extend([all(marked[i:i + len(hit)])] * len(canonical))
            i += len(hit)
        else:
            out.append(toks[i])
            mask.append(marked[i])
            i += 1
    # Polarity after the synonyms: "không đồng ý" and "phản đối" say the same thing.
    polarity = Polarity.of(out)
    keep = [k for k, (_w, f) in enumerate(out) if f != "|"]
    return Normalised([out[k][1] for k in keep], [mask[k] for k in keep],
                      [polarity.negated[k] for k in keep], polarity,
                      [polarity.lack[k] for k in keep], [polarity.wish[k] for k in keep],
                      [polarity.unstated[k] for k in keep], yes_no_question(out))


# --- polarity -----------------------------------------------------------------------------------

# Negations, with diacritics (unambiguous) and, for text typed without them, the folded forms that
# are still unambiguous enough ("dung" may be đúng, "cha" may be cha).
_NEGATIONS = {"không", "chưa", "chẳng", "chả", "đừng", "chớ", "khỏi"}
_NEGATIONS_FOLDED = {"khong", "chua", "chang", "ko", "k0", "hok"}  # not "hong": hỏng, hồng, hông
# "không chỉ ... mà còn", "không khí", "chưa kể": not negations.
_NOT_NEGATION_AFTER = {"chi", "nhung", "khi", "gian", "ke", "luc", "phan", "quan", "trung"}
_NOT_NEGATION_BEFORE = {"hay", "hoac", "hoa"}

# Axes of opposite words, on folded normalised tokens: (axis, folded words, direction).
_AXES = (
    ("increase", ("tang",), +1), ("increase", ("giam",), -1),
    ("allow", ("cho", "phep"), +1), ("allow", ("cam",), -1),
    ("support", ("ung", "ho"), +1), ("support", ("phan", "doi"), -1),
    ("keep", ("duy", "tri"), +1), ("keep", ("giu", "nguyen"), +1), ("keep", ("xoa", "bo"), -1),
    ("obligation", ("bat", "buoc"), +1), ("obligation", ("tu", "nguyen"), -1),
    ("surplus", ("thua",), +1), ("surplus", ("du",), +1), ("surplus", ("thieu",), -1),
    ("quality", ("tot",), +1), ("quality", ("kem",), -1),
    ("ease", ("de", "hieu"), +1), ("ease", ("kho", "hieu"), -1),
    ("time", ("dung", "gio"), +1), ("time", ("tre", "gio"), -1), ("time", ("muon",), -1),
)
AXES = tuple(dict.fromkeys(a for a, _w, _d in _AXES))
_AXIS_BIT = {a: 1 << i for i, a in enumerate(AXES)}
# Folded words that the axes would misread: "giám sát", "cảm ơn", "thưa Bộ trưởng", "tầng".
_AXIS_EXCEPTIONS = {
    ("giam", "sat"), ("giam", "doc"), ("giam", "hieu"), ("giam", "khao"), ("giam", "dinh"), ("giam", "thi"),
    ("cam", "on"), ("cam", "ket"), ("cam", "nhan"), ("cam", "thay"), ("cam", "xuc"), ("cam", "tinh"),
    ("cam", "giac"), ("cam", "hung"), ("cam", "nang"), ("cam", "bien"), ("cam", "thong"), ("cam", "dong"),
    ("thua", "bo"), ("kinh", "thua"), ("tang", "lop"), ("tang", "qua"), ("tang", "thuong"),
    ("tot", "nghiep"), ("muon", "mang"),
    # "du" typed without marks is also dữ liệu, dự án, du lịch, dự giờ, ...
    ("du", "lieu"), ("du", "an"), ("du", "kien"), ("du", "thao"), ("du", "toan"), ("du", "tuyen"), ("du", "gio"),
    ("du", "thi"), ("du", "lich"), ("du", "bao"), ("du", "phong"), ("du", "luan"), ("du", "hoc"), ("du", "kien"),
    ("du", "dinh"), ("du", "tru"), ("du", "lam"), ("co", "du"), ("du", "no"),
}
_AXIS_MARKED = {"tăng", "giảm", "cấm", "thừa", "thiếu", "đủ", "tốt", "kém", "muộn"}


# A negation covers the next few content syllables of its clause, up to a contrast ("không tăng
# lương mà tăng phụ cấp": only "tăng lương" is negated). Right after the negation, "nên", "để" are
# the modal and the verb ("không nên đầu tư"), not a conjunction.
_SCOPE = 4
_SCOPE_ENDS = {"|", "nhung", "ma", "vi", "nen", "neu", "khi", "thi", "de"}
# A negation of having or receiving ("chưa có", "không đủ", "không được cấp"): a complaint of lack,
# which says the same as a request for the thing ("không có nước sạch" / "đề nghị đầu tư nước sạch").
_LACK_AFTER = {"co", "du", "con"}
_RECEIVED = {"cap", "ho", "huong", "bao", "tinh", "tra", "chi", "giao", "bo", "dau", "xet", "nang", "tang",
             "boi", "tap", "dao", "trang", "quan", "mua", "thanh", "ky", "dong"}
# What opens a request: the words after it in its clause are asked for, not stated.
_REQUESTS = {("de", "nghi"), ("kien", "nghi"), ("mong",), ("can",), ("xin",), ("yeu", "cau"),
             ("muon",), ("hy", "vong"), ("kinh", "mong"), ("nen", "duoc")}
_REQUEST_ENDS = {"|", "nhung", "ma", "vi"}


@dataclass(frozen=True)
class Polarity:
    """What a text negates, what it asks for, and which way it points.

    :param negated: per token of the normalised text, whether it is inside a negation's scope (an
        odd number of negations before it in its clause, within ``_SCOPE`` content syllables).
    :param lack: per token, inside the scope of a negation of having or receiving.
    :param wish: per token, not negated and after a request ("đề nghị", "mong", "cần") in its clause.
    :param positive, negative: bit masks over :data:`AXES` of the opposite words used (tăng/giảm,
        cho phép/cấm, ...), not negated.
    """

    negated: tuple[bool, ...] = ()
    positive: int = 0
    negative: int = 0
    lack: tuple[bool, ...] = ()
    wish: tuple[bool, ...] = ()
    unstated: tuple[bool, ...] = ()

    @property
    def pure_positive(self) -> int:
        return self.positive & ~self.negative

    @property
    def pure_negative(self) -> int:
        return self.negative & ~self.positive

    @classmethod
    def of(cls, toks: list[tuple[str, str]]) -> Polarity:
        reader = _PolarityReader(toks)
        reader.run()
        return cls(tuple(reader.negated), reader.positive, reader.negative, tuple(reader.lack),
                   tuple(reader.wish), tuple(reader.neutral))


@functools.lru_cache(maxsize=1)
def _interesting() -> frozenset[str]:
    """The folded tokens :meth:`_PolarityReader.read` may act on outside a negation's scope."""
    return frozenset(_SCOPE_ENDS | _REQUEST_ENDS | set(_REQUEST_STARTS) | _NEGATIONS_FOLDED | {"sao"}
                     | {fold(w) for w in _NEGATIONS} | {h for h, _n in _HEDGES} | set(_AXIS_STARTS))


def _in_question(toks: list[tuple[str, str]]) -> list[bool]:
    """Per token, whether its sentence ends with "?"."""
    out = [False] * len(toks)
    start = 0
    for i, (word, folded) in enumerate(toks):
        if folded != "|" or word == ",":
            continue
        if word == "?":
            out[start:i + 1] = [True] * (i + 1 - start)
        start = i + 1
    return out


# Quantity negators and hedges (a curated list, see data/polarity_cues.md): "ít có cơ hội được
# tham gia", "hiếm khi được tập huấn" complain of a lack as "không có", "chưa được" do.
_HEDGES = {("it", "co"), ("it", "duoc"), ("it", "khi"), ("hiem", "khi"), ("hiem", "co"), ("hiem", "duoc")}
# After a negation, these say the doer cannot ("không thể dạy hết"; at the clause's end: "không
# sống nổi", "không dùng lại được"): a complaint of lack, not a refusal.
_INABILITY_AFTER = {"thể", "the"}
_INABILITY_END = {"nổi", "được", "duoc"}


class _PolarityReader:
    """Reads a text's tokens left to right into :class:`Polarity`'s marks (one step per token)."""

    def __init__(self, toks: list[tuple[str, str]]):
        from .words import STOP_WORDS  # words does not import this module; kept local for clarity

        self.stop = STOP_WORDS
        self.toks = toks
        n = len(toks)
        self.negated = [False] * n
        self.lack = [False] * n
        self.wish = [False] * n
        self.neutral = [False] * n
        self.question = _in_question(toks) if any(w == "?" for w, _f in toks) else None
        self.prohibits = False
        self.positive = self.negative = 0
        self.flip, self.left, self.lacking, self.just, self.asking = False, 0, False, False, False
        self.scope_start = 0
        self.skip = 0

    def open_scope(self, i: int, lacking: bool, skip: int = 0, prohibits: bool = False) -> None:
        self.flip, self.left, self.just = not self.flip, _SCOPE, True
        self.lacking, self.scope_start, self.skip, self.prohibits = lacking, i + 1, skip, prohibits

    def run(self) -> None:
        """Read every token; a plain word outside any scope only takes the request state (fast path)."""
        wish, interesting, negations = self.wish, _interesting(), _NEGATIONS
        for i, (word, folded) in enumerate(self.toks):
            if self.skip or self.flip or folded in interesting or word in negations or _typed_negation(folded):
                self.read(i)
            else:
                wish[i] = self.asking
                self.just = False

    def read(self, i: int) -> None:
        toks = self.toks
        word, folded = toks[i]
        prev = toks[i - 1][1] if i else "|"
        nxt = toks[i + 1][1] if i + 1 < len(toks) else "|"
        if self.skip:  # the second word of a hedge ("ít có"): part of the negation
            self.skip -= 1
            return
        if folded in _SCOPE_ENDS and not self.just:
            self.flip, self.left = False, 0
        if folded in _REQUEST_ENDS:
            self.asking = False
        in_scope = self.flip and self.left > 0
        if not in_scope and _is_request(toks, i):
            self.asking = True
        if _is_negation(word, folded, prev, nxt):
            lacking = folded in ("chua",) or nxt in _LACK_AFTER or (
                nxt == "duoc" and i + 2 < len(toks) and toks[i + 2][1] in _RECEIVED) or (
                i + 1 < len(toks) and toks[i + 1][0] in _INABILITY_AFTER)
            self.open_scope(i, lacking)
            return
        if not in_scope and folded == "sao" and self.rhetorical(i, prev, nxt):
            self.open_scope(i, True)  # "sao dạy được cả Lý, Hóa, Sinh?": cannot
            return
        if not in_scope and (folded, nxt) in _HEDGES:
            self.negative |= _AXIS_BIT["surplus"]  # "ít" (few) is the opposite of "đủ" (enough)
            self.open_scope(i, True, skip=1)
            return
        just, self.just = self.just, False
        if in_scope:
            self.in_scope(i, word, folded, just)
            return
        self.wish[i] = self.asking
        axis = _axis(toks, i, word, folded, prev, nxt) if folded in _AXIS_STARTS else None
        if axis:
            if axis[1] > 0:
                self.positive |= _AXIS_BIT[axis[0]]
            else:
                self.negative |= _AXIS_BIT[axis[0]]
            # "cấm X" is "không được X" and "thiếu X" (also "không đủ X") is "không có đủ X", but
            # what they cover is often what the other text states as its subject ("cấm học sinh
            # dùng ..." / "Học sinh không được dùng ..."; "thiếu thiết bị" / "Thiết bị ... chưa được
            # cấp đủ"): it is left out of the stated words, and their direction (cho phép / cấm,
            # đủ / thiếu) is what opposes.
            if axis == ("allow", -1) or (axis == ("surplus", -1) and folded == "thieu"):
                self.open_scope(i, False, prohibits=True)

    def rhetorical(self, i: int, prev: str, nxt: str) -> bool:
        """ "sao" in a question, not "tại sao", "vì sao" (why) nor "sao lại": "how could" (cannot)."""
        return self.question is not None and self.question[i] and prev not in ("tai", "vi") and nxt != "lai"

    def in_scope(self, i: int, word: str, folded: str, just: bool) -> None:
        if self.prohibits:
            self.neutral[i] = True
        else:
            self.negated[i] = True
        nxt = self.toks[i + 1][1] if i + 1 < len(self.toks) else "|"
        # At the clause's end only: "không cần được bồi dưỡng" is a plain negation.
        if not just and word in _INABILITY_END and i > self.scope_start and nxt == "|":
            self.lacking = True  # "không dùng lại được": the whole scope says cannot
            self.lack[self.scope_start:i] = [True] * (i - self.scope_start)
        self.lack[i] = self.lacking
        if folded not in self.stop:
            self.left -= 1
            if self.left == 0:
                self.flip = False


# A yes/no question asks whether ("Có nên bỏ kỳ thi tốt nghiệp không?", "... đã có hướng dẫn
# chưa?"); a statement or a proposal on the same subject says what should be, which is another
# opinion. Its final particles, and the modal phrases that make a question of "?"-ended text.
_YES_NO_FINAL = {"khong", "chua", "ko", "k", "chang", "ha", "a", "nhi"}
_YES_NO_PHRASES = {("co", "nen"), ("co", "can"), ("co", "phai"), ("co", "duoc"), ("nen", "chang"),
                   ("hay", "khong")}


def _yes_no(sentence_toks: list[tuple[str, str]]) -> bool:
    sentence = [f for _w, f in sentence_toks if f != "|"]
    return bool(sentence) and (sentence[-1] in _YES_NO_FINAL
                               or any(pair in _YES_NO_PHRASES for pair in itertools.pairwise(sentence)))


def yes_no_question(toks: list[tuple[str, str]]) -> bool:
    """Whether a sentence of the text is a yes/no question: it ends with "?" and with a question
    particle ("không?", "chưa?") or holds "có nên", "có cần", "có phải", "có được"."""
    start = 0
    for i, (word, folded) in enumerate(toks):
        if folded != "|" or word == ",":
            continue
        if word == "?" and _yes_no(toks[start:i]):
            return True
        start = i + 1
    return False


_REQUEST_STARTS: dict[str, list[tuple[str, ...]]] = {}
for _request in _REQUESTS:
    _REQUEST_STARTS.setdefault(_request[0], []).append(_request)


def _is_request(toks, i) -> bool:
    options = _REQUEST_STARTS.get(toks[i][1])
    return options is not None and any(tuple(t[1] for t in toks[i:i + len(r)]) == r for r in options)


_AXIS_STARTS: dict[str, list] = {}
for _entry in _AXES:
    _AXIS_STARTS.setdefault(_entry[1][0], []).append(_entry)


def _axis(toks, i, word, folded, prev, nxt):
    entries = _AXIS_STARTS.get(folded)
    if entries is None or (prev, folded) in _AXIS_EXCEPTIONS or (folded, nxt) in _AXIS_EXCEPTIONS:
        return None
    for axis, words, direction in entries:
        if tuple(t[1] for t in toks[i:i + len(words)]) != words:
            continue
        if len(words) == 1 and word != folded and word not in _AXIS_MARKED:
            continue  # written with diacritics, and not this word ("tầng", "giám", "cảm")
        return axis, direction
    return None


@functools.lru_cache(maxsize=4096)
def _typed_negation(folded: str) -> bool:
    """A typo of "không" ("khng", "hkông", "khogn"): not a syllable, one edit or swap away from it."""
    from .words import is_syllable

    if not 3 <= len(folded) <= 6 or is_syllable(folded) or not folded.isalpha():
        return False
    target = "khong"
    if len(folded) == len(target) - 1:
        return any(target[:k] + target[k + 1:] == folded for k in range(len(target)))
    if len(folded) == len(target):
        diff = [k for k in range(len(target)) if folded[k] != target[k]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and folded[diff[0]] == target[diff[1]] \
            and folded[diff[1]] == target[diff[0]]
    return False


def _is_negation(word: str, folded: str, prev: str, nxt: str) -> bool:
    if word in _NEGATIONS or (word == folded and folded in _NEGATIONS_FOLDED) or _typed_negation(folded):
        if nxt in _NOT_NEGATION_AFTER or prev in _NOT_NEGATION_BEFORE:
            return False
        # "Có nên tăng lương không?", "Bộ đã có hướng dẫn chưa?": the question's particle.
        return nxt != "|"
    return False


def opposite(a: tuple, b: tuple) -> bool:
    """Whether two texts say opposite things, given their signatures (:meth:`TextMeta.signature`).

    A signature is (negated, lacking, affirmed, wished, up, down): the head words a text negates
    (other than by lack), those it says it lacks ("chưa có", "không đủ"), the words it states and
    those it asks for outside any negation, and its directions on the axes of opposite words. A word
    one negates that the other states or asks for ("dạy đúng giờ" / "dạy không đúng giờ", "không nên
    đầu tư" / "đề nghị đầu tư"), a word one lacks that the other states ("đã được cấp đủ" / "chưa
    được cấp đủ"; not one the other asks for: "không có nước sạch" / "đề nghị đầu tư nước sạch" is
    the same concern), or opposite words on one axis ("tăng" / "giảm", "cho phép" / "cấm").
    """
    neg_a, lack_a, aff_a, wish_a, up_a, down_a = a
    neg_b, lack_b, aff_b, wish_b, up_b, down_b = b
    return bool((neg_a & (aff_b | wish_b)) or (neg_b & (aff_a | wish_a)) or (lack_a & aff_b) or (lack_b & aff_a)
                or (up_a & down_b) or (down_a & up_b))
