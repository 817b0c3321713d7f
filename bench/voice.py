"""Benchmark of the voice engine: duplicates, topics and opinion groups, each against a baseline.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/voice.py [--quick]

1. On the labelled set (src/diemcau/voice/data/labelled_items.jsonl), split by family (a duplicate
   group with its negated counterparts; 70 % train = data/eval_train.tsv, 30 % held out =
   data/eval_heldout.tsv, seed 0): the duplicate threshold is swept on the training split (the
   lowest with pairwise precision ≥ 0.95 is the rule behind near_duplicates.DEFAULT_THRESHOLD);
   on the held-out split, `manage.py voice_eval`'s figures (the product's merge path, polarity
   merges, grouped 5-fold topic accuracy, TF-IDF baselines); topic accuracy on the held-out split
   after training on the training split, against TF-IDF + logistic regression trained the same
   way. Baseline of old, in the same run: TF-IDF + k-means; for duplicates k = items / mean group
   size of the training split, for topics each k-means cluster maps to the majority topic of its
   training items (k = 1, 2 and 3 × topics; the best is reported).
2. Scale: 100,000 items (20,000 with --quick) made by perturbing labelled items (diacritics
   stripped, typos, adjacent words swapped, greetings added, a clause of another item mixed in),
   featurized, deduplicated and topic-suggested, timed; pairwise precision/recall against the
   items' duplicate groups. Then the realistic set of bench/voice_realistic.py (reworded,
   shortened, negated, without diacritics, with typos), featurized and deduplicated, timed
   (dedupe_100k_real_s), with pairwise figures and the polarity merges.
3. Opinion groups: 1.6 million participants × 2,000 statements (100,000 with --quick), each voting
   on 20-40 statements, four planted groups; generation and analysis timed, adjusted Rand index
   against the planted groups and against the Bayes-optimal assignment (the ceiling).

The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import unicodedata

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import pair_confusion_matrix
from threadpoolctl import threadpool_limits

from diemcau.core.acting import system_scope
from diemcau.voice import evaluation
from diemcau.voice.groups import find_opinion_groups, oracle_labels, simulate_votes
from diemcau.voice.near_duplicates import DEFAULT_RULE, DEFAULT_THRESHOLD, MatchRule, find_duplicates
from diemcau.voice.textsim import Featurizer, load_labelled_items
from diemcau.voice.topics import DEFAULT_TOPICS, Topic, TopicSuggester
from voice_realistic import realistic_items

SEED = 0


def pairwise(truth, predicted) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against the true groups."""
    (_, fp), (fn, tp) = pair_confusion_matrix(np.asarray(truth), np.asarray(predicted))
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0




