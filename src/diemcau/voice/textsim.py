"""Similarity of opinions (ý kiến): typo-tolerant feature rows whose dot product is the similarity.

Participants type on phones, often without diacritics (Telex/VNI off), with typos and in any order.
Everything here therefore works on the *folded* text (``vntext.fold``: no diacritics, lower case),
which makes "lương giáo viên" and "luong giao vien" the same string, and builds two blocks of
features per text:

- **characters**: 3- and 4-grams inside each word (" giao " → " gi", "gia", "iao", "ao ", ...),
  taken from the raw folded text, so a swapped or dropped letter keeps most grams of its word and
  word order does not matter at all;
- **words**: the text's syllables, corrected for one typo each against the syllables of the corpus
  (:class:`~diemcau.voice.words.Speller`), joined into words with a lexicon of compounds that pyvi finds in the texts
  that do carry diacritics (:class:`~diemcau.voice.words.Segmenter`: "giao vien" → ``giao_vien``), plus pairs of
  neighbouring words for a little phrase structure.

Both blocks are TF-IDF weighted (sublinear term frequency), hashed into fixed columns with
MurmurHash (deterministic across processes, unlike ``hash``), L2-normalised and stacked with
weights, so the dot product of two rows is a blend of the two cosine similarities.

The words come from :mod:`diemcau.voice.words`; the live index and the deduplicator that score
these rows against each other are in :mod:`diemcau.voice.near_duplicates`.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

from .lexicon import Normalised, normalise, opposite
from .words import STOP_WORDS, Segmenter, Speller

Progress = Callable[[int, int, str], None]

DATA_DIR = Path(__file__).resolve().parent / "data"
LABELLED_ITEMS = DATA_DIR / "labelled_items.jsonl"
# Added for issue 15 (opposite opinions, synonyms and numbers), kept apart so that the demo, which
# draws from LABELLED_ITEMS alone, stays the same.
POLARITY_ITEMS = DATA_DIR / "labelled_items_polarity.jsonl"

# Columns per feature block. 2**20 keeps hash collisions rare for ~10^5 distinct word pairs.
N_COLUMNS = 1 << 20


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
class TextMeta:
    """What duplicate matching needs besides the feature rows: content words and polarity per text.

    ``words``: the content words of each text; ``negated``/``affirmed``: those only ever inside /
    outside a negation's scope; ``up``/``down``: the pure directions on the polarity axes (bit
    masks, see :class:`~diemcau.voice.lexicon.Polarity`).
    """

    words: list[frozenset]
    negated: list[frozenset]
    affirmed: list[frozenset]
    up: np.ndarray
    down: np.ndarray
    #: the head words negated by lack ("chưa có X"), and the words asked for ("đề nghị X")
    lacking: list[frozenset] = field(default_factory=list)
    wished: list[frozenset] = field(default_factory=list)
    #: per text, whether it asks a yes/no question ("Có nên bỏ kỳ thi ... không?"), see
    #: :func:`~diemcau.voice.lexicon.yes_no_question` (None: none does)
    question: np.ndarray | None = None

    def questions(self) -> np.ndarray:
        """Per text, whether it asks a yes/no question (bool array)."""
        return np.zeros(len(self.words), dtype=bool) if self.question is None else self.question

    @property
    def n_words(self) -> np.ndarray:
        return np.fromiter((len(w) for w in self.words), dtype=np.int32, count=len(self.words))

    def signature(self, i: int) -> tuple:
        """(negated, lacking, affirmed, wished, up, down): what :func:`~diemcau.voice.lexicon.opposite` reads."""
        return (self.negated[i], self.lacking[i], self.affirmed[i], self.wished[i], int(self.up[i]),
                int(self.down[i]))

    def opposes(self, i: int, j: int) -> bool:
        """True when texts i and j have opposite polarity (:func:`~diemcau.voice.lexicon.opposite`)."""
        return opposite(self.signature(i), self.signature(j))


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
        feat, chars, words, _meta = cls._fit(texts, char_weight, segment_sample, seed, progress)
        return feat, feat._combine(chars, words)

    @classmethod
    def fit_transform_meta(cls, texts: Sequence[str], char_weight: float = 0.6, segment_sample: int = 2000,
                           seed: int = 0, progress: Progress | None = None
                           ) -> tuple[Featurizer, sp.csr_matrix, TextMeta]:
        """Fit on ``texts`` and return their rows and their :class:`TextMeta`."""
        feat, chars, words, meta = cls._fit(texts, char_weight, segment_sample, seed, progress)
        return feat, feat._combine(chars, words), meta

    @classmethod
    def _fit(cls, texts, char_weight, segment_sample, seed, progress=None):
        norms = [normalise(t) for t in texts]
        feat = cls(Segmenter.learn(texts, sample=segment_sample, seed=seed),
                   Speller.from_syllables([n.syllables for n in norms]), char_weight=char_weight)
        chars, words, meta = feat._raw_blocks(norms, progress)
        feat.n_docs = len(texts)
        feat.idf_char = _idf(chars, len(texts))
        feat.idf_word = _idf(words, len(texts))
        return feat, chars, words, meta

    def analyse(self, text: str) -> Analysed:
        """Fold, split, normalise, correct and segment one text."""
        syls = normalise(text).syllables
        return Analysed(syls, self._words(syls))

    def _words(self, syls: Sequence[str]) -> list[str]:
        get, correct = self.speller._cache.get, self.speller.correct
        fixed = [get(s) or correct(s) for s in syls]
        return [w for w in self.segmenter.segment(fixed) if w not in STOP_WORDS]

    def _words_negated(self, syls: Sequence[str], *marks: Sequence[bool]) -> tuple[list[str], list[tuple]]:
        """The content words and, for each, its first syllable's marks (negated, lack, wish, ...)."""
        get, correct = self.speller._cache.get, self.speller.correct
        fixed = [get(s) or correct(s) for s in syls]
        words, flags, pos = [], [], 0
        for w in self.segmenter.segment(fixed):
            if w not in STOP_WORDS:
                words.append(w)
                flags.append(tuple(bool(m[pos]) if pos < len(m) else False for m in marks))
            pos += w.count("_") + 1
        return words, flags

    def _raw_blocks(self, texts: Sequence[Normalised], progress: Progress | None = None
                    ) -> tuple[sp.csr_matrix, sp.csr_matrix, TextMeta]:
        """Count matrices (texts × columns) of the character and the word block, and the texts' meta.

        Set phrases stay out of the character block; negation and the polarity axes are words
        ("w:¬", "w:↑increase", ...), so that opposite texts look less alike even before the merge
        rule refuses them. A text that recurs (the same opinion sent again, a copied greeting) is
        analysed once: :func:`~diemcau.voice.lexicon.normalise` returns the same object for the
        same text, and its rows and meta are repeated.
        """
        first: dict[int, int] = {}
        inverse = np.fromiter((first.setdefault(id(t), len(first)) for t in texts), dtype=np.int64,
                              count=len(texts))
        if len(first) == len(texts):
            return self._distinct_blocks(texts, progress)
        distinct = [None] * len(first)
        for t, k in zip(texts, inverse.tolist(), strict=True):
            distinct[k] = t
        chars, words, meta = self._distinct_blocks(distinct, progress)
        pick = inverse.tolist()
        return chars[inverse], words[inverse], TextMeta(
            [meta.words[k] for k in pick], [meta.negated[k] for k in pick], [meta.affirmed[k] for k in pick],
            meta.up[inverse], meta.down[inverse], [meta.lacking[k] for k in pick], [meta.wished[k] for k in pick],
            meta.questions()[inverse])

    def _distinct_blocks(self, texts: Sequence[Normalised], progress: Progress | None = None
                         ) -> tuple[sp.csr_matrix, sp.csr_matrix, TextMeta]:
        # Character block = (texts × distinct syllables) @ (distinct syllables × n-gram columns):
        # the n-grams of a syllable are computed once, however often it occurs.
        syl_ids: dict[str, int] = {}
        col_get = _COLUMNS.get
        syl_col: list[int] = []
        word_col: list[int] = []
        syl_ptr = np.zeros(len(texts) + 1, dtype=np.int64)
        word_ptr = np.zeros(len(texts) + 1, dtype=np.int64)
        n = len(texts)
        word_sets: list[frozenset] = []
        negated_sets: list[frozenset] = []
        affirmed_sets: list[frozenset] = []
        lacking_sets: list[frozenset] = []
        wished_sets: list[frozenset] = []
        up = np.zeros(n, dtype=np.int64)
        down = np.zeros(n, dtype=np.int64)
        question = np.zeros(n, dtype=bool)
        for i, norm in enumerate(texts):
            question[i] = norm.yes_no
            for s, in_phrase in zip(norm.syllables, norm.in_set_phrase, strict=True):
                if in_phrase:
                    continue
                j = syl_ids.get(s)
                if j is None:
                    j = syl_ids[s] = len(syl_ids)
                syl_col.append(j)
            words, flags = self._words_negated(norm.syllables, norm.negated, norm.lack, norm.wish, norm.unstated)
            word_sets.append(frozenset(words))
            neg, heads, lacks, aff, wish = _polar_words(words, flags)
            negated_sets.append(heads - lacks - aff - wish)
            lacking_sets.append(lacks - aff - wish)
            affirmed_sets.append(aff - neg - wish)
            wished_sets.append(wish - neg - aff)
            pol = norm.polarity
            up[i], down[i] = pol.pure_positive, pol.pure_negative
            # sorted: the same bigrams in every process (a set's order follows PYTHONHASHSEED)
            words = words + [f"¬{w}" for w in sorted(neg - aff)] + _axis_words(pol)
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
        return chars, words, TextMeta(word_sets, negated_sets, affirmed_sets, up, down, lacking_sets, wished_sets,
                                       question)

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
        return self.transform_meta(texts, progress)[0]

    def transform_meta(self, texts: Sequence[str], progress: Progress | None = None
                       ) -> tuple[sp.csr_matrix, TextMeta]:
        """Return the feature rows of ``texts`` and their :class:`TextMeta`."""
        chars, words, meta = self._raw_blocks([normalise(t) for t in texts], progress)
        return self._combine(chars, words), meta


