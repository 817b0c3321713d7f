"""Duplicates on text written by someone new: leave-one-file-out over the three labelled files.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/voice_lofo.py [--against REV]
(``make bench-voice_lofo``).

The three development files were written by three different writers: ``data/eval_train.tsv``,
``data/eval_heldout.tsv`` and ``data/eval_heldout2.tsv``. For each of them in turn (the *held*
file), the engine is built from the other two as the product is built from its bundled training
items, and scored on the held one:

1. the featurizer (compound lexicon, speller, IDF) is fitted on the two other files' texts, as
   :func:`textsim.default_featurizer` is fitted on the bundled training file;
2. the merge rule's threshold is chosen on the two other files, each clustered on its own (each is
   one conference) through :func:`near_duplicates.find_duplicates`, the product's clustering: the
   threshold with the best pooled pairwise F1 among those with precision ≥ 0.95 (else the most
   precise); the rest of :data:`near_duplicates.DEFAULT_RULE` as shipped;
3. the held file is clustered with that featurizer and rule; its pairwise precision, recall, F1 and
   ``polarity_merges`` (merged pairs of opposite polarity by the product's detector) are counted
   exactly as ``manage.py voice_eval`` counts them.

``tuned`` is the honest figure. Beside it: ``fixed``, the shipped rule unchanged (DEFAULT_RULE's
own threshold, only the featurizer refitted; since session 10 that threshold is chosen on all three
files, so ``fixed`` has seen the held file's labels and is NOT an estimate for a new writer), and
the TF-IDF cosine baseline of ``voice_eval`` (its threshold chosen as ``tuned``'s is). With
``--learned``, a logistic regression over pair features (:class:`PairFeatures`) fitted on the two
other files' pairs replaces the score (evaluated, not shipped: docs/BENCHMARKS.md). The curated
lists (synonyms, set phrases, polarity cues) are not refitted: they are part of the engine.
``eval_heldout3.tsv`` is never read here.

``--against REV`` runs the same command on another revision's engine (REV's ``src/`` unpacked in a
temporary directory by ``git archive``, this script and the development files unchanged) and prints
both.

The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from diemcau.voice import evaluation, near_duplicates, textsim
from voice_tune import figures  # bench/ is the script's folder: the same pair figures as the CV's
from voice_tune import pair_counts as counts

FILES = ("eval_train.tsv", "eval_heldout.tsv", "eval_heldout2.tsv")
TARGET_PRECISION = 0.95
THRESHOLDS = [round(t, 3) for t in np.arange(0.20, 0.60 + 1e-9, 0.01)]
BASELINE_THRESHOLDS = [round(t, 3) for t in np.arange(0.30, 0.90 + 1e-9, 0.025)]



def pick(options: dict, target: float = TARGET_PRECISION):
    """The option whose pooled counts give the best F1 at precision ≥ target (else the most precise)."""
    def key(item):
        f = figures(item[1])
        ok = f["precision"] >= target
        return (ok, f["f1"] if ok else f["precision"])
    return max(options.items(), key=key)[0]


class Prepared:
    """One file's items, true groups, and rows and meta by a given featurizer."""

    def __init__(self, items, featurizer):
        self.items = items
        self.texts = [i.text for i in items]
        self.truth = evaluation.group_ids(items)
        self.x, self.meta = featurizer.transform_meta(self.texts)

    def cluster(self, rule) -> np.ndarray:
        return near_duplicates.find_duplicates(self.texts, features=self.x, meta=self.meta, rule=rule).labels


def rule_grid(base) -> list:
    """The rules tried when tuning: the shipped rule at every threshold of THRESHOLDS."""
    return [replace(base, threshold=t) for t in THRESHOLDS]


