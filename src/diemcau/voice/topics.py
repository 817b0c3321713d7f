"""Topics (chủ đề) of opinions: suggest one for each new item, and propose topics that are missing.

A conference has its own list of topics. For each new opinion the moderator sees the suggested
topics, best first, and confirms or corrects; each confirmation is a label. :class:`TopicSuggester`
combines two scorers:

- **keywords** (cold start): the similarity of the item to the topic's name and keywords, turned
  into a distribution with a softmax. Works from the first item, before anyone has labelled;
- **a linear classifier** (multinomial logistic regression) over the same character n-gram and
  word features as duplicate matching (:mod:`diemcau.voice.textsim`), trained on the moderators'
  labels, joined (in log space, a share of ``word_weight``) by a second one over plain TF-IDF
  words as written, so that the learned part does at least as well as TF-IDF + logistic regression
  (on UIT-VSFC's dev split the pair beat either alone; ``bench/voice_public.py``).

They are combined as a product of experts, ``p ∝ keywords^w × learned^(1-w)``: a topic must look
right to both. The keywords are a prior: ``w`` starts at ``keyword_weight`` and halves every
``keyword_half_life`` labels per topic (:meth:`TopicSuggester.current_keyword_weight`). (On the
labelled set this beat a weighted average, which lets one confident expert
override the other.) A topic nobody has labelled yet has no learned probability and is scored by its
keywords alone.

:func:`propose_topics` looks at the items that no topic fits, clusters them and names each cluster
by its most distinctive words (c-TF-IDF), for the moderator to turn into a new topic.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from diemcau.core.vntext import fold

from .textsim import Featurizer, Progress, default_featurizer
from .words import _TOKEN, syllables


@dataclass(frozen=True)
class Topic:
    """A topic (chủ đề) of a conference's opinions, with the words that signal it."""

    key: str
    name: str
    keywords: tuple[str, ...] = ()

    def prototype(self) -> str:
        """The text that stands for the topic before any item has been labelled with it."""
        return ", ".join((self.name, *self.keywords))