def _polar_words(words: list[str], flags: list[tuple]) -> tuple[frozenset, ...]:
    """(all negated, negated heads, heads negated by lack, stated, asked for) among a text's words.

    What "cấm" or "thiếu" covers is not stated ("cấm học sinh dùng điện thoại" does not state that
    pupils use phones): it is in none of the sets. A head
    is the first content word of a negation's scope ("không đúng giờ": "dung_gio"): only heads make
    two texts opposite, since where a scope ends is fuzzy ("không còn thời gian chuẩn bị bài" /
    "... nghiên cứu bài dạy": "bài" is inside one scope and just outside the other).
    """
    neg, heads, lacks, aff, wish = set(), set(), set(), set(), set()
    before = False
    for k, (w, flag) in enumerate(zip(words, flags, strict=True)):
        negated, lack, wished, unstated = flag
        nxt = words[k + 1] if k + 1 < len(words) and flags[k + 1] == flag else None
        # With its next word as well: "không tăng phụ cấp mà tăng lương" negates "tăng phụ cấp".
        forms = (w, f"{w} {nxt}") if nxt else (w,)
        if negated:
            neg.update(forms)
            if not before:
                (lacks if lack else heads).update(forms)
        elif wished:
            wish.update(forms)
        elif not unstated:
            aff.update(forms)
        before = negated
    return frozenset(neg), frozenset(heads), frozenset(lacks), frozenset(aff), frozenset(wish)


