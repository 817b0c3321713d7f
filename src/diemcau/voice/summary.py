"""The summary for policy (tổng hợp ý kiến): what a subtree's people raised, by topic, level of
education, area and category of staff, over time, with representative quotes and opinion groups.

One function computes it (:func:`policy_summary`, a handful of grouped queries over the subtree's
items); the page here and the official document (print, PDF, .xlsx: ``diemcau.reports.policy_summary``)
draw the same figures. Its labels are Vietnamese whatever the interface language (the document
is official); a category of staff is labelled by the model's own choice label.

Counted: every item sent except rejected ones (a merged duplicate still counts as someone raising
the concern). Anonymous items are counted, but their author's level, unit and category are not
disclosed: they fall into an "anonymous" row of those breakdowns.
"""

from collections import Counter, defaultdict

from django.db.models import Count, F
from django.db.models.functions import TruncHour
from django.utils import timezone

from diemcau.core.i18n import vietnamese_choices
from diemcau.events import access as event_access
from diemcau.orgs.models import PATH_STEP, EducationLevel, Person, Unit

from . import analysis
from .models import Opinion

ANONYMOUS = "Ẩn danh"
NO_TOPIC = "Chưa phân loại"
QUOTES_PER_TOPIC = 3
TOP_ITEMS = 10
STATUS_LABELS = {
    "pending": "Chờ duyệt", "approved": "Đã duyệt", "on_air": "Đang trả lời", "answered": "Đã trả lời",
    "merged": "Đã gộp", "rejected": "Bị từ chối",
}
LEVEL_LABELS = {
    EducationLevel.PRESCHOOL: "Mầm non", EducationLevel.PRIMARY: "Tiểu học",
    EducationLevel.LOWER_SECONDARY: "Trung học cơ sở", EducationLevel.UPPER_SECONDARY: "Trung học phổ thông",
    EducationLevel.CONTINUING: "Giáo dục thường xuyên", EducationLevel.SPECIALISED: "Giáo dục chuyên biệt",
    EducationLevel.UNIVERSITY: "Đại học", EducationLevel.TEACHER_COLLEGE: "Cao đẳng sư phạm",
}
NO_LEVEL = "Cơ quan quản lý"


def _bars(counter: Counter | dict, order=None) -> list[dict]:
    items = [(k, counter[k]) for k in order if k in counter] if order else \
        sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    top = max((n for _k, n in items), default=0) or 1
    total = sum(n for _k, n in items) or 1
    return [{"label": k, "count": n, "pct": round(100 * n / top), "share": round(100 * n / total, 1)}
            for k, n in items]


def items_in(unit: Unit, conference):
    """The conference's items written in the unit's subtree (every status)."""
    return Opinion.objects.filter(conference=conference, author_unit__path__startswith=unit.path)


