"""A learned pair classifier for duplicates, evaluated on the TRAINING file only (tried, not kept).

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/voice_pairs.py
(``make bench-voice_pairs``). The held-out file is never read here.

Every pair of the training file gets features the engine already computes: the blended score, its
character and word parts, shared content words (count, share of the shorter text, Jaccard), both
lengths and their ratio, and the score scaled by length. Logistic regression and gradient boosting
(scikit-learn) are trained with grouped 5-fold cross-validation over families: the model of fold k
is trained on the pairs among the other folds and scores every pair with an item in fold k, so no
pair is scored by a model that saw either of its items. Opposite-polarity pairs are never merged.
The scored pairs are then clustered the product's way (each item joins the cluster of its closest
acceptable match, never across polarity) over a sweep of probability thresholds.

Baseline in the same run: the engine's own score (average precision over all pairs) and
DEFAULT_RULE's clusters on the same file. The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import json
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from diemcau.voice import evaluation, textsim
from diemcau.voice.near_duplicates import duplicate_clusters
from diemcau.voice.textsim import N_COLUMNS

MODELS = {
    "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    "boosting": lambda: HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                                       random_state=0),
}
TARGET_PRECISION = 0.95


def pair_features(x, meta, featurizer, i, j) -> np.ndarray:
    """Features of the pairs (i[k], j[k])."""
    score = np.asarray(x[i].multiply(x[j]).sum(axis=1)).ravel()
    xc, xw = x[:, :N_COLUMNS], x[:, N_COLUMNS:]
    chars = np.asarray(xc[i].multiply(xc[j]).sum(axis=1)).ravel() / featurizer.char_weight
    words = np.asarray(xw[i].multiply(xw[j]).sum(axis=1)).ravel() / (1 - featurizer.char_weight)
    n = meta.n_words
    a, b = n[i], n[j]
    shared = np.fromiter((len(meta.words[p] & meta.words[q]) for p, q in zip(i, j, strict=True)), dtype=np.float64,
                         count=len(i))
    short, long_ = np.minimum(a, b), np.maximum(a, b)
    return np.column_stack([score, chars, words, shared, shared / np.maximum(short, 1),
                            shared / np.maximum(a + b - shared, 1), short, long_, short / np.maximum(long_, 1),
                            score * np.minimum(short, 12) / 12])


def cluster(n: int, i, j, prob, meta, threshold: float) -> np.ndarray:
    """Each item joins the cluster of its closest match with probability ≥ threshold, never across polarity."""
    m = np.zeros((n, n))
    m[i, j] = prob
    m[j, i] = prob
    labels = np.full(n, -1)
    members: list[list[int]] = []
    for k in range(n):
        label = -1
        for other in np.argsort(-m[k, :k], kind="stable")[:8]:
            if m[k, other] < threshold:
                break
            if not any(meta.opposes(k, q) for q in members[labels[other]]):
                label = labels[other]
                break
        if label < 0:
            label = len(members)
            members.append([])
        labels[k] = label
        members[label].append(k)
    return labels


def main() -> None:
    started, cpu0 = time.time(), time.process_time()
    items = evaluation.read_labelled(evaluation.EVAL_TRAIN)
    texts = [t.text for t in items]
    truth = evaluation.group_ids(items)
    families = np.array([t.dup_group.removesuffix("n") or f"\0{t.id}" for t in items])
    featurizer = textsim.default_featurizer()
    x, meta = featurizer.transform_meta(texts)
    n = len(texts)
    i, j = np.triu_indices(n, 1)
    features = pair_features(x, meta, featurizer, i, j)
    y = (truth[i] == truth[j]).astype(int)
    opposite = np.fromiter((meta.opposes(p, q) for p, q in zip(i, j, strict=True)), dtype=bool, count=len(i))
    fold = np.zeros(n, dtype=int)
    for k, (_train, test) in enumerate(GroupKFold(n_splits=5).split(texts, groups=families)):
        fold[test] = k
    engine_ap = average_precision_score(y, np.where(opposite, -1, features[:, 0]))
    out = {"pairs": len(y), "positive_pairs": int(y.sum()), "score_average_precision": round(float(engine_ap), 4)}
    rule = evaluation.pair_figures(truth, duplicate_clusters(texts).labels)
    out["default_rule"] = {k: round(rule[k], 4) for k in ("precision", "recall", "f1")}
    print(f"Training file: {n} items, {len(y)} pairs ({y.sum()} duplicates); the engine's score: average precision "
          f"{out['score_average_precision']}; DEFAULT_RULE's clusters {out['default_rule']}")
    for name, make in MODELS.items():
        prob = np.zeros(len(y))
        for k in range(5):
            scored = (fold[i] == k) | (fold[j] == k)
            train = (fold[i] != k) & (fold[j] != k)
            later = scored & (np.minimum(fold[i], fold[j]) == k)  # each pair scored once
            prob[later] = make().fit(features[train], y[train]).predict_proba(features[later])[:, 1]
        prob[opposite] = 0.0
        ap = float(average_precision_score(y, prob))
        best = None
        for threshold in np.arange(0.3, 0.96, 0.05):
            f = evaluation.pair_figures(truth, cluster(n, i, j, prob, meta, float(threshold)))
            print(f"  {name}: p ≥ {threshold:.2f} → precision {f['precision']:.3f} recall {f['recall']:.3f} "
                  f"F1 {f['f1']:.3f}")
            if f["precision"] >= TARGET_PRECISION and (best is None or f["f1"] > best["f1"]):
                best = {"threshold": round(float(threshold), 2),
                        **{k: round(f[k], 4) for k in ("precision", "recall", "f1")}}
        print(f"{name}: average precision {ap:.4f}; best F1 at precision ≥ {TARGET_PRECISION}: {best}")
        out[name] = {"average_precision": round(ap, 4), "best_at_target": best}
    out.update({"cpu_s": round(time.process_time() - cpu0, 1), "wall_s": round(time.time() - started, 1)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