def _axis_words(pol) -> list[str]:
    out = []
    for bit in range(64):
        if pol.pure_positive >> bit & 1:
            out.append(f"↑{bit}")
        if pol.pure_negative >> bit & 1:
            out.append(f"↓{bit}")
        if not (pol.pure_positive | pol.pure_negative) >> bit:
            break
    return out


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


TRAINING_ITEMS = DATA_DIR / "eval_train.tsv"
# The development files, by three different writers (session 10: the two earlier held-out files
# became development data). The engine is built from all three; bench/voice_lofo.py measures that
# procedure leave-one-file-out. eval_heldout3.tsv is NOT one of them: it is for one evaluation only.
DEVELOPMENT_FILES = (TRAINING_ITEMS, DATA_DIR / "eval_heldout.tsv", DATA_DIR / "eval_heldout2.tsv")


def training_texts() -> list[str]:
    """The texts of the development files (:data:`DEVELOPMENT_FILES`), never of a file kept for evaluation."""
    out = []
    for path in DEVELOPMENT_FILES:
        with open(path, encoding="utf-8") as f:
            next(f)
            out.extend(line.rstrip("\n").split("\t")[3] for line in f if line.strip())
    return out


@functools.lru_cache(maxsize=1)
def default_featurizer() -> Featurizer:
    """Return a featurizer fitted on the development files' texts (:func:`training_texts`).

    Used for a conference's live index and suggestions (it has few items of its own at first). A
    file kept for evaluation (``data/eval_heldout3.tsv``) is never seen, so that evaluating on it is
    honest.
    """
    return Featurizer.fit(training_texts())


def load_labelled_items(*paths: Path | str) -> list[dict]:
    """Read the labelled set: dicts with id, text, topic, group (duplicate group), family and variant.

    Both bundled files by default (the original items and the opposite-opinion items).
    """
    rows = []
    for path in paths or (LABELLED_ITEMS, POLARITY_ITEMS):
        with open(path, encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return rows


def similarity(a: str, b: str, featurizer: Featurizer | None = None) -> float:
    """Return the similarity (0..1) of two texts."""
    feat = featurizer or default_featurizer()
    x = feat.transform([a, b])
    return float(x[0].multiply(x[1]).sum())
