"""Ba Vì's opinions for the demo conference: sent, voted on, moderated up the tree, one on screen.

Built from the labelled set (``data/labelled_items.jsonl``): its handwritten concerns, rewordings
and misspelt variants become items of Ba Vì's teachers, managers and staff, sent over the week
before 15/08/2023 and during the morning session (some from their bridge point's kiosk). Then,
through the services, as people would: the district moderator (``kiemduyet``) approves, tags,
rejects with reasons and merges duplicates, forwards the best to the department, which forwards
some to the ministry; Ba Vì's people upvote and agree / disagree (three planted camps, by the
level of their school, so that opinion groups have something to find); the director
(``dieuphoi``) answers one item and puts the most supported question on screen; opinion groups
and topic proposals are computed.

Deterministic (one seeded ``random.Random``) and idempotent: nothing happens when the
conference already has items. Votes are bulk-inserted (then counted with :func:`opinions.recount`)
rather than cast one by one: the demo has ~10,000 of them.
"""

import datetime
import json
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from diemcau.core.errors import DomainError
from diemcau.orgs import admin_data
from diemcau.orgs.models import EducationLevel, Person, Unit
from diemcau.orgs.scoping import SYSTEM
from diemcau.points.models import Assignment, BridgePoint
from diemcau.voice import access, analysis, moderation, opinions, topic_list
from diemcau.voice import on_air as voice_on_air
from diemcau.voice.models import Opinion, OpinionGroupsRun, Vote
from diemcau.voice.textsim import LABELLED_ITEMS

from . import events as events_demo
from . import org_tree

SEED = 2023
DATA = LABELLED_ITEMS
N_ITEMS = 330
REJECT_REASONS = [
    "Nội dung không thuộc phạm vi của hội nghị; đề nghị gửi qua kênh phản ánh của địa phương.",
    "Ngôn từ chưa phù hợp; đề nghị thầy/cô viết lại ngắn gọn, cụ thể.",
    "Nội dung chưa rõ ý; đề nghị nêu cụ thể khó khăn và kiến nghị.",
    "Nội dung liên quan đến cá nhân cụ thể; đề nghị gửi đơn theo quy định về khiếu nại, tố cáo.",
]
ANSWER = ("Bộ đã tiếp thu; Bộ đang phối hợp với Bộ Nội vụ hoàn thiện đề án chính sách tiền lương, "
          "phụ cấp ưu đãi nghề cho nhà giáo, trình Chính phủ trong năm 2023.")


@dataclass
class Report:
    skipped: bool = False
    items: int = 0
    approved: int = 0
    rejected: int = 0
    merged: int = 0
    at_ministry: int = 0
    votes: int = 0
    on_air: str = ""
    groups: int = 0
    proposals: int = 0


def _when(rng: random.Random) -> datetime.datetime:
    """A sending time: the week before the conference, or during its morning session."""
    day = events_demo.DAY
    if rng.random() < 0.35:
        return events_demo.at(8, 0) + datetime.timedelta(minutes=rng.randrange(0, 180))
    days_before = rng.choice([1, 1, 2, 2, 3, 4, 5])
    local = datetime.datetime.combine(day - datetime.timedelta(days=days_before),
                                      datetime.time(rng.choice([7, 10, 12, 15, 17, 20, 21]), rng.randrange(60)))
    return timezone.make_aware(local)


def _kind(text: str, rng: random.Random) -> str:
    asks = ("?" in text or text.lower().startswith(("đề nghị", "de nghi", "kính mong", "xin hỏi", "xin hoi")))
    return Opinion.Kind.QUESTION if asks and rng.random() < 0.8 else Opinion.Kind.OPINION


