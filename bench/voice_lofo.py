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

The same is done for the shipped rule unchanged (``fixed``: DEFAULT_RULE's own threshold, only the
featurizer refitted) and for the TF-IDF cosine baseline of ``voice_eval`` (its threshold chosen the
same way). The curated lists (synonyms, set phrases, polarity cues) are not refitted: they are part
of the engine. ``eval_heldout3.tsv`` is never read here.

``--against REV`` runs the same command on another revision's engine (a ``git worktree`` of REV in
a temporary directory, this script unchanged) and prints both.

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

FILES = ("eval_train.tsv", "eval_heldout.tsv", "eval_heldout2.tsv")
TARGET_PRECISION = 0.95
THRESHOLDS = [round(t, 3) for t in np.arange(0.20, 0.60 + 1e-9, 0.01)]
BASELINE_THRESHOLDS = [round(t, 3) for t in np.arange(0.30, 0.90 + 1e-9, 0.025)]


def counts(truth: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(true positive, false positive, false negative) pairs."""
    f = evaluation.pair_figures(truth, labels)
    tp = round(f["precision"] * f["pairs_predicted"])
    return np.array([tp, f["pairs_predicted"] - tp, f["pairs_true"] - tp])


def figures(c: np.ndarray) -> dict:
    tp, fp, fn = (int(v) for v in c)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


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


def one_fold(held: str, data: dict) -> dict:
    train_names = [n for n in FILES if n != held]
    featurizer = textsim.Featurizer.fit([i.text for n in train_names for i in data[n]])
    train = [Prepared(data[n], featurizer) for n in train_names]
    test = Prepared(data[held], featurizer)
    rules = rule_grid(near_duplicates.DEFAULT_RULE)
    pooled = {rule: sum(counts(p.truth, p.cluster(rule)) for p in train) for rule in rules}
    chosen = pick(pooled)
    out = {}
    for name, rule in (("tuned", chosen), ("fixed", near_duplicates.DEFAULT_RULE)):
        labels = test.cluster(rule)
        out[name] = {**figures(counts(test.truth, labels)),
                     "polarity_merges": evaluation.polarity_merges(labels, test.meta),
                     "threshold": float(rule.threshold)}
    out["tuned"]["train"] = figures(pooled[chosen])
    base_pooled = {t: sum(counts(p.truth, evaluation.baseline_duplicates(p.texts, t)) for p in train)
                   for t in BASELINE_THRESHOLDS}
    t = pick(base_pooled)
    labels = evaluation.baseline_duplicates(test.texts, t)
    out["baseline"] = {**figures(counts(test.truth, labels)),
                       "polarity_merges": evaluation.polarity_merges(labels, test.meta), "threshold": float(t)}
    out["positive_pairs"] = int(counts(test.truth, np.arange(len(test.texts)))[2])
    return out


def run() -> dict:
    started, cpu0 = time.time(), time.process_time()
    data = {n: evaluation.read_labelled(evaluation.DATA_DIR / n) for n in FILES}
    folds = {}
    for held in FILES:
        folds[held] = f = one_fold(held, data)
        print(f"held out {held} ({len(data[held])} items, {f['positive_pairs']} positive pairs):")
        for kind in ("tuned", "fixed", "baseline"):
            print(f"  {kind:8s} {f[kind]}")
    out = {"folds": folds}
    for kind in ("tuned", "fixed", "baseline"):
        for fig in ("precision", "recall", "f1", "polarity_merges"):
            values = [folds[h][kind][fig] for h in FILES]
            out[f"{kind}_mean_{fig}"] = round(float(np.mean(values)), 4) if fig != "polarity_merges" else int(sum(values))
    out["cpu_s"] = round(time.process_time() - cpu0, 1)
    out["wall_s"] = round(time.time() - started, 1)
    return out


def against(rev: str) -> dict:
    """The same command on another revision's engine (its src/, this script and the current data files)."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="voice-lofo-") as tmp:
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", tmp, rev], check=True,
                       capture_output=True)
        try:
            for n in FILES:  # the same development files for both
                (Path(tmp) / "src/diemcau/voice/data" / n).write_bytes((root / "src/diemcau/voice/data" / n).read_bytes())
            env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src")}
            done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--inner"], env=env, check=True,
                                  capture_output=True, text=True)
            print(done.stdout.rstrip())
            return json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", tmp], check=False,
                           capture_output=True)


def summary(out: dict) -> dict:
    return {k: v for k, v in out.items() if k != "folds"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="also run another revision's engine (e.g. 053cabf)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(f"loadavg {open('/proc/loadavg').read().split()[0]}")
    result = {}
    if args.against:
        print(f"== engine of {args.against}")
        result["before"] = summary(against(args.against))
        print("== this engine")
    out = run()
    if args.inner:
        print(json.dumps(out))
        return
    result.update(summary(out))
    result["loadavg_end"] = float(open("/proc/loadavg").read().split()[0])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
