"""How well the voice engine does on a labelled file: the figures of ``manage.py voice_eval``.

The file is tab-separated UTF-8 with the header ``id topic dup_group text``; items sharing a
non-empty ``dup_group`` say the same thing. :func:`evaluate` returns, for the engine and for a
plain TF-IDF baseline run in the same call:

- ``dup_precision``, ``dup_recall``, ``dup_f1``: over pairs of items (a pair in one group is a
  positive), the engine's clusters made through exactly the product's merge path
  (:func:`near_duplicates.duplicate_clusters`, the default featurizer and :data:`DEFAULT_RULE`);
- ``polarity_merges``: pairs put in one cluster whose texts have opposite polarity by the product's
  own detector (:meth:`textsim.TextMeta.opposes`);
- ``topic_accuracy``: 5-fold cross-validation grouped by ``dup_group`` (duplicates never straddle
  training and test), the engine learning as the product learns (:class:`topics.TopicSuggester`
  fitted on the moderators' labels, with the default topics' keywords when the keys match).

The baseline: TF-IDF of the folded words (scikit-learn's default analyser), cosine similarity,
pairs at or above :data:`BASELINE_THRESHOLD` joined (connected components) for duplicates, and
logistic regression on the same TF-IDF for topics.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from diemcau.core.vntext import fold, nfc

from . import near_duplicates, textsim
from .topics import DEFAULT_TOPICS, Topic, TopicSuggester

COLUMNS = ("id", "topic", "dup_group", "text")
# The baseline's cosine threshold: the best F1 on the training split of the bundled set
# (bench/voice.py prints the sweep), so the baseline is not handicapped by a poor choice.
BASELINE_THRESHOLD = 0.5
FOLDS = 5

DATA_DIR = Path(__file__).resolve().parent / "data"
EVAL_TRAIN = DATA_DIR / "eval_train.tsv"
EVAL_HELDOUT = DATA_DIR / "eval_heldout.tsv"


class EvalFileError(ValueError):
    """The labelled file cannot be evaluated; the message says where and why."""


@dataclass(frozen=True)
class LabelledItem:
    id: str
    topic: str
    dup_group: str
    text: str


def read_labelled(path: Path | str) -> list[LabelledItem]:
    """Read and check a labelled TSV file; raise :class:`EvalFileError` with a clear message."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise EvalFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise EvalFileError(f"{path}: not UTF-8 (line {line}, byte {exc.start})") from None
    return parse_labelled(content, str(path))