def load(seed: int = SEED) -> Report:
    conference = events_demo.loaded()
    if conference is None:
        raise DomainError("Chưa có hội nghị mẫu: chạy manage.py load_demo_events trước.", "no_demo_conference")
    if Opinion.objects.filter(conference=conference).exists():
        return summarise(conference, skipped=True)
    User = get_user_model()
    moderator = User.objects.filter(username="kiemduyet").first() or SYSTEM
    director = User.objects.filter(username="dieuphoi").first() or SYSTEM
    rng = random.Random(f"voice|{seed}")
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    people = list(Person.objects.filter(unit__path__startswith=bavi.path, unit__kind=Unit.Kind.INSTITUTION)
                  .select_related("unit").order_by("code"))
    chosen = _chosen_rows(rng)
    topics = {t.key: t for t in topic_list.ensure_topics(conference)}

    with transaction.atomic():
        items = _send(rng, conference, chosen, people)
        approved = _moderate(rng, moderator, items, topics)
        kept = _merge_duplicates(moderator, approved)
        votes = _votes(rng, conference, kept, people)
        for op in kept:
            opinions.recount(op)
        kept = sorted(Opinion.objects.filter(pk__in=[o.pk for o in kept]),
                      key=lambda o: (-o.upvotes, -o.raised_by_people, o.pk))
        _forward_up(moderator, kept)
        _on_screen(director, kept)

    # Opinion groups of the whole tree and of Ba Vì; topic proposals. Computed here, not queued.
    _compute_groups(conference, [Unit.objects.get(code=admin_data.MINISTRY_CODE), bavi])
    analysis.propose(conference)
    report = summarise(conference)
    report.votes = votes
    return report


def _chosen_rows(rng: random.Random) -> list[dict]:
    """Every original of the labelled set and enough of its variants to make ``N_ITEMS``, shuffled."""
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda r: r["id"])
    originals = [r for r in rows if r["variant"] == "original"]
    variants = [r for r in rows if r["variant"] != "original"]
    rng.shuffle(variants)
    chosen = originals + variants[:N_ITEMS - len(originals)]
    rng.shuffle(chosen)
    return chosen


def _send(rng: random.Random, conference, chosen: list[dict], people: list[Person]) -> list[tuple]:
    """Each row sent by one of Ba Vì's people at its time, some from their point's kiosk; (opinion, row) by time."""
    teachers = [p for p in people if p.category == Person.Category.TEACHER]
    others = [p for p in people if p.category != Person.Category.TEACHER]
    morning = conference.sessions.order_by("starts_at").first()
    point_of = dict(Assignment.objects.filter(session=morning).values_list("institution_id", "point_id"))
    points = {p.pk: p for p in BridgePoint.objects.filter(conference=conference)}
    items = []  # (opinion, labelled row)
    for row in chosen:
        person = rng.choice(teachers) if rng.random() < 0.8 or not others else rng.choice(others)
        when = _when(rng)
        point_id = point_of.get(person.unit_id) if when.date() == events_demo.DAY and rng.random() < 0.4 else None
        op = opinions.submit(person, conference, row["text"], kind=_kind(row["text"], rng),
                             session=morning if when.date() == events_demo.DAY else None,
                             anonymous=rng.random() < 0.1, point=points.get(point_id))
        # Sent in 2023: move the item (and its audit trail's meaning) to its sending time.
        Opinion.objects.filter(pk=op.pk).update(created_at=when, updated_at=when)
        op.created_at = when
        items.append((op, row))
    items.sort(key=lambda x: x[0].created_at)
    return items


def _moderate(rng: random.Random, moderator, items: list[tuple], topics: dict) -> list[tuple]:
    """The district moderator: reject a few, approve and tag the rest (some wait in the queue)."""
    approved = []
    for op, row in items:
        r = rng.random()
        if r < 0.07:
            moderation.reject(moderator, op, rng.choice(REJECT_REASONS))
        elif r < 0.13:
            continue  # still pending
        else:
            moderation.approve(moderator, op)
            moderation.tag(moderator, op, topics.get(row["topic"]))
            approved.append((op, row))
    return approved


def _merge_duplicates(moderator, approved: list[tuple]) -> list[Opinion]:
    """Everything of a labelled group merges into one approved item, written with diacritics when the
    group has one (the text the levels above read and quote); the items kept."""
    leaders, kept = {}, []
    for op, row in sorted(approved, key=lambda x: (x[1]["variant"] not in ("original", "reworded"),
                                                    x[0].created_at)):
        leader = leaders.get(row["group"])
        if leader is None:
            leaders[row["group"]] = op
            kept.append(op)
        else:
            # One labelled group: the same concern even where the polarity detector reads it otherwise.
            moderation.merge(moderator, op, leader, override_reason="Cùng một nhóm ý kiến đã gán nhãn (dữ liệu mẫu)")
    return kept


