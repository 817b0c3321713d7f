"""Similarity of opinions (ý kiến): matching keys, typo-tolerant features, a live index, a deduplicator.

Participants type on phones, often without diacritics (Telex/VNI off), with typos and in any order.
Everything here therefore works on the *folded* text (``vntext.fold``: no diacritics, lower case),
which makes "lương giáo viên" and "luong giao vien" the same string, and builds two blocks of
features per text:

- **characters**: 3- and 4-grams inside each word (" giao " → " gi", "gia", "iao", "ao ", ...),
  taken from the raw folded text, so a swapped or dropped letter keeps most grams of its word and
  word order does not matter at all;
- **words**: the text's syllables, corrected for one typo each against the syllables of the corpus
  (:class:`Speller`), joined into words with a lexicon of compounds that pyvi finds in the texts
  that do carry diacritics (:class:`Segmenter`: "giao vien" → ``giao_vien``), plus pairs of
  neighbouring words for a little phrase structure.

Both blocks are TF-IDF weighted (sublinear term frequency), hashed into fixed columns with
MurmurHash (deterministic across processes, unlike ``hash``), L2-normalised and stacked with
weights, so the dot product of two rows is a blend of the two cosine similarities.

Scoring many texts against many texts (:func:`_similarities`) splits the columns in two: those
several of the compared rows use (common n-grams and words), multiplied as dense arrays by BLAS,
and the long tail, multiplied as sparse matrices. Either half alone is slow (a sparse product is
dominated by the few columns nearly every text has, a dense one by the width); together they are
fast, and exact.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

from diemcau.core.vntext import fold, nfc

Progress = Callable[[int, int, str], None]

DATA_DIR = Path(__file__).resolve().parent / "data"
LABELLED_ITEMS = DATA_DIR / "labelled_items.jsonl"

# Columns per feature block. 2**20 keeps hash collisions rare for ~10^5 distinct word pairs.
N_COLUMNS = 1 << 20
# Score at or above which two items are called duplicates: the lowest threshold whose pairwise
# precision on the training split of the labelled set is at least 0.95 (bench/voice.py prints the
# sweep; F1 peaks lower, near 0.33, at precision 0.86). Moderators merge what is suggested, so a
# wrong merge costs more than a missed one.
DEFAULT_THRESHOLD = 0.375

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

        accented = [t for t in texts if t and any(ord(ch) > 127 and ch.isalpha() for ch in t)]
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


_COLUMNS: dict[str, int] = {}


def _column(feature: str) -> int:
    col = murmurhash3_32(feature, seed=17, positive=True) & (N_COLUMNS - 1)
    if len(_COLUMNS) > 2_000_000:
        _COLUMNS.clear()  # bounded memory for a long-running server
    # Column 0 is never returned so that "or" in the callers' fast path (cache miss → hash) is safe.
    _COLUMNS[feature] = col = col or 1
    return col


@functools.lru_cache(maxsize=1 << 16)
def _char_columns(token: str) -> tuple[int, ...]:
    padded = f" {token} "
    grams = [padded[i:i + n] for n in (3, 4) for i in range(len(padded) - n + 1)]
    return tuple(_column(g) for g in grams)


@dataclass
class Analysed:
    """One text as the featurizer sees it: its raw folded syllables and its corrected words."""

    syllables: list[str]
    words: list[str]


@dataclass
class Featurizer:
    """Turns texts into L2-normalised sparse rows whose dot product is their similarity.

    Fit it on a corpus (the texts being compared, or the bundled labelled set) to learn the
    compound lexicon, the syllable speller and the IDF weights; :meth:`transform` then works on
    any text.
    """

    segmenter: Segmenter = field(repr=False)
    speller: Speller = field(repr=False)
    char_weight: float = 0.6
    idf_char: np.ndarray = field(default_factory=lambda: np.ones(N_COLUMNS, dtype=np.float32), repr=False)
    idf_word: np.ndarray = field(default_factory=lambda: np.ones(N_COLUMNS, dtype=np.float32), repr=False)
    n_docs: int = 0

    @classmethod
    def fit(cls, texts: Sequence[str], char_weight: float = 0.6, segment_sample: int = 2000,
            seed: int = 0) -> Featurizer:
        """Learn lexicon, speller and IDF from ``texts``."""
        return cls._fit(texts, char_weight, segment_sample, seed)[0]

    @classmethod
    def fit_transform(cls, texts: Sequence[str], char_weight: float = 0.6, segment_sample: int = 2000,
                      seed: int = 0, progress: Progress | None = None) -> tuple[Featurizer, sp.csr_matrix]:
        """Fit on ``texts`` and return their rows too, analysing each text once."""
        feat, chars, words = cls._fit(texts, char_weight, segment_sample, seed, progress)
        return feat, feat._combine(chars, words)

    @classmethod
    def _fit(cls, texts, char_weight, segment_sample, seed, progress=None):
        syls = [syllables(t) for t in texts]
        feat = cls(Segmenter.learn(texts, sample=segment_sample, seed=seed), Speller.from_syllables(syls),
                   char_weight=char_weight)
        chars, words = feat._raw_blocks(syls, progress)
        feat.n_docs = len(texts)
        feat.idf_char = _idf(chars, len(texts))
        feat.idf_word = _idf(words, len(texts))
        return feat, chars, words

    def analyse(self, text: str) -> Analysed:
        """Fold, split, correct and segment one text."""
        syls = syllables(text)
        return Analysed(syls, self._words(syls))

    def _words(self, syls: Sequence[str]) -> list[str]:
        get, correct = self.speller._cache.get, self.speller.correct
        fixed = [get(s) or correct(s) for s in syls]
        return [w for w in self.segmenter.segment(fixed) if w not in STOP_WORDS]

    def _raw_blocks(self, texts: Sequence[Sequence[str]], progress: Progress | None = None
                    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Count matrices (texts × columns) of the character and the word block."""
        # Character block = (texts × distinct syllables) @ (distinct syllables × n-gram columns):
        # the n-grams of a syllable are computed once, however often it occurs.
        syl_ids: dict[str, int] = {}
        col_get = _COLUMNS.get
        syl_col: list[int] = []
        word_col: list[int] = []
        syl_ptr = np.zeros(len(texts) + 1, dtype=np.int64)
        word_ptr = np.zeros(len(texts) + 1, dtype=np.int64)
        for i, syls in enumerate(texts):
            for s in syls:
                j = syl_ids.get(s)
                if j is None:
                    j = syl_ids[s] = len(syl_ids)
                syl_col.append(j)
            words = self._words(syls)
            word_col.extend([col_get("w:" + w) or _column("w:" + w) for w in words])
            pairs = [f"b:{x} {y}" for x, y in itertools.pairwise(words)]
            word_col.extend([col_get(p) or _column(p) for p in pairs])
            syl_ptr[i + 1] = len(syl_col)
            word_ptr[i + 1] = len(word_col)
            if progress and (i + 1) % 20_000 == 0:
                progress(i + 1, len(texts), "Đang phân tích văn bản")
        doc_syl = sp.csr_matrix((np.ones(len(syl_col), dtype=np.float32), np.asarray(syl_col, dtype=np.int32),
                                 syl_ptr), shape=(len(texts), max(len(syl_ids), 1)))
        grams = [_char_columns(s) for s in syl_ids]
        g_ptr = np.zeros(max(len(grams), 1) + 1, dtype=np.int64)  # one empty row when there is no syllable
        g_ptr[1:len(grams) + 1] = np.cumsum([len(g) for g in grams])
        g_cols = np.fromiter((c for g in grams for c in g), dtype=np.int32, count=int(g_ptr[-1]))
        syl_gram = sp.csr_matrix((np.ones(len(g_cols), dtype=np.float32), g_cols, g_ptr),
                                 shape=(max(len(grams), 1), N_COLUMNS))
        syl_gram.sum_duplicates()
        chars = sp.csr_matrix(doc_syl @ syl_gram)
        words = sp.csr_matrix((np.ones(len(word_col), dtype=np.float32), np.asarray(word_col, dtype=np.int32),
                               word_ptr), shape=(len(texts), N_COLUMNS))
        words.sum_duplicates()
        return chars, words

    def _combine(self, chars: sp.csr_matrix, words: sp.csr_matrix) -> sp.csr_matrix:
        out = sp.hstack([_weigh(chars, self.idf_char, np.sqrt(self.char_weight)),
                         _weigh(words, self.idf_word, np.sqrt(1.0 - self.char_weight))],
                        format="csr", dtype=np.float32)
        # A text whose word block is empty (only stop words) would have norm < 1: renormalise.
        norms = _row_norms(out)
        norms[norms == 0] = 1.0
        out.data *= np.repeat((1.0 / norms).astype(np.float32), np.diff(out.indptr))
        return out

    def reweigh(self, rows: sp.csr_matrix, char_weight: float) -> sp.csr_matrix:
        """Return rows made by this featurizer as if its character block weighed ``char_weight``.

        Duplicates are about spelling (characters weigh 0.6), topics about content words
        (characters weigh 0.3); the same rows serve both without analysing the texts twice.
        """
        out = rows.copy()
        char_scale = np.sqrt(char_weight / self.char_weight) if self.char_weight > 0 else 0.0
        word_scale = np.sqrt((1.0 - char_weight) / (1.0 - self.char_weight)) if self.char_weight < 1 else 0.0
        out.data *= np.where(out.indices < N_COLUMNS, char_scale, word_scale).astype(np.float32)
        norms = _row_norms(out)
        norms[norms == 0] = 1.0
        out.data *= np.repeat((1.0 / norms).astype(np.float32), np.diff(out.indptr))
        return out

    def transform(self, texts: Sequence[str], progress: Progress | None = None) -> sp.csr_matrix:
        """Return the feature rows of ``texts`` (float32 CSR, 2 × N_COLUMNS columns, unit norm)."""
        chars, words = self._raw_blocks([syllables(t) for t in texts], progress)
        return self._combine(chars, words)


