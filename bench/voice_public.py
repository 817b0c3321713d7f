"""Topic figures on a public corpus: UIT-VSFC (Vietnamese students' feedback), read at evaluation time.

Run from the repository root:
    DIEMCAU_VSFC=/path/to/corpus PYTHONPATH=src .venv/bin/python bench/voice_public.py
or  make bench-voice_public DIEMCAU_VSFC=/path/to/corpus   (or --corpus PATH)

The corpus is never committed (its licence is unknown): only the figures are recorded
(docs/BENCHMARKS.md). PATH is a clone of a public repository holding it — a working tree or a
bare git directory (read with ``git show HEAD:...``) — or a folder with ``train/``, ``dev/`` and
``test/``; each split has ``sents.txt`` and ``topics.txt`` (one sentence, one label a line; under
``data/raw/`` in a repository). Labels: 0 lecturer, 1 training programme, 2 facility, 3 others.

The product's way: a conference whose topic list holds the corpus's four topics, with their names and
Vietnamese keywords as an organiser would type them (:data:`CORPUS_TOPICS`); the training split's
labels are the moderators' choices, and the topic suggester is the one the product builds
(:func:`diemcau.voice.topics.learned_suggester`: keywords as a prior whose weight falls as labels
accumulate, a classifier learned from the labels). The baseline, in the same run and on the same
split: TF-IDF + logistic regression (:func:`diemcau.voice.evaluation.baseline_topics`). Both are
scored on the test split (accuracy, macro-F1) with their CPU seconds; a learning curve shows the
product after the first 0, 40, 400 and 4,000 labels (keywords alone at 0). The last line of stdout is
one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from threadpoolctl import threadpool_limits

from diemcau.voice import evaluation
from diemcau.voice.topics import Topic, TopicSuggester, learned_suggester

SPLITS = ("train", "dev", "test")
CURVE = (0, 40, 400, 4000)

# The conference's topic list: the corpus's labels as topics, named and given keywords in Vietnamese
# the way an organiser would (from the labels' meaning, not from the corpus's words).
CORPUS_TOPICS = (
    Topic("0", "Giảng viên", (
        "giảng viên", "thầy", "cô", "giảng dạy", "giảng bài", "nhiệt tình", "truyền đạt", "dễ hiểu",
        "giải đáp", "thắc mắc", "thân thiện", "đúng giờ", "phương pháp giảng dạy")),
    Topic("1", "Chương trình đào tạo", (
        "chương trình đào tạo", "môn học", "học phần", "tín chỉ", "giáo trình", "đề cương", "kiến thức",
        "bài tập", "lý thuyết", "thực hành", "đề thi", "kiểm tra", "thời lượng", "tài liệu")),
    Topic("2", "Cơ sở vật chất", (
        "cơ sở vật chất", "phòng học", "phòng máy", "máy chiếu", "wifi", "mạng", "thiết bị", "máy lạnh",
        "quạt", "micro", "loa", "bàn ghế", "thư viện", "ký túc xá")),
    Topic("3", "Khác", (
        "nhà trường", "sinh viên", "học phí", "thủ tục", "đăng ký", "lịch học", "hoạt động", "ý kiến khác")),
)


class CorpusMissing(Exception):
    pass


def _git_dir(path: Path) -> Path | None:
    """The git directory of ``path`` if it is a bare repository or a clone, else None."""
    if (path / "HEAD").is_file() and (path / "objects").is_dir():
        return path
    if (path / ".git").exists():
        return path / ".git"
    return None


def _reader(path: Path):
    """A function (split, file name) → the file's lines, for a git directory or a folder."""
    git = _git_dir(path)
    if git is not None:
        def read(split: str, name: str) -> list[str]:
            out = subprocess.run(["git", f"--git-dir={git}", "show", f"HEAD:data/raw/{split}/{name}"],
                                 capture_output=True, text=True, check=False)
            if out.returncode:
                raise CorpusMissing(f"{path}: no data/raw/{split}/{name} at HEAD ({out.stderr.strip()})")
            return out.stdout.splitlines()
        return read
    base = path / "data" / "raw" if (path / "data" / "raw").is_dir() else path

    def read(split: str, name: str) -> list[str]:
        file = base / split / name
        if not file.is_file():
            raise CorpusMissing(f"{path}: no {split}/{name} (expected the corpus's train/, dev/ and test/)")
        return file.read_text(encoding="utf-8").splitlines()
    return read