def _forward_up(moderator, kept: list[Opinion]) -> None:
    """Up the tree: Ba Vì forwards its 45 most upvoted to Hà Nội, which forwards 15 to the ministry."""
    for i, op in enumerate(kept[:45]):
        op = moderation.forward(moderator, op)  # school -> Ba Vì's office
        op = moderation.forward(moderator, op)  # Ba Vì -> Hà Nội's department
        if i < 15:
            moderation.forward(SYSTEM, op)  # the department's moderators -> the ministry


def _on_screen(director, kept: list[Opinion]) -> None:
    """Live: the two most upvoted questions Ba Vì sent up reach the ministry; one was answered
    earlier in the morning, the other is on screen now."""
    questions = sorted((o for o in Opinion.objects.filter(pk__in=[o.pk for o in kept]).select_related("at_unit")
                        if o.kind == Opinion.Kind.QUESTION), key=lambda o: (-o.upvotes, o.pk))[:2]
    for i, q in enumerate(questions):
        while q.at_unit.parent_id is not None:
            q = moderation.forward(SYSTEM, q)
        questions[i] = q
    if len(questions) == 2:
        first = voice_on_air.put_on_air(director, questions[1])
        voice_on_air.answer(director, first, ANSWER, "00:42:15")
        voice_on_air.put_on_air(director, questions[0])


def _compute_groups(conference, units: list[Unit]) -> None:
    """One opinion-groups run per unit, computed now; a run that cannot find groups is marked failed."""
    for unit in units:
        run = OpinionGroupsRun.objects.create(conference=conference, unit=unit)
        try:
            analysis.compute_groups(run)
        except DomainError as exc:
            OpinionGroupsRun.objects.filter(pk=run.pk).update(status=OpinionGroupsRun.Status.FAILED,
                                                              error=exc.message)


def _votes(rng: random.Random, conference, kept: list[Opinion], people: list[Person]) -> int:
    """Upvotes by popularity, and agree/disagree/pass in three camps (by the level of the voter's school)."""
    voters = rng.sample(people, min(900, len(people)))
    now = timezone.now()
    rows = []
    popularity = {op.pk: min(rng.paretovariate(1.3), 25.0) for op in kept}
    weights = [popularity[op.pk] for op in kept]
    for person in voters:
        for op in set(rng.choices(kept, weights=weights, k=rng.randint(1, 6))):
            rows.append(Vote(opinion=op, person=person, kind=Vote.Kind.UPVOTE, family="up", at=now))
    statements = [op for op in kept if op.kind == Opinion.Kind.OPINION][:40]
    if len(statements) >= 5:
        # Each camp leans agree (0.85), undecided (0.5) or disagree (0.15) on each statement;
        # the first three statements unite everyone.
        stance = [[rng.choice([0.85, 0.85, 0.5, 0.15, 0.15]) for _s in statements] for _camp in range(3)]
        for i in range(3):
            for camp in stance:
                camp[i] = 0.92
        for person in voters:
            levels = person.unit.levels
            camp = 0 if levels & EducationLevel.PRESCHOOL else 1 if levels & EducationLevel.PRIMARY else 2
            for j in rng.sample(range(len(statements)), min(len(statements), rng.randint(8, 16))):
                r = rng.random()
                kind = Vote.Kind.PASS if r < 0.1 else (
                    Vote.Kind.AGREE if rng.random() < stance[camp][j] else Vote.Kind.DISAGREE)
                rows.append(Vote(opinion=statements[j], person=person, kind=kind, family="stance", at=now))
    Vote.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def summarise(conference, skipped=False) -> Report:
    qs = Opinion.objects.filter(conference=conference)
    top = Unit.objects.filter(parent__isnull=True).order_by("path").first()
    on_air = voice_on_air.on_air(conference)
    return Report(
        skipped=skipped, items=qs.count(), approved=qs.filter(status__in=access.VISIBLE).count(),
        rejected=qs.filter(status=Opinion.Status.REJECTED).count(),
        merged=qs.filter(status=Opinion.Status.MERGED).count(),
        at_ministry=qs.filter(at_unit=top, status__in=access.VISIBLE).count() if top else 0,
        votes=Vote.objects.filter(opinion__conference=conference).count(),
        on_air=on_air.text[:80] if on_air else "",
        groups=OpinionGroupsRun.objects.filter(conference=conference, status=OpinionGroupsRun.Status.DONE).count(),
        proposals=conference.topic_proposals.count(),
    )