def _counts(cols: list[int], ptr: list[int]) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), np.asarray(cols, dtype=np.int32),
                       np.asarray(ptr, dtype=np.int64)), shape=(len(ptr) - 1, N_COLUMNS))
    m.sum_duplicates()
    return m


def _idf(counts: sp.csr_matrix, n: int) -> np.ndarray:
    df = np.bincount(counts.indices, minlength=N_COLUMNS)
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def _row_norms(m: sp.csr_matrix) -> np.ndarray:
    sq = np.zeros(m.shape[0], dtype=np.float64)
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    np.add.at(sq, rows, m.data.astype(np.float64) ** 2)
    return np.sqrt(sq)


def _weigh(counts: sp.csr_matrix, idf: np.ndarray, scale: float) -> sp.csr_matrix:
    """Sublinear TF × IDF, each row scaled to norm ``scale`` (or left empty)."""
    m = counts.copy()
    m.data = (1.0 + np.log(m.data)) * idf[m.indices]
    norms = _row_norms(m)
    norms[norms == 0] = 1.0
    m.data *= np.repeat((scale / norms).astype(np.float32), np.diff(m.indptr))
    return m


@functools.lru_cache(maxsize=1)
def default_featurizer() -> Featurizer:
    """Return a featurizer fitted on the bundled labelled items, for a conference with few items yet."""
    return Featurizer.fit([row["text"] for row in load_labelled_items()])