def kmeans(k: int, x):
    """The baseline's k-means labels (one OpenMP thread: faster on small data and a shared machine)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return KMeans(k, n_init=10, random_state=SEED).fit_predict(x)


def labelled_set_figures(items) -> dict:
    """Duplicates and topics on the labelled set, ours and the TF-IDF + k-means baseline."""
    train, test = evaluation.split_labelled(items)
    tr_texts, te_texts = [r["text"] for r in train], [r["text"] for r in test]
    tr_groups, te_groups = [r["group"] for r in train], [r["group"] for r in test]

    # Threshold swept on the training split (the rest of the rule as in DEFAULT_RULE).
    feat_train, x_train, m_train = Featurizer.fit_transform_meta(tr_texts)
    sweep = {}
    for th in np.round(np.arange(0.25, 0.61, 0.025), 3):
        rule = MatchRule(float(th), DEFAULT_RULE.short_penalty, DEFAULT_RULE.full_length, DEFAULT_RULE.min_shared,
                         DEFAULT_RULE.leader_share)
        p, r = pairwise(tr_groups, find_duplicates(tr_texts, features=x_train, meta=m_train, rule=rule).labels)
        sweep[float(th)] = (p, r, f1(p, r))
    # The rule that set near_duplicates.DEFAULT_THRESHOLD: the lowest threshold with precision ≥ 0.95.
    best_th = min((t for t in sweep if sweep[t][0] >= 0.95), default=max(sweep))
    f1_th = max(sweep, key=lambda t: (sweep[t][2], t))

    # Held out: through the product's path (the default featurizer is fitted on the training split).
    held = evaluation.read_labelled(evaluation.EVAL_HELDOUT)
    eval_fig = evaluation.evaluate(held)
    x_test, m_test = feat_train.transform_meta(te_texts)
    labels = find_duplicates(te_texts, features=x_test, meta=m_test).labels
    dup_p, dup_r = pairwise(te_groups, labels)
    f1_rule = MatchRule(f1_th, DEFAULT_RULE.short_penalty, DEFAULT_RULE.full_length, DEFAULT_RULE.min_shared,
                        DEFAULT_RULE.leader_share)
    f1_p, f1_r = pairwise(te_groups, find_duplicates(te_texts, features=x_test, meta=m_test, rule=f1_rule).labels)

    # Recall split: variants of one handwritten text (diacritics, typos, order) vs rewordings.
    roots = np.array([r["source"] or r["id"] for r in test])
    g = np.array(te_groups)
    iu = np.triu_indices(len(test), 1)
    same = g[iu[0]] == g[iu[1]]
    surface = same & (roots[iu[0]] == roots[iu[1]])
    together = labels[iu[0]] == labels[iu[1]]
    surface_recall = (together & surface).sum() / max(surface.sum(), 1)
    reworded_recall = (together & same & ~surface).sum() / max((same & ~surface).sum(), 1)

    # Baseline duplicates: TF-IDF + k-means with k from the training split's mean group size.
    mean_size = len(train) / len(set(tr_groups))
    tfidf = TfidfVectorizer().fit(tr_texts + te_texts)
    k_dup = max(2, round(len(test) / mean_size))
    base_labels = kmeans(k_dup, tfidf.transform(te_texts))
    base_p, base_r = pairwise(te_groups, base_labels)

    # Topics: ours (keywords + labels), keywords only, labels only (topics reduced to their names).
    feat = feat_train
    tr_topics = [r["topic"] for r in train]
    lr_pred = evaluation.baseline_topics(tr_texts, np.array(tr_topics), te_texts)
    lr_acc = float(np.mean([p == r["topic"] for p, r in zip(lr_pred, test, strict=True)]))
    half_life = {}
    for hl in (0.0, 50.0, 200.0):
        s = TopicSuggester(DEFAULT_TOPICS, feat, keyword_half_life=hl).fit(tr_texts, tr_topics)
        keys, _ = s.predict(te_texts)
        half_life[hl] = float(np.mean([k == r["topic"] for k, r in zip(keys, test, strict=True)]))

    def accuracy(suggester) -> float:
        keys, _ = suggester.predict(te_texts)
        return float(np.mean([k == r["topic"] for k, r in zip(keys, test, strict=True)]))

    suggester = TopicSuggester(DEFAULT_TOPICS, feat).fit(tr_texts, tr_topics)
    acc = accuracy(suggester)
    scores = suggester.scores(te_texts)
    top3 = float(np.mean([suggester.index[r["topic"]] in np.argsort(-row)[:3]
                          for r, row in zip(test, scores, strict=True)]))
    acc_keywords = accuracy(TopicSuggester(DEFAULT_TOPICS, feat))
    names_only = [Topic(t.key, t.name) for t in DEFAULT_TOPICS]
    acc_labels = accuracy(TopicSuggester(names_only, feat, keyword_weight=0.0).fit(tr_texts, tr_topics))

    # Baseline topics: k-means clusters mapped to the majority training topic.
    x_all = tfidf.transform(tr_texts + te_texts)
    base_topic = {}
    for mult in (1, 2, 3):
        k = mult * len(DEFAULT_TOPICS)
        cl = kmeans(k, x_all)
        majority = {}
        for c in range(k):
            members = [tr_topics[i] for i in np.flatnonzero(cl[:len(train)] == c)]
            # Ties go to the alphabetically first topic: set order would change from run to run.
            majority[c] = min(set(members), key=lambda t: (-members.count(t), t)) if members else None
        predicted = [majority[c] for c in cl[len(train):]]
        base_topic[k] = float(np.mean([p == r["topic"] for p, r in zip(predicted, test, strict=True)]))
    return {
        "n_train": len(train), "n_test": len(test), "threshold": best_th, "f1_threshold": f1_th,
        "sweep": sweep, "dup_precision": dup_p, "dup_recall": dup_r, "dup_precision_f1": f1_p,
        "dup_recall_f1": f1_r, "dup_recall_variants": float(surface_recall),
        "dup_recall_reworded": float(reworded_recall),
        "baseline_dup_precision": base_p, "baseline_dup_recall": base_r, "baseline_dup_k": k_dup,
        "topic_accuracy": acc, "topic_top3": top3, "topic_accuracy_keywords": acc_keywords,
        "topic_accuracy_labels": acc_labels, "baseline_topic_by_k": base_topic,
        "baseline_topic_accuracy": max(base_topic.values()), "lr_topic_accuracy": lr_acc,
        "topic_by_half_life": half_life, "eval": eval_fig,
    }


GREETINGS = ["Kính gửi Bộ trưởng, ", "Thưa Bộ trưởng, ", "Em là giáo viên mầm non ở Ba Vì, ",
             "Tôi là hiệu trưởng một trường vùng cao, ", "Xin hỏi Bộ trưởng: ", "Kính thưa Bộ trưởng, "]
SIGN_OFFS = [" Xin cảm ơn Bộ trưởng.", " Mong Bộ trưởng trả lời.", " Trân trọng cảm ơn."]


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    out = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return out.replace("đ", "d").replace("Đ", "D")


def perturbed_items(items, n: int, seed: int = SEED) -> tuple[list[str], np.ndarray, list[str]]:
    """n texts made from labelled items, with their duplicate group ids and topics."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, len(items), n)
    other = rng.integers(0, len(items), n)
    u = rng.random((n, 6))
    texts = []
    for i, b in enumerate(base):
        words = items[b]["text"].split()
        if u[i, 0] < 0.4:
            words = strip_marks(" ".join(words)).split()
        for _ in range(int(u[i, 1] * 3)):  # 0-2 typos: two letters swapped
            j = int(rng.integers(len(words)))
            w = words[j]
            if len(w) > 3:
                c = int(rng.integers(len(w) - 1))
                words[j] = w[:c] + w[c + 1] + w[c] + w[c + 2:]
        if u[i, 2] < 0.3 and len(words) > 3:
            j = int(rng.integers(len(words) - 1))
            words[j], words[j + 1] = words[j + 1], words[j]
        text = " ".join(words)
        if u[i, 3] < 0.3:
            text = GREETINGS[int(u[i, 3] * 100) % len(GREETINGS)] + text
        if u[i, 4] < 0.2:
            text += SIGN_OFFS[int(u[i, 4] * 100) % len(SIGN_OFFS)]
        if u[i, 5] < 0.05:  # mixing: a clause of another concern tacked on
            clause = items[other[i]]["text"].split(",")[0].rstrip(".?!")
            text = f"{text.rstrip('.?!')}. Ngoài ra, {clause[:1].lower()}{clause[1:]}."
        texts.append(text)
    groups = np.unique([items[b]["group"] for b in base], return_inverse=True)[1]
    return texts, groups, [items[b]["topic"] for b in base]