# The topics the ministry's conferences have used; a conference starts from these or its own list.
DEFAULT_TOPICS: tuple[Topic, ...] = (
    Topic("luong_phu_cap", "Tiền lương và phụ cấp", (
        "lương", "tiền lương", "hệ số lương", "lương cơ sở", "phụ cấp", "phụ cấp ưu đãi", "phụ cấp thâm niên",
        "phụ cấp thu hút", "phụ cấp trách nhiệm", "thu nhập", "đời sống", "tiền thừa giờ", "dạy thêm giờ",
        "chế độ", "vùng đặc biệt khó khăn", "cải cách tiền lương")),
    Topic("ho_so_cong_viec", "Khối lượng công việc, hồ sơ sổ sách", (
        "hồ sơ", "sổ sách", "giấy tờ", "báo cáo", "quá tải", "áp lực", "định mức tiết dạy", "họp hành",
        "hội thi", "phong trào", "đoàn kiểm tra", "sáng kiến kinh nghiệm", "việc ngoài chuyên môn",
        "thời gian làm việc", "trực trường", "giáo án")),
    Topic("chuong_trinh_sgk", "Chương trình và sách giáo khoa", (
        "chương trình giáo dục phổ thông 2018", "chương trình mới", "sách giáo khoa", "bộ sách",
        "môn tích hợp", "khoa học tự nhiên", "lịch sử và địa lý", "hoạt động trải nghiệm", "tổ hợp môn",
        "nội dung", "thời lượng", "giáo dục địa phương", "môn học", "lớp 1", "tiếng việt")),
    Topic("co_so_vat_chat", "Cơ sở vật chất, trường lớp, thiết bị", (
        "cơ sở vật chất", "phòng học", "phòng học tạm", "thiết bị dạy học", "xây dựng", "sĩ số",
        "quá tải lớp", "nhà vệ sinh", "nước sạch", "phòng thí nghiệm", "phòng máy tính", "thư viện",
        "nhà công vụ", "điểm trường", "bếp ăn", "máy chiếu", "sân chơi", "nhà đa năng", "xuống cấp")),
    Topic("boi_duong", "Đào tạo, bồi dưỡng giáo viên", (
        "bồi dưỡng", "bồi dưỡng thường xuyên", "tập huấn", "đào tạo", "nâng chuẩn", "trình độ",
        "chứng chỉ", "học thạc sĩ", "trường sư phạm", "sinh viên sư phạm", "kỹ năng", "chuyên môn",
        "phương pháp dạy học", "học phí nâng chuẩn")),
    Topic("tuyen_dung_hop_dong", "Tuyển dụng, biên chế, hợp đồng", (
        "tuyển dụng", "biên chế", "thiếu giáo viên", "hợp đồng", "giáo viên hợp đồng", "xét tuyển",
        "đặc cách", "thi viên chức", "chỉ tiêu", "tinh giản biên chế", "thuyên chuyển", "chuyển công tác",
        "dôi dư", "vị trí việc làm", "nhân viên", "kiêm nhiệm", "thu hút")),
    Topic("hoc_sinh", "Học sinh: hành vi, an toàn, bạo lực học đường", (
        "học sinh", "bạo lực học đường", "đánh nhau", "kỷ luật học sinh", "điện thoại", "mạng xã hội",
        "tâm lý", "tư vấn tâm lý", "an toàn", "đuối nước", "tai nạn", "xâm hại", "bỏ học",
        "thuốc lá điện tử", "bảo vệ nhà giáo", "xúc phạm giáo viên", "đạo đức")),
    Topic("thang_hang_danh_gia", "Chức danh nghề nghiệp, thăng hạng, đánh giá giáo viên", (
        "thăng hạng", "chức danh nghề nghiệp", "hạng I", "hạng II", "hạng III", "xếp hạng",
        "chuẩn nghề nghiệp",
        "đánh giá giáo viên", "xếp loại viên chức", "minh chứng", "thi đua khen thưởng", "nhà giáo ưu tú",
        "hoàn thành xuất sắc nhiệm vụ", "chỉ tiêu thăng hạng")),
    Topic("nghi_huu_bao_hiem", "Nghỉ hưu, bảo hiểm, chế độ nghỉ", (
        "nghỉ hưu", "tuổi nghỉ hưu", "lương hưu", "bảo hiểm xã hội", "bảo hiểm y tế", "thai sản",
        "nghỉ sinh", "ốm đau", "bệnh nghề nghiệp", "khám sức khỏe", "nghỉ dưỡng", "thời gian công tác")),
    Topic("thi_cu", "Thi cử, kiểm tra, đánh giá học sinh", (
        "thi", "kỳ thi", "thi tốt nghiệp", "tốt nghiệp thpt", "tuyển sinh", "thi vào lớp 10", "đề thi",
        "đề minh họa", "xét tuyển đại học", "học bạ", "kiểm tra định kỳ", "đánh giá học sinh",
        "điểm số", "bệnh thành tích", "học sinh giỏi", "ngân hàng đề")),
    Topic("chuyen_doi_so", "Chuyển đổi số, phần mềm, dữ liệu", (
        "chuyển đổi số", "phần mềm", "cơ sở dữ liệu", "nhập liệu", "dữ liệu", "học bạ điện tử",
        "sổ điểm điện tử", "internet", "mạng", "trực tuyến", "học liệu số", "trí tuệ nhân tạo",
        "ký số", "hệ thống", "tài khoản", "công nghệ thông tin")),
    Topic("phu_huynh_thu_chi", "Phụ huynh, học phí và các khoản thu", (
        "phụ huynh", "cha mẹ học sinh", "ban đại diện", "học phí", "miễn học phí", "khoản thu",
        "lạm thu", "thu tiền", "quỹ lớp", "dạy thêm học thêm", "học bổng", "tiền ăn", "trông trẻ ngoài giờ",
        "gia đình", "đồng phục", "liên lạc")),
)


# Labels per topic after which the keywords weigh half as much. On the training part of the labelled
# set (~23 labels per topic per fold) grouped cross-validation prefers the keywords' full weight
# (the learned expert alone reaches ~0.5); a slow decay costs nothing there and lets the labels
# take over in a conference with hundreds of labels per topic (bench/voice.py prints the sweep).
KEYWORD_HALF_LIFE = 200.0


@dataclass(frozen=True)
class Suggestion:
    """A topic suggested for an item, with a score in 0..1 (the scores of all topics sum to 1)."""

    key: str
    name: str
    score: float