def one_fold(held: str, data: dict, target: float = TARGET_PRECISION) -> dict:
    train_names = [n for n in FILES if n != held]
    featurizer = textsim.Featurizer.fit([i.text for n in train_names for i in data[n]])
    train = [Prepared(data[n], featurizer) for n in train_names]
    test = Prepared(data[held], featurizer)
    rules = rule_grid(near_duplicates.DEFAULT_RULE)
    pooled = {rule: sum(counts(p.truth, p.cluster(rule)) for p in train) for rule in rules}
    chosen = pick(pooled, target)
    out = {}
    for name, rule in (("tuned", chosen), ("fixed", near_duplicates.DEFAULT_RULE)):
        labels = test.cluster(rule)
        out[name] = {**figures(counts(test.truth, labels)),
                     "polarity_merges": evaluation.polarity_merges(labels, test.meta),
                     "threshold": float(rule.threshold)}
    out["tuned"]["train"] = figures(pooled[chosen])
    base_pooled = {t: sum(counts(p.truth, evaluation.baseline_duplicates(p.texts, t)) for p in train)
                   for t in BASELINE_THRESHOLDS}
    t = pick(base_pooled, target)
    labels = evaluation.baseline_duplicates(test.texts, t)
    out["baseline"] = {**figures(counts(test.truth, labels)),
                       "polarity_merges": evaluation.polarity_merges(labels, test.meta), "threshold": float(t)}
    out["positive_pairs"] = int(counts(test.truth, np.arange(len(test.texts)))[2])
    return out


# --- a learned pair score (issue 15, session 10), reported beside the hand rule, not shipped ---------

LEARNED_FLOOR = 0.15  # pairs below this score are never candidates (probability 0)
LEARNED_THRESHOLDS = [round(t, 3) for t in np.arange(0.20, 0.96, 0.025)]
FEATURES = ("score", "char cosine", "word cosine", "shared words", "shared / shorter", "shared / longer",
            "log shorter", "log longer", "opposite", "roles differ", "one asks", "numbers differ",
            "max idf unshared", "min idf unshared", "idf share of shared words")


def _unit_rows(m):
    n = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    n[n == 0] = 1.0
    return m.multiply(1.0 / n[:, None]).tocsr()


class PairFeatures:
    """Per pair of a file's items with a score ≥ LEARNED_FLOOR, the features of a learned pair score."""

    def __init__(self, prepared: Prepared, featurizer):
        p = self.p = prepared
        n_cols = textsim.N_COLUMNS
        self.s = (p.x @ p.x.T).toarray()
        xc, xw = _unit_rows(p.x[:, :n_cols]), _unit_rows(p.x[:, n_cols:])
        self.sc, self.sw = (xc @ xc.T).toarray(), (xw @ xw.T).toarray()
        self.roles = near_duplicates.roles_of(p.meta)
        self.asks = p.meta.questions()
        self.nums = [frozenset(w for w in ws if w.isdigit()) for ws in p.meta.words]
        idf = featurizer.idf_word
        self.idf = [{w: float(idf[textsim._column("w:" + w)]) for w in ws} for ws in p.meta.words]
        rows, cols = np.triu_indices(len(p.texts), 1)
        keep = self.s[rows, cols] >= LEARNED_FLOOR
        self.pairs = list(zip(rows[keep].tolist(), cols[keep].tolist(), strict=True))
        self.x = np.array([self.features(i, j) for i, j in self.pairs]).reshape(-1, len(FEATURES))
        self.y = np.array([p.truth[i] == p.truth[j] for i, j in self.pairs], dtype=bool)

    def features(self, i: int, j: int) -> list[float]:
        wi, wj = self.p.meta.words[i], self.p.meta.words[j]
        shared = len(wi & wj)
        lo, hi = max(min(len(wi), len(wj)), 1), max(len(wi), len(wj), 1)
        un_i = max((self.idf[i][w] for w in wi - wj), default=0.0)
        un_j = max((self.idf[j][w] for w in wj - wi), default=0.0)
        total = sum(self.idf[i].values()) + sum(self.idf[j].values())
        share = 2 * sum(self.idf[i][w] for w in wi & wj) / total if total else 0.0
        ri, rj = self.roles[i], self.roles[j]
        return [self.s[i, j], self.sc[i, j], self.sw[i, j], shared, shared / lo, shared / hi, np.log(lo), np.log(hi),
                float(self.p.meta.opposes(i, j)), float(bool(ri and rj and not ri & rj)),
                float(self.asks[i] != self.asks[j]),
                float(bool(self.nums[i] and self.nums[j] and not self.nums[i] & self.nums[j])),
                max(un_i, un_j), min(un_i, un_j), share]

    def rescore(self, model, mu, sd):
        """A ``find_duplicates(rescore=...)`` that replaces each pair's score by the model's probability."""
        prob = np.zeros_like(self.s, dtype=np.float32)
        if self.pairs:
            values = model.predict_proba((self.x - mu) / sd)[:, 1]
            rows, cols = np.array(self.pairs).T
            prob[rows, cols] = prob[cols, rows] = values
        np.fill_diagonal(prob, 1.0)
        return lambda r, c, _s: prob[np.ix_(r, c)]