def scale_figures(items, n: int) -> dict:
    """Featurize, deduplicate and topic-suggest n perturbed items, timed."""
    texts, groups, topics = perturbed_items(items, n)
    suggester = TopicSuggester(DEFAULT_TOPICS).fit([r["text"] for r in items], [r["topic"] for r in items])
    t0 = time.perf_counter()
    feat, x = Featurizer.fit_transform(texts)
    t1 = time.perf_counter()
    clusters = find_duplicates(texts, features=x)
    t2 = time.perf_counter()
    # Topic suggestion of a conference's items with the suggester trained on the labelled set,
    # reusing the feature rows (the conference's own featurizer) of deduplication.
    suggester.use_featurizer(feat)
    keys, _ = suggester.predict(features=x)
    t3 = time.perf_counter()
    p, r = pairwise(groups, clusters.labels)
    return {
        "n_items": n, "featurize_s": t1 - t0, "dedupe_s": t2 - t1, "topics_s": t3 - t2, "total_s": t3 - t0,
        "clusters": clusters.n_clusters, "precision": p, "recall": r,
        "topic_accuracy": float(np.mean([k == t for k, t in zip(keys, topics, strict=True)])),
    }


def realistic_figures(n: int) -> dict:
    """Featurize and deduplicate n realistic items (bench/voice_realistic.py), timed."""
    texts, groups, _topics = realistic_items(n)
    load_start = loadavg()
    c0, t0 = time.process_time(), time.perf_counter()
    _feat, x, meta = Featurizer.fit_transform_meta(texts)
    t1 = time.perf_counter()
    clusters = find_duplicates(texts, features=x, meta=meta)
    c2, t2 = time.process_time(), time.perf_counter()
    truth = np.unique(np.asarray(groups), return_inverse=True)[1]
    fig = evaluation.pair_figures(truth, clusters.labels)
    # CPU seconds beside wall seconds: on a shared machine the wall clock measures the neighbours too.
    return {"n_items": n, "featurize_s": t1 - t0, "dedupe_s": t2 - t1, "total_s": t2 - t0, "cpu_s": c2 - c0,
            "clusters": clusters.n_clusters, "precision": fig["precision"], "recall": fig["recall"],
            "polarity_merges": evaluation.polarity_merges(clusters.labels, meta),
            "distinct_texts": len(set(texts)), "loadavg_start": load_start, "loadavg_end": loadavg()}