class TopicSuggester:
    """Suggests topics for opinions: from moderators' labels once there are some, from keywords before.

    :param topics: the conference's topic list.
    :param keyword_weight: the exponent ``w`` of the keyword expert (see the module docstring).
    :param temperature: softmax temperature of the keyword similarities; lower is more decisive.
    :param c: inverse regularisation of the logistic regression while labels are few; it firms up
        to ``c_labelled`` as the keywords fade (:meth:`learned_mix`).
    :param c_labelled: the same once labels are plentiful (5: on UIT-VSFC's 11k labels it beat 20
        in 5-fold cross-validation on the training split and on the dev split; with a handful of
        labels 5 kept a new topic from becoming suggestable).
    :param char_weight: weight of the character block for topics (duplicate matching uses more:
        spelling matters there, content words here).
    :param word_weight: share of the plain TF-IDF word classifier in the learned expert once the
        keywords have faded (0.3, chosen on UIT-VSFC's dev split between 0.3 and 0.5); it grows
        from 0 as labels accumulate, and needs the texts, so scores computed from ``features``
        alone use the first classifier only.
    """

    def __init__(self, topics: Sequence[Topic] = DEFAULT_TOPICS, featurizer: Featurizer | None = None,
                 keyword_weight: float = 0.6, temperature: float = 0.03, c: float = 20.0,
                 char_weight: float = 0.3, keyword_half_life: float = KEYWORD_HALF_LIFE,
                 word_weight: float = 0.3, c_labelled: float = 5.0):
        if not topics:
            raise ValueError("a conference needs at least one topic")
        self.topics = list(topics)
        self.index = {t.key: i for i, t in enumerate(self.topics)}
        self.featurizer = featurizer or default_featurizer()
        self.keyword_weight = keyword_weight
        self.keyword_half_life = keyword_half_life
        self.temperature = temperature
        self.c = c
        self.char_weight = char_weight
        self.word_weight = word_weight
        self.c_labelled = c_labelled
        self._words: tuple[TfidfVectorizer, LogisticRegression] | None = None
        self._prototypes = self._rows([t.prototype() for t in self.topics])
        self._texts: list[str] = []
        self._labels: list[int] = []
        self._model: LogisticRegression | None = None
        self._columns: np.ndarray | None = None
        self._classes: np.ndarray | None = None
        self._dirty = False

    def _rows(self, texts: Sequence[str] | None = None,
              features: sp.csr_matrix | None = None) -> sp.csr_matrix:
        """Feature rows for topics, from texts or from rows the featurizer made already."""
        rows = self.featurizer.transform(texts) if features is None else features
        return self.featurizer.reweigh(rows, self.char_weight)

    def use_featurizer(self, featurizer: Featurizer) -> None:
        """Switch to another featurizer (e.g. one fitted on the conference's own items); retrains lazily."""
        self.featurizer = featurizer
        self._prototypes = self._rows([t.prototype() for t in self.topics])
        self._dirty = bool(self._labels)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TopicSuggester:
        """Replace the training set with these moderator-labelled items and train."""
        self._texts, self._labels = [], []
        for text, label in zip(texts, labels, strict=True):
            self._add(text, label)
        self._train()
        return self

    def learn(self, text: str, label: str) -> None:
        """Record one moderator's choice; the model is retrained on the next suggestion."""
        self._add(text, label)
        self._dirty = True

    def _add(self, text: str, label: str) -> None:
        if label not in self.index:
            raise KeyError(f"topic {label!r} is not in this conference's list")
        self._texts.append(text)
        self._labels.append(self.index[label])

    def _train(self) -> None:
        self._dirty = False
        y = np.asarray(self._labels)
        self._model, self._words = None, None
        if len(set(self._labels)) < 2:
            return  # one class teaches nothing to compare with; keywords carry on alone
        x = self._rows(self._texts)
        # Train on the columns the training items use: a few thousand instead of 2 × 2^20.
        self._columns = np.unique(x.indices)
        c, _share = self.learned_mix()
        self._model = LogisticRegression(C=c, max_iter=2000)
        self._model.fit(x[:, self._columns], y)
        self._classes = self._model.classes_
        if self.word_weight:
            vectorizer = TfidfVectorizer()
            try:
                words = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(self._texts), y)
            except ValueError:  # no word of two letters in any labelled item: the first classifier alone
                return
            self._words = (vectorizer, words)

    def current_keyword_weight(self) -> float:
        """The keyword expert's weight now: halved every ``keyword_half_life`` labels per topic.

        Keywords are a prior: they carry a new conference, and give way as moderators' labels
        accumulate (a fixed weight costs accuracy once labels exist).
        """
        if not self.keyword_half_life:
            return self.keyword_weight
        per_topic = len(self._labels) / len(self.topics)
        return self.keyword_weight * 0.5 ** (per_topic / self.keyword_half_life)

    def learned_mix(self) -> tuple[float, float]:
        """The first classifier's ``C`` and the word classifier's share, as labels accumulate.

        Both follow the keywords' fading: with a handful of labels the first classifier is loosely
        regularised and alone (the word classifier is then nearly uniform and would dilute it, so a
        new topic would not become suggestable); with many, ``c_labelled`` and ``word_weight``.
        """
        faded = 1.0 - self.current_keyword_weight() / self.keyword_weight if self.keyword_weight else 1.0
        return self.c + (self.c_labelled - self.c) * faded, self.word_weight * faded

    def label_counts(self) -> np.ndarray:
        """Number of labelled items per topic, in the order of ``topics``."""
        return np.bincount(np.asarray(self._labels, dtype=np.int64), minlength=len(self.topics))

    def scores(self, texts: Sequence[str] | None = None, features: sp.csr_matrix | None = None) -> np.ndarray:
        """Return an items × topics array of scores (rows sum to 1).

        :param features: rows made by ``self.featurizer`` (e.g. for duplicate matching), instead of texts.
        """
        if self._dirty:
            self._train()
        x = self._rows(texts, features)
        sims = np.asarray((x @ self._prototypes.T).todense(), dtype=np.float64)
        sims -= sims.max(axis=1, keepdims=True)
        keyword = np.exp(sims / self.temperature)
        keyword /= keyword.sum(axis=1, keepdims=True)
        if self._model is None:
            return keyword
        w = self.current_keyword_weight()
        log_p = w * np.log(keyword + 1e-12)
        learned = np.log(self._model.predict_proba(x[:, self._columns]) + 1e-12)
        if self._words is not None and texts is not None:
            vectorizer, words = self._words
            by_words = np.log(words.predict_proba(vectorizer.transform(texts)) + 1e-12)
            _c, share = self.learned_mix()
            learned = (1.0 - share) * learned + share * by_words
        log_p[:, self._classes] += (1.0 - w) * learned
        unseen = np.setdiff1d(np.arange(len(self.topics)), self._classes)
        if len(unseen):
            # No labels yet: the keywords alone speak for the topic, at the learned expert's average.
            log_p[:, unseen] += (1.0 - w) * learned.mean(axis=1, keepdims=True)
        log_p -= log_p.max(axis=1, keepdims=True)
        out = np.exp(log_p)
        return out / out.sum(axis=1, keepdims=True)

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        """Return the k most likely topics for one item, best first."""
        row = self.scores([text])[0]
        best = np.argsort(-row, kind="stable")[:k]
        return [Suggestion(self.topics[i].key, self.topics[i].name, float(row[i])) for i in best]

    def predict(self, texts: Sequence[str] | None = None, features: sp.csr_matrix | None = None,
                progress: Progress | None = None, chunk: int = 20_000) -> tuple[list[str], np.ndarray]:
        """Return the best topic key and its score for each item (in chunks, for large batches)."""
        n = len(texts) if features is None else features.shape[0]
        keys, best_scores = [], np.zeros(n)
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            part = (self.scores(texts=texts[start:stop]) if features is None
                    else self.scores(features=features[start:stop]))
            best = part.argmax(axis=1)
            keys.extend(self.topics[i].key for i in best)
            best_scores[start:stop] = part[np.arange(len(best)), best]
            if progress:
                progress(stop, n, "Đang gợi ý chủ đề")
        return keys, best_scores