def policy_summary(user, conference, unit: Unit | None = None) -> dict:
    """Every figure of the summary for the subtree the user may analyse (or ``unit`` within it)."""
    event_access.require_sees(user, conference)
    unit = analysis.analysis_unit(user, unit)
    qs = items_in(unit, conference)
    by_status = dict(qs.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    counted = qs.exclude(status=Opinion.Status.REJECTED)
    total = sum(n for s, n in by_status.items() if s != "rejected")

    topics = Counter()
    for topic, suggested, n in counted.values_list("topic__name", "suggested_topic__name").annotate(n=Count("pk")):
        topics[topic or suggested or NO_TOPIC] += n

    levels, areas, categories = Counter(), Counter(), Counter()
    for levels_mask, anonymous, n in counted.values_list("author_unit__levels", "anonymous").annotate(n=Count("pk")):
        if anonymous:
            levels[ANONYMOUS] += n
            continue
        names = [LEVEL_LABELS[bit] for bit, _k, _l in EducationLevel.CHOICES if levels_mask & bit] or [NO_LEVEL]
        for name in names:  # a school of several levels counts for each of them
            levels[name] += n
    # Areas: the units directly below the summary's unit (the provinces' departments, for the ministry).
    child_len = len(unit.path) + PATH_STEP
    children = dict(Unit.objects.filter(parent=unit).values_list("path", "name"))
    for path, anonymous, n in counted.values_list("author_unit__path", "anonymous").annotate(n=Count("pk")):
        if anonymous:
            areas[ANONYMOUS] += n
        else:
            areas[children.get(path[:child_len], unit.name)] += n
    category_labels = vietnamese_choices(Person.Category.choices)  # the model's labels, as on every document
    for category, anonymous, n in counted.values_list("author__category", "anonymous").annotate(n=Count("pk")):
        categories[ANONYMOUS if anonymous else category_labels.get(category, category)] += n

    hours, zone = Counter(), timezone.get_default_timezone()  # settings.TIME_ZONE
    for hour, n in counted.annotate(h=TruncHour("created_at", tzinfo=zone)).values_list("h").annotate(
            n=Count("pk")).values_list("h", "n"):
        hours[timezone.localtime(hour, zone) if timezone.is_aware(hour) else hour] += n
    days = Counter()
    for hour, n in hours.items():
        days[hour.date()] += n
    busiest_day = max(days, key=lambda d: (days[d], d)) if days else None
    day_hours = sorted((h, n) for h, n in hours.items() if busiest_day and h.date() == busiest_day)

    visible = qs.filter(status__in=[Opinion.Status.APPROVED, Opinion.Status.ON_AIR, Opinion.Status.ANSWERED])
    ranked = visible.select_related("author_unit", "topic", "suggested_topic").order_by(
        -(F("upvotes") + F("agree")), "-raised_by_units", "-raised_by_people", "pk")
    top_items = [_quote(o) for o in ranked[:TOP_ITEMS]]
    quotes = defaultdict(list)
    for o in ranked[:2000]:
        name = (o.topic or o.suggested_topic).name if (o.topic or o.suggested_topic) else NO_TOPIC
        if len(quotes[name]) < QUOTES_PER_TOPIC:
            quotes[name].append(_quote(o))
    topic_rows = _bars(topics)
    for row in topic_rows:
        row["quotes"] = quotes.get(row["label"], [])

    level_order = [LEVEL_LABELS[bit] for bit, _k, _l in EducationLevel.CHOICES] + [NO_LEVEL, ANONYMOUS]
    category_order = [*category_labels.values(), ANONYMOUS]
    groups_run = analysis.latest_done_groups(user, conference, unit)
    return {
        "conference": conference, "unit": unit, "total": total,
        "status": [{"key": k, "label": STATUS_LABELS[k], "count": by_status.get(k, 0)} for k in STATUS_LABELS],
        "questions": counted.filter(kind=Opinion.Kind.QUESTION).count(),
        "opinions": counted.filter(kind=Opinion.Kind.OPINION).count(),
        "people": counted.values("author").distinct().count(),
        "units": counted.values("author_unit").distinct().count(),
        "topics": topic_rows,
        "levels": _bars(levels, level_order),
        "areas": _bars(areas),
        "categories": _bars(categories, category_order),
        "days": _bars({d.strftime("%d/%m/%Y"): days[d] for d in sorted(days)}, [d.strftime("%d/%m/%Y")
                                                                             for d in sorted(days)]),
        "busiest_day": busiest_day,
        "hours": _bars({h.strftime("%H:00"): n for h, n in day_hours}, [h.strftime("%H:00") for h, _n in day_hours]),
        "top_items": top_items,
        "groups": groups_run,
        "generated_at": timezone.localtime(timezone.now(), timezone.get_default_timezone()),
    }


def _quote(o: Opinion) -> dict:
    return {"id": o.pk, "text": o.text, "unit": o.author_unit.name if not o.anonymous else ANONYMOUS,
            "kind": "Câu hỏi" if o.kind == Opinion.Kind.QUESTION else "Ý kiến", "upvotes": o.upvotes,
            "agree": o.agree, "disagree": o.disagree, "people": o.raised_by_people, "units": o.raised_by_units,
            "status": STATUS_LABELS.get(o.status, o.status), "answer": o.answer, "answer_time": o.answer_time}