def loadavg() -> float:
    """The 1-minute load average: on a shared 2-core machine the wall clock measures the neighbours too."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def groups_figures(n: int, m: int = 2000) -> dict:
    """Opinion groups of n participants × m statements with four planted groups, timed."""
    t0 = time.perf_counter()
    sim = simulate_votes(n, m, seed=SEED)
    t1 = time.perf_counter()
    last = [0.0]

    def progress(done, total, message):
        now = time.perf_counter()
        if now - last[0] > 15 or done == total:
            print(f"    {done:3d}/{total} {message} ({now - t1:.0f} s)", file=sys.stderr, flush=True)
            last[0] = now

    result = find_opinion_groups(sim.votes, progress=progress, seed=SEED)
    t2 = time.perf_counter()
    found = {c.statement for c in result.consensus}
    return {
        "participants": n, "statements": m, "votes": int(sim.votes.matrix.nnz), "generate_s": t1 - t0,
        "groups_s": t2 - t1, "k": result.k, "ari": adjusted_rand_score(sim.groups, result.labels),
        "ari_ceiling": adjusted_rand_score(sim.groups, oracle_labels(sim)),
        "components": int(result.components.shape[1]), "silhouettes": result.silhouettes,
        "consensus_precision": len(found & set(sim.consensus.tolist())) / max(len(found), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k items and 100k participants")
    parser.add_argument("--only-real", type=int, metavar="N", help="only the realistic set of N items")
    args = parser.parse_args()
    if args.only_real:
        rl = realistic_figures(args.only_real)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rl.items()}))
        return
    n_items = 20_000 if args.quick else 100_000
    n_participants = 100_000 if args.quick else 1_600_000

    items = load_labelled_items()
    print(f"Labelled set: {len(items)} items, {len({r['group'] for r in items})} duplicate groups, "
          f"{len({r['topic'] for r in items})} topics", flush=True)
    lab = labelled_set_figures(items)
    print(f"\nDuplicates, threshold chosen on the training split ({lab['n_train']} items): the lowest "
          f"with precision ≥ 0.95 (<), the default {DEFAULT_THRESHOLD}; F1's best (*)")
    for th, (p, r, f) in lab["sweep"].items():
        mark = " <" if th == lab["threshold"] else (" *" if th == lab["f1_threshold"] else "")
        print(f"  {th:5.3f}  precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}{mark}")
    rows = [
        (f"duplicates: precision / recall at {lab['threshold']}",
         f"{lab['dup_precision']:.3f} / {lab['dup_recall']:.3f}",
         f"{lab['baseline_dup_precision']:.3f} / {lab['baseline_dup_recall']:.3f}"),
        (f"  at F1's best threshold {lab['f1_threshold']}",
         f"{lab['dup_precision_f1']:.3f} / {lab['dup_recall_f1']:.3f}", ""),
        ("  recall: diacritics/typo/order variants", f"{lab['dup_recall_variants']:.3f}", ""),
        ("  recall: reworded paraphrases", f"{lab['dup_recall_reworded']:.3f}", ""),
        ("topics: accuracy", f"{lab['topic_accuracy']:.3f}", f"{lab['baseline_topic_accuracy']:.3f}"),
        ("  TF-IDF + logistic regression", "", f"{lab['lr_topic_accuracy']:.3f}"),
        ("  keyword half-life 0 (fixed) / 50 / 200", " / ".join(f"{v:.3f}" for v in lab["topic_by_half_life"].values()),
         ""),
        ("  top-3 accuracy", f"{lab['topic_top3']:.3f}", ""),
        ("  keywords only (cold start)", f"{lab['topic_accuracy_keywords']:.3f}", ""),
        ("  labels only, topics without keywords", f"{lab['topic_accuracy_labels']:.3f}", ""),
        ("  baseline by k", "", " ".join(f"k={k}:{v:.3f}" for k, v in lab["baseline_topic_by_k"].items())),
    ]
    print(f"\nHeld-out split ({lab['n_test']} items)          voice engine       TF-IDF + k-means")
    for name, ours, base in rows:
        print(f"  {name:42s} {ours:18s} {base}")

    ev = lab["eval"]
    print(f"\nvoice_eval on data/eval_heldout.tsv (the product's merge path): {json.dumps(ev, ensure_ascii=False)}")

    print(f"\nScale: {n_items:,} perturbed items", flush=True)
    sc = scale_figures(items, n_items)
    print(f"  featurize {sc['featurize_s']:.1f} s, deduplicate {sc['dedupe_s']:.1f} s, "
          f"suggest topics {sc['topics_s']:.1f} s: total {sc['total_s']:.1f} s (target < 60 s)")
    print(f"  {sc['clusters']:,} clusters; pairwise precision {sc['precision']:.3f}, "
          f"recall {sc['recall']:.3f}; topic accuracy {sc['topic_accuracy']:.3f}")

    print(f"\nScale, realistic: {n_items:,} items of bench/voice_realistic.py", flush=True)
    rl = realistic_figures(n_items)
    print(f"  featurize {rl['featurize_s']:.1f} s, deduplicate {rl['dedupe_s']:.1f} s: "
          f"total {rl['total_s']:.1f} s (target ≤ 60 s; {rl['cpu_s']:.1f} s of CPU; load average "
          f"{rl['loadavg_start']} at the start, {rl['loadavg_end']} at the end)")
    print(f"  {rl['clusters']:,} clusters; pairwise precision {rl['precision']:.3f}, recall {rl['recall']:.3f}; "
          f"merges across polarity {rl['polarity_merges']}")

    print(f"\nOpinion groups: {n_participants:,} participants × 2,000 statements", flush=True)
    gr = groups_figures(n_participants)
    print(f"  {gr['votes']:,} votes generated in {gr['generate_s']:.1f} s; "
          f"analysed in {gr['groups_s']:.1f} s (target < 600 s)")
    sil = ", ".join(f"{k}: {v:.3f}" for k, v in gr["silhouettes"].items())
    print(f"  k = {gr['k']} (silhouettes {sil}), {gr['components']} components")
    print(f"  ARI {gr['ari']:.3f} (Bayes-optimal ceiling {gr['ari_ceiling']:.3f}); "
          f"consensus statements found that were planted: {gr['consensus_precision']:.0%}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak memory {peak:.0f} MiB")
    print(json.dumps({
        "quick": args.quick,
        "dup_precision": round(lab["dup_precision"], 4), "dup_recall": round(lab["dup_recall"], 4),
        "dup_threshold": lab["threshold"],
        "baseline_dup_precision": round(lab["baseline_dup_precision"], 4),
        "baseline_dup_recall": round(lab["baseline_dup_recall"], 4),
        "topic_accuracy": round(lab["topic_accuracy"], 4),
        "baseline_topic_accuracy": round(lab["baseline_topic_accuracy"], 4),
        "topic_accuracy_keywords": round(lab["topic_accuracy_keywords"], 4),
        "topic_accuracy_labels": round(lab["topic_accuracy_labels"], 4),
        "heldout_dup_precision": ev["dup_precision"], "heldout_dup_recall": ev["dup_recall"],
        "heldout_dup_f1": ev["dup_f1"], "polarity_merges": ev["polarity_merges"],
        "heldout_topic_cv_accuracy": ev["topic_accuracy"],
        "baseline_tfidf_dup_f1": ev["baseline_dup_f1"],
        "baseline_tfidf_polarity_merges": ev["baseline_polarity_merges"],
        "lr_topic_accuracy": round(lab["lr_topic_accuracy"], 4),
        "items": n_items, "dedupe_100k_s": round(sc["total_s"], 2),
        "dedupe_100k_real_s": round(rl["total_s"], 2), "dedupe_100k_real_cpu_s": round(rl["cpu_s"], 2),
        "real_loadavg_start": rl["loadavg_start"], "real_loadavg_end": rl["loadavg_end"],
        "real_dup_precision": round(rl["precision"], 4),
        "real_dup_recall": round(rl["recall"], 4), "real_polarity_merges": rl["polarity_merges"],
        "scale_dup_precision": round(sc["precision"], 4), "scale_dup_recall": round(sc["recall"], 4),
        "scale_topic_accuracy": round(sc["topic_accuracy"], 4),
        "participants": n_participants, "groups_generate_s": round(gr["generate_s"], 2),
        "groups_s": round(gr["groups_s"], 2), "groups_k": gr["k"], "groups_ari": round(gr["ari"], 4),
        "groups_ari_ceiling": round(gr["ari_ceiling"], 4), "peak_mib": round(peak),
    }, ensure_ascii=False))


if __name__ == "__main__":
    # Benchmarks drive the services as support staff would: as the system (the scope guard, docs/ARCHITECTURE.md).
    with system_scope("benchmark: the text engine on the labelled items"):
        main()