def learned_suggester(topics: Sequence[Topic], texts: Sequence[str] = (), labels: Sequence[str] = (),
                      featurizer: Featurizer | None = None) -> TopicSuggester:
    """The suggester of a conference with these topics, after moderators labelled ``texts``.

    What :mod:`diemcau.voice.topic_list` keeps per conference, and what the benchmarks measure.
    """
    suggester = TopicSuggester(topics, featurizer=featurizer or default_featurizer())
    if len(texts):
        suggester.fit(texts, labels)
    return suggester


@dataclass
class TopicProposal:
    """A cluster of items that no topic fits, named by its most distinctive words."""

    name: str
    terms: list[str]
    members: list[int] = field(default_factory=list)
    cohesion: float = 0.0


def surface_forms(texts: Sequence[str], featurizer: Featurizer | None = None) -> dict[str, Counter]:
    """Map each folded word (``giao_vien``) to the spellings it was written with ("giáo viên": 12, ...).

    Spellings keep their case, so that "THPT" can be shown as written.
    """
    feat = featurizer or default_featurizer()
    forms: dict[str, Counter] = {}
    for text in texts:
        norm = unicodedata.normalize("NFC", text)
        raw = [w for chunk in norm.split() for w in _TOKEN.findall(chunk) if fold(w)]
        syls = syllables(text)
        if len(raw) != len(syls):
            continue  # a character that folds to nothing split a word; skip rather than misalign
        words = feat.segmenter.segment([feat.speller.correct(s) for s in syls])
        i = 0
        for word in words:
            size = word.count("_") + 1
            spelled = raw[i:i + size]
            if "_".join(fold(w).lower() for w in spelled) == word:
                forms.setdefault(word, Counter())[" ".join(spelled)] += 1
            i += size
    return forms


