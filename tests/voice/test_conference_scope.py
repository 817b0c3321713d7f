"""Voice pages and API are scoped to the conferences a user may see (Trust item 10).

The table: Ba Vì's participant, moderator, organiser, analyst and director, and the national
organiser, × a conference of their line (hosted by Ba Vì) and one outside it (hosted by Sóc Sơn)
× every voice page and endpoint that takes a conference or one of its items. Outside → 404, and
nothing is written; inside → the endpoint answers as before (not 404) for the roles it serves.
And a GET never creates data: the default topics are seeded when the conference is created.
"""

import datetime

import pytest

from diemcau.events import services as events
from diemcau.events.models import Conference
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice.models import ModerationAction, Opinion, OpinionGroupsRun, Topic

pytestmark = pytest.mark.smoke

EVERY = ("participant", "moderator", "organiser", "analyst", "director", "national")
ANALYSTS = ("moderator", "organiser", "analyst", "director", "national")
JSON = "application/json"

# (name, method, url, data, roles the endpoint serves inside the user's line)
# {c}: the conference; {o}: an approved item of it, written at a Ba Vì school.
ENDPOINTS = [
    ("send page", "get", "/voice/{c}/", None, EVERY),
    ("send", "post", "/voice/{c}/", {"text": "Câu hỏi gửi thử"}, ("participant",)),
    ("similar", "get", "/voice/{c}/similar/?text=ho+so+so+sach", None, EVERY),
    ("moderate", "get", "/voice/{c}/moderate/", None, ("moderator", "national")),
    ("ranked", "get", "/voice/{c}/ranked/?below=1", None, EVERY),
    ("on-air fragment", "get", "/voice/{c}/on-air/", None, EVERY),
    ("director", "get", "/voice/{c}/director/", None, ("director", "national")),
    ("topics", "get", "/voice/{c}/topics/", None, ("moderator", "national")),
    ("add topic", "post", "/voice/{c}/topics/", {"action": "add", "name": "Chủ đề mới"}, ("moderator", "national")),
    ("groups", "get", "/voice/{c}/groups/", None, ANALYSTS),
    ("start groups", "post", "/voice/{c}/groups/", {}, ()),  # (starts a job: only the refusal is tried)
    ("summary", "get", "/voice/{c}/summary/", None, ANALYSTS),
    ("summary xlsx", "get", "/voice/{c}/summary/print/?format=xlsx", None, ANALYSTS),
    ("summary print", "get", "/voice/{c}/summary/print/", None, ANALYSTS),
    ("summary pdf", "get", "/voice/{c}/summary/print/pdf/", None, ANALYSTS),
    ("vote", "post", "/voice/opinions/{o}/vote/", {"kind": "upvote"}, ("participant",)),
    ("tag", "post", "/voice/opinions/{o}/tag/", {"topic": ""}, ("moderator", "national")),
    ("put on air", "post", "/voice/opinions/{o}/live/on_air/", {}, ("director", "national")),
    ("api topics", "get", "/api/voice/conferences/{c}/topics/", None, EVERY),
    ("api submit", "post", "/api/voice/conferences/{c}/opinions/", {"text": "Câu hỏi qua API"}, ("participant",)),
    ("api ranked", "get", "/api/voice/conferences/{c}/opinions/?below=true", None, EVERY),
    ("api similar", "get", "/api/voice/conferences/{c}/similar/?q=ho+so+so+sach", None, EVERY),
    ("api queue", "get", "/api/voice/conferences/{c}/queue/", None, EVERY),
    ("api mine", "get", "/api/voice/conferences/{c}/mine/", None, EVERY),
    ("api on-air", "get", "/api/voice/conferences/{c}/on-air/", None, EVERY),
    ("api vote", "post", "/api/voice/opinions/{o}/vote/", {"kind": "upvote"}, ("participant",)),
    ("api tag", "post", "/api/voice/opinions/{o}/tag/", {"topic_id": None}, ("moderator", "national")),
    ("api on air", "post", "/api/voice/opinions/{o}/on-air/", {}, ("director", "national")),
]


