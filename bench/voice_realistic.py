"""A realistic set of teachers' opinions for the voice benchmark: variations of the labelled items.

Run from the repository root:  PYTHONPATH=src .venv/bin/python bench/voice_realistic.py [N] [OUT.tsv]
(writes a ``voice_eval`` file; bench/voice.py imports :func:`realistic_items` directly).

Each item starts from a handwritten item of the labelled set (an original or a rewording, so whole
paraphrases are in the mix) and goes through what people do when they type on a phone, each with
its own probability: **reworded** (common synonyms and formulas swapped: "giáo viên" → "thầy cô",
"đề nghị" → "kiến nghị", "không đủ" → "thiếu", ...), **shortened** (only the first clause, or the
last one dropped), **negated** (a negation put before the first predicate: "được" → "không được",
"cần" → "không cần"; such an item says the opposite and belongs to the negated group of its
source, never to its source's), **without diacritics**, **with typos** (letters swapped, dropped
or doubled), a greeting or a sign-off. Not the templates of bench/voice.py's perturbed set.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import numpy as np

from diemcau.voice.textsim import load_labelled_items

# Rewordings a teacher might use for the same thing (both directions are applied at random).
REWORDINGS = [
    ("giáo viên", "thầy cô"), ("giáo viên", "nhà giáo"), ("đề nghị", "kiến nghị"), ("đề nghị", "mong"),
    ("học sinh", "các em"), ("học sinh", "học trò"), ("thành phố", "đô thị"), ("không đủ", "thiếu"),
    ("rất", "quá"), ("nhiều", "rất nhiều"), ("tăng", "nâng"), ("giảm", "cắt giảm"), ("Bộ", "Bộ GD&ĐT"),
    ("trường học", "nhà trường"), ("phụ huynh", "cha mẹ học sinh"), ("hồ sơ", "giấy tờ"),
    ("hiện nay", "bây giờ"), ("cần", "cần phải"), ("sử dụng", "dùng"), ("vùng sâu, vùng xa", "vùng khó khăn"),
]
# Predicates before which a negation is put; the first found in the text is negated.
PREDICATES = ["được", "có", "cần", "nên", "phải", "đủ", "tăng", "giảm", "quá", "bị", "thiếu"]
GREETINGS = ["Kính gửi Bộ trưởng, ", "Thưa Bộ trưởng, ", "Em là giáo viên ở Sơn La, ", "Cho em hỏi: ",
             "Tôi là hiệu trưởng trường tiểu học, ", "Kính thưa lãnh đạo Bộ, "]
SIGN_OFFS = [" Em cảm ơn ạ.", " Mong được trả lời.", " Trân trọng."]


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    out = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return out.replace("đ", "d").replace("Đ", "D")


def reword(text: str, rng) -> str:
    for a, b in REWORDINGS:
        if rng.random() < 0.5:
            a, b = b, a
        if a in text and rng.random() < 0.6:
            text = text.replace(a, b, 1)
    return text


def shorten(text: str, rng) -> str:
    clauses = [c.strip() for c in re.split(r"[,;]", text.rstrip(".?!")) if c.strip()]
    if len(clauses) < 2:
        return text
    kept = clauses[:1] if rng.random() < 0.5 else clauses[:-1]
    return ", ".join(kept) + "."


def negate(text: str) -> str | None:
    words = text.split(" ")
    for i, w in enumerate(words):
        if w.strip(",.").lower() in PREDICATES and (i == 0 or words[i - 1].lower() not in ("không", "chưa")):
            return " ".join([*words[:i], "không", *words[i:]])
    return None


def typos(text: str, rng, n: int) -> str:
    words = text.split(" ")
    for _ in range(n):
        j = int(rng.integers(len(words)))
        w = words[j]
        if len(w) < 4:
            continue
        c = int(rng.integers(len(w) - 1))
        kind = rng.random()
        if kind < 0.4:
            w = w[:c] + w[c + 1] + w[c] + w[c + 2:]
        elif kind < 0.7:
            w = w[:c] + w[c + 1:]
        else:
            w = w[:c] + w[c] + w[c:]
        words[j] = w
    return " ".join(words)


def realistic_items(n: int, seed: int = 1, items: list[dict] | None = None
                    ) -> tuple[list[str], list[str], list[str]]:
    """n texts with their duplicate groups (a negated text: its source's group + "¬") and topics."""
    items = items or load_labelled_items()
    bases = [r for r in items if r["variant"] in ("original", "reworded")]
    rng = np.random.default_rng(seed)
    texts, groups, topics = [], [], []
    for b in rng.integers(0, len(bases), n):
        base = bases[b]
        text, group = base["text"], base["group"]
        if rng.random() < 0.5:
            text = reword(text, rng)
        if rng.random() < 0.25:
            text = shorten(text, rng)
        if rng.random() < 0.1:
            negated = negate(text)
            if negated:
                text, group = negated, group + "¬"
        if rng.random() < 0.2:
            text = GREETINGS[int(rng.integers(len(GREETINGS)))] + text[:1].lower() + text[1:]
        if rng.random() < 0.1:
            text += SIGN_OFFS[int(rng.integers(len(SIGN_OFFS)))]
        if rng.random() < 0.4:
            text = strip_marks(text)
            if rng.random() < 0.5:
                text = text.lower()
        if rng.random() < 0.4:
            text = typos(text, rng, int(rng.integers(1, 3)))
        texts.append(text)
        groups.append(group)
        topics.append(base["topic"])
    return texts, groups, topics


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    out = sys.argv[2] if len(sys.argv) > 2 else "/dev/stdout"
    texts, groups, topics = realistic_items(n)
    with open(out, "w", encoding="utf-8") as f:
        f.write("id\ttopic\tdup_group\ttext\n")
        for i, (t, g, k) in enumerate(zip(texts, groups, topics, strict=True)):
            f.write(f"r{i:06d}\t{k}\t{g}\t{t}\n")


if __name__ == "__main__":
    main()