def parse_labelled(content: str, name: str = "<file>") -> list[LabelledItem]:
    """Parse the text of a labelled TSV file (see :func:`read_labelled`)."""
    rows = list(csv.reader(io.StringIO(content), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise EvalFileError(f"{name}: empty file; expected the header {' '.join(COLUMNS)!r} (tab-separated)")
    header = [c.strip() for c in rows[0]]
    if sorted(header) != sorted(COLUMNS):
        raise EvalFileError(f"{name}: the header must be the four tab-separated columns "
                            f"{' '.join(COLUMNS)!r}, found {header!r}")
    pos = {c: header.index(c) for c in COLUMNS}
    items, seen, errors = [], set(), []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(COLUMNS):
            errors.append(f"line {line}: {len(row)} fields, expected {len(COLUMNS)} (a tab inside a text?)")
            continue
        item = LabelledItem(*(nfc(row[pos[c]]) for c in COLUMNS))
        if not item.id:
            errors.append(f"line {line}: empty id")
        elif item.id in seen:
            errors.append(f"line {line}: id {item.id!r} appears twice")
        if not item.text:
            errors.append(f"line {line}: empty text")
        if not item.topic:
            errors.append(f"line {line}: empty topic")
        seen.add(item.id)
        items.append(item)
        if len(errors) >= 10:
            break
    if errors:
        raise EvalFileError(f"{name}: " + "; ".join(errors))
    if len(items) < 2:
        raise EvalFileError(f"{name}: at least two items are needed, found {len(items)}")
    return items


def split_labelled(rows: list[dict], seed: int = 0, share: float = 0.3) -> tuple[list[dict], list[dict]]:
    """Split the bundled labelled set (``textsim.load_labelled_items``) into training and held-out parts.

    By family (a duplicate group with its negated counterparts), 30 % of families held out with
    seed 0: thresholds and weights are chosen on the training part only.
    """
    families = sorted({r["family"] for r in rows})
    held = set(np.random.default_rng(seed).choice(families, int(share * len(families)), replace=False))
    return [r for r in rows if r["family"] not in held], [r for r in rows if r["family"] in held]


def write_tsv(rows: list[dict], path: Path | str) -> None:
    """Write labelled rows (dicts of the bundled set) as a ``voice_eval`` file."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join((r["id"], r["topic"], r["group"], r["text"].replace("\t", " "))) + "\n")


def write_bundled_split() -> None:
    """(Re)write ``data/eval_train.tsv`` and ``data/eval_heldout.tsv`` from the bundled labelled set."""
    train, held = split_labelled(textsim.load_labelled_items())
    write_tsv(train, EVAL_TRAIN)
    write_tsv(held, EVAL_HELDOUT)


# --- figures ------------------------------------------------------------------------------------

def group_ids(items: list[LabelledItem]) -> np.ndarray:
    """An integer per item: its dup_group's, or its own when the group is empty."""
    ids: dict[str, int] = {}
    out = np.zeros(len(items), dtype=np.int64)
    for i, item in enumerate(items):
        key = item.dup_group or f"\0{item.id}"
        out[i] = ids.setdefault(key, len(ids))
    return out


def pair_figures(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Pairwise precision, recall and F1 of a clustering against the true groups."""
    tp = fp = fn = 0
    for label in np.unique(predicted):
        members = truth[predicted == label]
        _, counts = np.unique(members, return_counts=True)
        same = int((counts * (counts - 1) // 2).sum())
        tp += same
        fp += len(members) * (len(members) - 1) // 2 - same
    _, counts = np.unique(truth, return_counts=True)
    fn = int((counts * (counts - 1) // 2).sum()) - tp
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "pairs_predicted": tp + fp, "pairs_true": tp + fn}


def polarity_merges(labels: np.ndarray, meta: textsim.TextMeta) -> int:
    """Pairs put in one cluster whose texts have opposite polarity (counted per distinct polarity)."""
    count = 0
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        kinds: dict[tuple, int] = {}
        for i in members:
            sig = meta.signature(int(i))
            kinds[sig] = kinds.get(sig, 0) + 1
        sigs = list(kinds)
        for a in range(len(sigs)):
            for b in range(a + 1, len(sigs)):
                if textsim.opposite(sigs[a], sigs[b]):
                    count += kinds[sigs[a]] * kinds[sigs[b]]
    return count


def engine_duplicates(texts: list[str]) -> tuple[np.ndarray, textsim.TextMeta]:
    """Cluster labels through the product's merge path, and the texts' meta for the polarity check."""
    featurizer = textsim.default_featurizer()
    _rows, meta = featurizer.transform_meta(texts)
    return near_duplicates.duplicate_clusters(texts).labels, meta


def baseline_duplicates(texts: list[str], threshold: float = BASELINE_THRESHOLD) -> np.ndarray:
    """TF-IDF cosine on folded text; pairs at or above the threshold joined."""
    x = TfidfVectorizer().fit_transform([fold(t) for t in texts])
    sims = (x @ x.T).tocoo()
    keep = sims.data >= threshold
    graph = sp.coo_matrix((np.ones(keep.sum()), (sims.row[keep], sims.col[keep])), shape=sims.shape)
    return connected_components(graph, directed=False)[1]


def topic_list(keys) -> list[Topic]:
    """The topics of a file: the default ones (with their keywords) when the keys match, else names."""
    defaults = {t.key: t for t in DEFAULT_TOPICS}
    return [defaults.get(k) or Topic(k, k.replace("_", " ")) for k in sorted(set(keys))]


def topic_accuracies(items: list[LabelledItem], folds: int = FOLDS) -> tuple[float, float]:
    """Accuracy of the engine's topic suggester and of TF-IDF + logistic regression, grouped k-fold."""
    texts = [i.text for i in items]
    labels = np.array([i.topic for i in items])
    groups = group_ids(items)
    n_folds = min(folds, len(np.unique(groups)))
    if n_folds < 2 or len(set(labels)) < 2:
        return float("nan"), float("nan")
    topics = topic_list(labels)
    ours = np.zeros(len(items), dtype=bool)
    base = np.zeros(len(items), dtype=bool)
    for train, test in GroupKFold(n_splits=n_folds).split(texts, labels, groups):
        suggester = TopicSuggester(topics).fit([texts[i] for i in train], list(labels[train]))
        keys, _ = suggester.predict([texts[i] for i in test])
        ours[test] = np.array(keys) == labels[test]
        base[test] = baseline_topics([texts[i] for i in train], labels[train], [texts[i] for i in test]) == labels[test]
    return float(ours.mean()), float(base.mean())


def baseline_topics(train_texts, train_labels, test_texts) -> np.ndarray:
    """TF-IDF + logistic regression (scikit-learn defaults), trained and applied."""
    if len(set(train_labels)) < 2:
        return np.array([train_labels[0]] * len(test_texts))
    vec = TfidfVectorizer()
    model = LogisticRegression(max_iter=2000).fit(vec.fit_transform(train_texts), train_labels)
    return model.predict(vec.transform(test_texts))


def evaluate(items: list[LabelledItem], topics: bool = True) -> dict:
    """All the figures of ``voice_eval`` for these items (see the module docstring)."""
    texts = [i.text for i in items]
    truth = group_ids(items)
    labels, meta = engine_duplicates(texts)
    ours = pair_figures(truth, labels)
    base_labels = baseline_duplicates(texts)
    base = pair_figures(truth, base_labels)
    topic_acc, base_topic_acc = topic_accuracies(items) if topics else (float("nan"), float("nan"))
    return {
        "items": len(items), "dup_pairs": ours["pairs_true"],
        "dup_precision": round(ours["precision"], 4), "dup_recall": round(ours["recall"], 4),
        "dup_f1": round(ours["f1"], 4), "polarity_merges": polarity_merges(labels, meta),
        "topic_accuracy": round(topic_acc, 4),
        "baseline_dup_precision": round(base["precision"], 4), "baseline_dup_recall": round(base["recall"], 4),
        "baseline_dup_f1": round(base["f1"], 4), "baseline_polarity_merges": polarity_merges(base_labels, meta),
        "baseline_topic_accuracy": round(base_topic_acc, 4),
    }