def learned_fold(held: str, data: dict, target: float) -> dict:
    """Logistic regression over pair features, fitted on the two other files' candidate pairs; its
    probability threshold chosen on them as the hand rule's is; the held file clustered with it."""
    from sklearn.linear_model import LogisticRegression

    train_names = [n for n in FILES if n != held]
    featurizer = textsim.Featurizer.fit([i.text for n in train_names for i in data[n]])
    train = [PairFeatures(Prepared(data[n], featurizer), featurizer) for n in train_names]
    test = PairFeatures(Prepared(data[held], featurizer), featurizer)
    x = np.vstack([f.x for f in train])
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(max_iter=2000).fit((x - mu) / sd, np.concatenate([f.y for f in train]))
    # The length-aware part and the guards are features now: a flat probability threshold.
    base = replace(near_duplicates.DEFAULT_RULE, short_penalty=0.0, min_shared=1, leader_share=0.0)

    def cluster(f, rule):
        return near_duplicates.find_duplicates(f.p.texts, features=f.p.x, meta=f.p.meta, rule=rule,
                                               rescore=f.rescore(model, mu, sd)).labels

    pooled = {t: sum(counts(f.p.truth, cluster(f, replace(base, threshold=t))) for f in train)
              for t in LEARNED_THRESHOLDS}
    t = pick(pooled, target)
    labels = cluster(test, replace(base, threshold=t))
    return {**figures(counts(test.p.truth, labels)), "polarity_merges": evaluation.polarity_merges(labels, test.p.meta),
            "threshold": float(t), "train": figures(pooled[t]),
            "coefficients": dict(zip(FEATURES, np.round(model.coef_[0] / sd, 4).tolist(), strict=True))}


def run(target: float = TARGET_PRECISION, learned: bool = False) -> dict:
    started, cpu0 = time.time(), time.process_time()
    data = {n: evaluation.read_labelled(evaluation.DATA_DIR / n) for n in FILES}
    folds = {}
    for held in FILES:
        folds[held] = f = one_fold(held, data, target)
        if learned:
            f["learned"] = learned_fold(held, data, target)
        print(f"held out {held} ({len(data[held])} items, {f['positive_pairs']} positive pairs):")
        kinds = [k for k in ("tuned", "fixed", "learned", "baseline") if k in f]
        for kind in kinds:
            print(f"  {kind:8s} {f[kind]}")
    out = {"folds": folds}
    for kind in kinds:
        for fig in ("precision", "recall", "f1", "polarity_merges"):
            values = [folds[h][kind][fig] for h in FILES]
            mean = int(sum(values)) if fig == "polarity_merges" else round(float(np.mean(values)), 4)
            out[f"{kind}_mean_{fig}"] = mean
    out["cpu_s"] = round(time.process_time() - cpu0, 1)
    out["wall_s"] = round(time.time() - started, 1)
    return out


def against(rev: str, target: float = TARGET_PRECISION) -> dict:
    """The same command on another revision's engine (its src/, this script and the current data files)."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="voice-lofo-") as tmp:
        # The revision's src/ as files (git archive): no worktree registered in the repository.
        archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        for n in FILES:  # the same development files for both
            (Path(tmp) / "src/diemcau/voice/data" / n).write_bytes((root / "src/diemcau/voice/data" / n).read_bytes())
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src")}
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--inner", "--target", str(target)],
                              env=env, check=True, capture_output=True, text=True)
        print(done.stdout.rstrip())
        return json.loads(done.stdout.strip().splitlines()[-1])


def summary(out: dict) -> dict:
    return {k: v for k, v in out.items() if k != "folds"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="also run another revision's engine (e.g. 053cabf)")
    parser.add_argument("--target", type=float, default=TARGET_PRECISION,
                        help="precision demanded on the two training files when choosing a threshold")
    parser.add_argument("--learned", action="store_true",
                        help="also a learned pair score (logistic regression over pair features), not shipped")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(f"loadavg {open('/proc/loadavg').read().split()[0]}")
    result = {}
    if args.against:
        print(f"== engine of {args.against}")
        result["before"] = summary(against(args.against, args.target))
        print("== this engine")
    out = run(args.target, args.learned)
    if args.inner:
        print(json.dumps(out))
        return
    result.update(summary(out))
    result["loadavg_end"] = float(open("/proc/loadavg").read().split()[0])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