def load_corpus(path: str | None) -> dict[str, tuple[list[str], np.ndarray]]:
    """Each split's sentences and topic labels, checked: the same number of each, known labels."""
    if not path:
        raise CorpusMissing("UIT-VSFC is not here: give its path with --corpus PATH or DIEMCAU_VSFC=PATH "
                            "(a clone of a public repository holding it, or a folder with train/, dev/, test/). "
                            "It is read at evaluation time and never committed: its licence is unknown.")
    root = Path(path)
    if not root.exists():
        raise CorpusMissing(f"UIT-VSFC: {root} does not exist")
    read = _reader(root)
    out = {}
    keys = {t.key for t in CORPUS_TOPICS}
    for split in SPLITS:
        texts, labels = read(split, "sents.txt"), [s.strip() for s in read(split, "topics.txt")]
        if len(texts) != len(labels) or not texts:
            raise CorpusMissing(f"UIT-VSFC {split}: {len(texts)} sentences but {len(labels)} topics")
        unknown = set(labels) - keys
        if unknown:
            raise CorpusMissing(f"UIT-VSFC {split}: unknown topic labels {sorted(unknown)}")
        out[split] = (texts, np.array(labels))
    return out


def scores(truth: np.ndarray, predicted) -> dict:
    predicted = np.asarray(predicted)
    return {"accuracy": round(float(accuracy_score(truth, predicted)), 4),
            "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4)}


def product(train_texts, train_labels, test_texts) -> tuple[list[str], float]:
    """The product's suggester learned from these labels: its best topic for each test text."""
    suggester = learned_suggester(CORPUS_TOPICS, train_texts, list(train_labels))
    keys, _ = suggester.predict(test_texts)
    return keys, suggester.current_keyword_weight()


def loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", default=os.environ.get("DIEMCAU_VSFC"),
                        help="the corpus: a clone or bare git directory of a repository holding it, or a folder")
    parser.add_argument("--split", default="test", choices=("dev", "test"), help="the split scored (default test)")
    args = parser.parse_args(argv)
    data = load_corpus(args.corpus)
    (tr_x, tr_y), (te_x, te_y) = data["train"], data[args.split]
    print(f"UIT-VSFC: {len(tr_x):,} training, {len(data['dev'][0]):,} dev, {len(data['test'][0]):,} test "
          f"sentences; scored on {args.split}")
    load_start = loadavg()
    figures: dict = {"corpus": "UIT-VSFC", "train": len(tr_x), "scored_on": args.split, "scored": len(te_x)}
    with threadpool_limits(1):
        c0 = time.process_time()
        base = evaluation.baseline_topics(tr_x, tr_y, te_x)
        figures["baseline_cpu_s"] = round(time.process_time() - c0, 2)
        c0 = time.process_time()
        ours, weight = product(tr_x, tr_y, te_x)
        figures["product_cpu_s"] = round(time.process_time() - c0, 2)
        base_s, ours_s = scores(te_y, base), scores(te_y, ours)
        print(f"  TF-IDF + logistic regression: accuracy {base_s['accuracy']:.4f}, macro-F1 "
              f"{base_s['macro_f1']:.4f} ({figures['baseline_cpu_s']} s CPU)")
        print(f"  the product (keywords weight {weight:.2g} after all labels): accuracy {ours_s['accuracy']:.4f}, "
              f"macro-F1 {ours_s['macro_f1']:.4f} ({figures['product_cpu_s']} s CPU)")
        figures.update({f"baseline_{k}": v for k, v in base_s.items()})
        figures.update({f"product_{k}": v for k, v in ours_s.items()})
        # The product as labels accumulate (the first n of the training split, in its order).
        for n in CURVE:
            if n == 0:
                keys, _ = TopicSuggester(CORPUS_TOPICS).predict(te_x)  # keywords alone: nothing learned yet
            else:
                keys, _ = product(tr_x[:n], tr_y[:n], te_x)
            curve = scores(te_y, keys)
            figures[f"product_accuracy_{n}_labels"] = curve["accuracy"]
            print(f"    after {n:>5} labels: accuracy {curve['accuracy']:.4f}, macro-F1 {curve['macro_f1']:.4f}")
    figures["matches_baseline"] = (figures["product_accuracy"] >= figures["baseline_accuracy"]
                                   and figures["product_macro_f1"] >= figures["baseline_macro_f1"])
    figures["loadavg_start"], figures["loadavg_end"] = load_start, loadavg()
    print(json.dumps(figures, ensure_ascii=False))
    return figures


if __name__ == "__main__":
    try:
        main()
    except CorpusMissing as missing:
        print(f"bench/voice_public.py: {missing}", file=sys.stderr)
        sys.exit(2)