@pytest.fixture
def world(tree, teacher, make_user, national):
    """Two conferences (Ba Vì's and Sóc Sơn's), each with an approved item written at a Ba Vì school."""
    day = datetime.date(2026, 11, 20)
    mine = events.create_conference(SYSTEM, title="Hội nghị huyện Ba Vì", date=day, host_unit=tree["bavi"])
    other = events.create_conference(SYSTEM, title="Hội nghị huyện Sóc Sơn", date=day, host_unit=tree["socson"])
    author = teacher("school_b", username="gv_tac_gia")
    items = {}
    for conf in (mine, other):
        # Written directly: the Sóc Sơn item is what the old hole let a Ba Vì teacher send.
        items[conf.pk] = Opinion.objects.create(conference=conf, text="Hồ sơ sổ sách quá nhiều", author=author,
                                                author_unit=tree["school_b"], at_unit=tree["bavi"],
                                                status=Opinion.Status.APPROVED, kind="question")
    users = {
        "participant": teacher("school_a", username="gv_ba_vi").user,
        "moderator": make_user("mod_ba_vi", Role.MODERATOR, tree["bavi"]),
        "organiser": make_user("tc_ba_vi", Role.UNIT_ORGANISER, tree["bavi"]),
        "analyst": make_user("pt_ba_vi", Role.ANALYST, tree["bavi"]),
        "director": make_user("dd_ba_vi", Role.DIRECTOR, tree["bavi"]),
        "national": national,
    }
    return {"mine": mine, "other": other, "items": items, "users": users}


def call(client, method, url, data):
    if url.startswith("/api/"):
        if method == "get":
            return client.get(url)
        return client.post(url, data, content_type=JSON)
    return client.get(url) if method == "get" else client.post(url, data)


def written(conference):
    """What the requests could have written for a conference: items, moderation, topics, runs."""
    return (Opinion.objects.filter(conference=conference).count(),
            ModerationAction.objects.filter(opinion__conference=conference).count(),
            list(Topic.objects.filter(conference=conference).values_list("pk", "name", "active")),
            OpinionGroupsRun.objects.filter(conference=conference).count(),
            list(Opinion.objects.filter(conference=conference).values_list("status", "upvotes", "topic_id")))


@pytest.mark.parametrize("role", EVERY)
@pytest.mark.parametrize("where", ["inside", "outside"])
def test_voice_endpoints_by_role_and_conference(client, world, role, where):
    client.force_login(world["users"][role])
    # The national organiser's line is the whole tree: Sóc Sơn's conference is inside it.
    conference = world["mine"] if where == "inside" else world["other"]
    refused = where == "outside" and role != "national"
    item = world["items"][conference.pk]
    before = written(conference)
    wrong = []
    for name, method, url, data, serves in ENDPOINTS:
        if not refused and role not in serves:
            continue
        r = call(client, method, url.format(c=conference.pk, o=item.pk), data)
        if refused and r.status_code != 404:
            wrong.append(f"{name}: {r.status_code}, expected 404")
        elif not refused and r.status_code == 404:
            wrong.append(f"{name}: 404 for a conference of the user's line")
    assert not wrong, f"{role} × {where}:\n" + "\n".join(wrong)
    if refused:
        assert written(conference) == before, "a refused request wrote something"


def test_get_never_creates_topics(client, world):
    """The pages and the API only read the topic list; an empty list stays empty on GET."""
    conference = world["mine"]
    Topic.objects.filter(conference=conference).delete()
    for role in ("participant", "moderator", "national"):
        client.force_login(world["users"][role])
        for url in (f"/voice/{conference.pk}/", f"/voice/{conference.pk}/moderate/",
                    f"/voice/{conference.pk}/topics/", f"/api/voice/conferences/{conference.pk}/topics/"):
            client.get(url)
            assert not Topic.objects.filter(conference=conference).exists(), f"GET {url} as {role} created topics"


def test_a_new_conference_starts_with_the_default_topics(tree):
    from diemcau.voice.topics import DEFAULT_TOPICS

    conference = events.create_conference(SYSTEM, title="Hội nghị mới", date=datetime.date(2026, 12, 1),
                                          host_unit=tree["bavi"])
    assert [t.key for t in conference.voice_topics.order_by("position")] == [t.key for t in DEFAULT_TOPICS]
    # Made any other way (an import, a fixture), it gets them too.
    made = Conference.objects.create(title="Hội nghị khác", date=datetime.date(2026, 12, 2), host_unit=tree["hanoi"])
    assert made.voice_topics.count() == len(DEFAULT_TOPICS)