def load_labelled_items(path: Path | str = LABELLED_ITEMS) -> list[dict]:
    """Read the labelled set: dicts with id, text, topic, group (duplicate group) and variant."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def similarity(a: str, b: str, featurizer: Featurizer | None = None) -> float:
    """Return the similarity (0..1) of two texts."""
    feat = featurizer or default_featurizer()
    x = feat.transform([a, b])
    return float(x[0].multiply(x[1]).sum())


def _compact(x: sp.csr_matrix, colmap: np.ndarray, width: int, dense: bool):
    """The part of x on the columns that colmap maps (≥ 0), renumbered; dense array or CSR."""
    mapped = colmap[x.indices]
    keep = mapped >= 0
    counts = np.add.reduceat(keep, x.indptr[:-1]) if x.nnz else np.zeros(x.shape[0], dtype=np.int64)
    counts[np.diff(x.indptr) == 0] = 0  # reduceat repeats the next value for empty rows
    indptr = np.zeros(x.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    out = sp.csr_matrix((x.data[keep], mapped[keep], indptr), shape=(x.shape[0], width))
    return out.toarray() if dense else out


def _similarities(q: sp.csr_matrix, m: sp.csr_matrix, max_dense: int = 6000) -> np.ndarray:
    """Exact similarities (dot products) of the rows of q to the rows of m, as a dense q × m array.

    The columns that several rows of m use (the common n-grams and words) are multiplied as dense
    arrays, which BLAS does fast; the long tail of columns is multiplied as sparse matrices, which
    is cheap because each of those columns is in one or two rows of m.
    """
    df = np.bincount(m.indices, minlength=m.shape[1])
    dense_cols = np.flatnonzero(df > 2)
    if len(dense_cols) > max_dense:
        dense_cols = dense_cols[np.argsort(-df[dense_cols], kind="stable")[:max_dense]]
    colmap = np.full(m.shape[1], -1, dtype=np.int64)
    colmap[dense_cols] = np.arange(len(dense_cols))
    out = _compact(q, colmap, len(dense_cols), True) @ _compact(m, colmap, len(dense_cols), True).T
    sparse_cols = np.flatnonzero((df > 0) & (colmap < 0))
    colmap[:] = -1
    colmap[sparse_cols] = np.arange(len(sparse_cols))
    rest = _compact(q, colmap, len(sparse_cols), False) @ _compact(m, colmap, len(sparse_cols), False).T
    rest = rest.tocoo()
    out[rest.row, rest.col] += rest.data
    return out


@dataclass(frozen=True)
class Match:
    """An indexed item similar to a query, with its similarity (0..1)."""

    key: object
    score: float


class SimilarityIndex:
    """Finds the items most similar to a text, e.g. while its author types a new question.

    Items are kept as feature rows in memory: the bulk column-major, so that a query reads only the
    postings of its own features, and the items added since the last merge as a small row-major
    block, so that adding one item does not rebuild the bulk. The search is exact. A conference's
    index is built from the database at start and kept in step by the service that records
    opinions.
    """

    def __init__(self, featurizer: Featurizer | None = None, merge_at: int = 2000):
        self.featurizer = featurizer or default_featurizer()
        self.merge_at = merge_at
        self._keys: list = []
        self._pos: dict = {}
        self._alive = np.zeros(0, dtype=bool)
        self._bulk = sp.csc_matrix((0, 2 * N_COLUMNS), dtype=np.float32)
        self._recent = sp.csr_matrix((0, 2 * N_COLUMNS), dtype=np.float32)
        # The query spread over all columns, for scoring the recent rows by lookup; zeroed after use.
        self._query = np.zeros(2 * N_COLUMNS, dtype=np.float32)

    def __len__(self) -> int:
        return int(self._alive.sum())

    def add(self, key, text: str) -> None:
        """Index one item (replacing the text of an existing key)."""
        self.add_many([key], [text])

    def add_many(self, keys: Sequence, texts: Sequence[str]) -> None:
        """Index many items at once."""
        for key in keys:
            if key in self._pos:
                self._alive[self._pos[key]] = False
        start = len(self._keys)
        for i, key in enumerate(keys):
            self._pos[key] = start + i
        self._keys.extend(keys)
        self._alive = np.concatenate([self._alive, np.ones(len(keys), dtype=bool)])
        self._recent = sp.vstack([self._recent, self.featurizer.transform(list(texts))], format="csr")
        if self._recent.shape[0] >= max(self.merge_at, self._bulk.shape[0] // 20):
            self._bulk = sp.vstack([self._bulk.tocsr(), self._recent], format="csc")
            self._recent = sp.csr_matrix((0, 2 * N_COLUMNS), dtype=np.float32)

    def remove(self, key) -> None:
        """Forget an item (e.g. merged into another or rejected)."""
        pos = self._pos.pop(key, None)
        if pos is not None:
            self._alive[pos] = False

    def similar(self, text: str, k: int = 5, min_score: float = 0.25, exclude=None) -> list[Match]:
        """Return up to k indexed items with similarity ≥ min_score to text, best first."""
        if not self._keys or not text or not text.strip():
            return []
        q = self.featurizer.transform([text])
        scores = np.zeros(len(self._keys), dtype=np.float32)
        n_bulk = self._bulk.shape[0]
        if n_bulk:
            scores[:n_bulk] = self._bulk[:, q.indices] @ q.data
        recent = self._recent
        if recent.nnz:
            self._query[q.indices] = q.data
            products = recent.data * self._query[recent.indices]
            self._query[q.indices] = 0.0
            nonempty = np.flatnonzero(np.diff(recent.indptr) > 0)
            scores[n_bulk + nonempty] = np.add.reduceat(products, recent.indptr[nonempty])
        scores[~self._alive] = 0
        hits = np.flatnonzero(scores >= min_score)
        hits = hits[np.lexsort((hits, -scores[hits]))]
        out = []
        for i in hits:
            if self._keys[i] != exclude:
                out.append(Match(self._keys[i], float(scores[i])))
                if len(out) == k:
                    break
        return out


@dataclass
class DuplicateClusters:
    """The result of :func:`find_duplicates`: one cluster label per item."""

    labels: np.ndarray
    leaders: np.ndarray
    scores: np.ndarray

    @property
    def n_clusters(self) -> int:
        """Number of clusters, singletons included."""
        return len(self.leaders)

    def groups(self, min_size: int = 2) -> list[np.ndarray]:
        """Return the item indices of each cluster with at least min_size items, largest first."""
        order = np.argsort(self.labels, kind="stable")
        bounds = np.flatnonzero(np.diff(self.labels[order])) + 1
        parts = [p for p in np.split(order, bounds) if len(p) >= min_size]
        parts.sort(key=lambda p: (-len(p), p[0]))
        return parts


def find_duplicates(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD,
                    featurizer: Featurizer | None = None, batch_size: int = 2048,
                    progress: Progress | None = None, features: sp.csr_matrix | None = None
                    ) -> DuplicateClusters:
    """Cluster near-duplicate texts: each item joins the most similar earlier cluster, or starts one.

    Leader clustering, in arrival order and in mini-batches: an item joins the cluster whose
    founding item (leader) is most similar to it if that similarity is ≥ threshold, else it founds
    a new cluster. Comparing with leaders only keeps the cost at items × clusters instead of
    items², and avoids the chaining of single linkage (A~B, B~C, so A~C) that merges different
    concerns through a vague item in between. Scores are exact (:func:`_similarities`).

    :param featurizer: fitted on ``texts`` when neither it nor ``features`` is given.
    :param features: the rows of ``texts`` when the caller has them already.
    :param progress: called as ``progress(done, total, message)``.
    """
    n = len(texts) if features is None else features.shape[0]
    if features is None:
        if featurizer is None:
            featurizer, features = Featurizer.fit_transform(texts, progress=progress)
        else:
            features = featurizer.transform(texts, progress=progress)
    x = features
    labels = np.full(n, -1, dtype=np.int64)
    scores = np.zeros(n, dtype=np.float32)
    leaders: list[int] = []
    leader_rows: sp.csr_matrix | None = None
    start = 0
    while start < n:
        # Keep the batch × leaders score array around 16 MB however many clusters there are.
        size = max(256, min(batch_size, 4_000_000 // max(len(leaders), 1)))
        stop = min(start + size, n)
        batch = x[start:stop]
        if leader_rows is not None:
            s = _similarities(batch, leader_rows)
            best = s.argmax(axis=1)
            top = s[np.arange(len(best)), best]
            has = top >= threshold
            labels[start:stop][has] = best[has]
            scores[start:stop][has] = top[has]
        todo = np.flatnonzero(labels[start:stop] < 0)
        new_leaders = _claim_within(batch[todo], threshold, labels, scores, start + todo, len(leaders))
        if new_leaders:
            leaders.extend(new_leaders)
            leader_rows = x[np.asarray(leaders)]
        if progress:
            progress(stop, n, "Đang gom các ý kiến trùng nhau")
        start = stop
    return DuplicateClusters(labels, np.asarray(leaders, dtype=np.int64), scores)


def _claim_within(rows: sp.csr_matrix, threshold: float, labels: np.ndarray, scores: np.ndarray,
                  positions: np.ndarray, first_label: int) -> list[int]:
    """Leader-cluster the items of one batch that matched no earlier leader; return the new leaders."""
    if rows.shape[0] == 0:
        return []
    sims = _similarities(rows, rows)
    close = sims >= threshold
    taken = np.zeros(rows.shape[0], dtype=bool)
    new_leaders = []
    # Greedy in arrival order: the first unclaimed item founds a cluster and claims the later
    # unclaimed items close to it. (Claimed by the first close leader, not the closest: within a
    # batch that is what arrival order would have done item by item.)
    for i in range(rows.shape[0]):
        if taken[i]:
            continue
        label = first_label + len(new_leaders)
        new_leaders.append(int(positions[i]))
        taken[i] = True
        claim = np.flatnonzero(close[i] & ~taken)
        claim = claim[claim > i]
        taken[claim] = True
        labels[positions[i]] = label
        scores[positions[i]] = 1.0
        labels[positions[claim]] = label
        scores[positions[claim]] = sims[i, claim]
    return new_leaders