def _display(word: str, forms: dict[str, Counter]) -> str:
    counts = forms.get(word)
    if not counts:
        return word.replace("_", " ")
    merged = Counter()
    for form, n in counts.items():
        # "Giáo viên" at the start of a sentence is "giáo viên"; "THPT" stays an acronym.
        merged[form if form.isupper() and len(form) > 1 else form.lower()] += n
    # Prefer a spelling with diacritics: it is the one a reader recognises at once.
    accented = [(n, f) for f, n in merged.items() if fold(f) != f.lower()]
    pool = accented or [(n, f) for f, n in merged.items()]
    return max(pool, key=lambda p: (p[0], p[1]))[1]


def top_terms(texts: Sequence[str], members: Sequence[np.ndarray], n_terms: int = 5,
              featurizer: Featurizer | None = None) -> list[list[str]]:
    """Return the most distinctive words of each group of texts, spelled with diacritics.

    A word (a compound counts as one: "tốt nghiệp") scores by the share of the group's items that
    use it times its IDF over all ``texts``: frequent here, rare in general. Only words used by at
    least two items of the group count.
    """
    feat = featurizer or default_featurizer()

    def terms(text: str) -> set[str]:
        return {w for w in feat.analyse(text).words if not w.isdigit() and len(w) > 2}

    all_terms = [terms(t) for t in texts]
    df = Counter(t for ts in all_terms for t in ts)
    n_docs = len(texts)
    forms = surface_forms([texts[i] for g in members for i in g], feat)
    out = []
    for group in members:
        counts = Counter(t for i in group for t in all_terms[i])
        scored = sorted(((c / len(group)) * np.log(n_docs / df[t]), t) for t, c in counts.items() if c >= 2)
        chosen = [t for _, t in reversed(scored[-n_terms:])]
        out.append([_display(t, forms) for t in chosen])
    return out


def propose_topics(texts: Sequence[str], suggester: TopicSuggester | None = None, max_fit: float = 0.5,
                   min_size: int = 5, min_similarity: float = 0.1, n_terms: int = 5, max_items: int = 3000,
                   seed: int = 0) -> list[TopicProposal]:
    """Propose new topics from the items that the current topics fit badly.

    Items whose best topic score is below ``max_fit`` (all items when there is no suggester) are
    clustered by average linkage on cosine similarity, stopping where clusters would join below
    ``min_similarity``; clusters of at least ``min_size`` items become proposals, largest first.
    At most ``max_items`` items are clustered (a seeded sample), which bounds the quadratic cost.
    """
    feat = suggester.featurizer if suggester else default_featurizer()
    x = feat.transform(texts)
    candidates = np.arange(len(texts))
    if suggester is not None:
        _, best = suggester.predict(features=x)
        candidates = np.flatnonzero(best < max_fit)
    if len(candidates) > max_items:
        candidates = np.sort(np.random.default_rng(seed).choice(candidates, max_items, replace=False))
    if len(candidates) < min_size:
        return []
    # The word block alone: topics are about content words, not spelling.
    xc = x[candidates][:, x.shape[1] // 2:]
    norms = np.sqrt(np.asarray(xc.multiply(xc).sum(axis=1)).ravel())
    keep = norms > 0
    candidates, xc = candidates[keep], xc[keep]
    xc = sp.diags(1.0 / norms[keep]) @ xc
    if len(candidates) < min_size:
        return []
    sims = (xc @ xc.T).toarray()
    distance = np.clip(1.0 - sims, 0.0, None)
    clustering = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                         distance_threshold=1.0 - min_similarity).fit(distance)
    groups = [np.flatnonzero(clustering.labels_ == c) for c in np.unique(clustering.labels_)]
    groups = [g for g in groups if len(g) >= min_size]
    groups.sort(key=lambda g: (-len(g), g[0]))
    terms = top_terms(texts, [candidates[g] for g in groups], n_terms, feat)
    out = []
    for g, t in zip(groups, terms, strict=True):
        inner = sims[np.ix_(g, g)]
        cohesion = float((inner.sum() - len(g)) / max(len(g) * (len(g) - 1), 1))
        name = ", ".join(t[:3])
        name = name[:1].upper() + name[1:]
        out.append(TopicProposal(name, t, candidates[g].tolist(), cohesion))
    return out
