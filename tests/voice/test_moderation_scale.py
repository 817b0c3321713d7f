"""The moderation queue at scale: pages, filters, likely duplicates beside each item with a one-click
merge, bulk approve and forward (audited), the ranked list of the moderator's whole subtree."""

import hashlib

import pytest

from diemcau.core.models import AuditEntry
from diemcau.orgs.models import Person
from diemcau.voice import moderation, opinions
from diemcau.voice.models import Opinion, Topic
from diemcau.voice.pages import PAGE_SIZE

from .conftest import clustered

pytestmark = pytest.mark.smoke

TEXTS = ["Đề nghị giảm hồ sơ sổ sách cho giáo viên tiểu học",
         "Đề nghị giảm bớt hồ sơ sổ sách cho giáo viên tiểu học",
         "Khi nào tăng lương cơ sở cho giáo viên mầm non?"]


@pytest.fixture
def queue(conference, tree):
    """PAGE_SIZE + 4 pending items from Tây Đằng A (two near-duplicates among them), by several authors."""
    people = [Person.objects.create(unit=tree["school_a"], code=f"GV-Q{n}", full_name=f"Giáo viên {n}",
                                    category=Person.Category.TEACHER) for n in range(8)]
    items = [opinions.submit(people[0], conference, TEXTS[0]), opinions.submit(people[1], conference, TEXTS[1])]
    for n in range(PAGE_SIZE + 2):
        # Fillers unlike each other and the two above (hex digests): the engine finds no duplicate among them.
        words = " ".join(hashlib.sha256(f"{n}-{k}".encode()).hexdigest()[:7] for k in range(4))
        items.append(opinions.submit(people[2 + n % 6], conference, f"Kiến nghị {words}"))
    return items


def test_the_queue_comes_in_pages_and_filters(client, conference, queue, moderator):
    client.force_login(moderator("bavi"))
    url = f"/voice/{conference.pk}/moderate/"
    first = client.get(url).content.decode()
    assert f"{PAGE_SIZE + 4} ý kiến chờ duyệt" in first and first.count('name="items"') == PAGE_SIZE
    assert "Trang 1 / 2" in first or "Trang 1/2" in first or "1 / 2" in first or "của 2" in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count('name="items"') == 4 and "ws-connect" not in second  # filtered pages are not live
    topic = Topic.objects.create(conference=conference, name="Hồ sơ sổ sách", position=1)
    Opinion.objects.filter(pk=queue[0].pk).update(topic=topic)
    by_topic = client.get(url, {"topic": topic.pk}).content.decode()
    assert by_topic.count('name="items"') == 1 and TEXTS[0] in by_topic


def test_likely_duplicates_stand_beside_the_item_with_a_one_click_merge(client, conference, queue, moderator):
    mod = moderator("bavi")
    moderation.approve(mod, queue[0])
    clustered(conference)
    client.force_login(mod)
    html = client.get(f"/voice/{conference.pk}/moderate/", {"dups": "1"}).content.decode()
    assert html.count('name="items"') == 1  # the pending duplicate; its approved twin is not pending
    assert f"Gộp #{queue[1].pk} vào #{queue[0].pk}" in html
    client.post(f"/voice/opinions/{queue[1].pk}/merge/", {"target": queue[0].pk})
    assert Opinion.objects.get(pk=queue[1].pk).merged_into_id == queue[0].pk


def test_bulk_approve_then_forward_each_audited(client, conference, queue, moderator, tree):
    mod = moderator("bavi")
    client.force_login(mod)
    chosen = [o.pk for o in queue[:5]]
    moderation.approve(mod, queue[4])  # already approved: refused with its reason, the others go through
    response = client.post(f"/voice/{conference.pk}/moderate/bulk/", {"action": "approve", "items": chosen,
                                                                      "next": "?status=pending"})
    assert response.status_code == 302 and response["Location"].endswith("?status=pending")
    assert Opinion.objects.filter(pk__in=chosen, status=Opinion.Status.APPROVED).count() == 5
    assert AuditEntry.objects.filter(action="voice.opinion.approve", object_id__in=map(str, chosen)).count() == 5
    bulk = AuditEntry.objects.get(action="voice.opinion.bulk_approve")
    assert bulk.after["items"] == chosen[:4] and bulk.after["refused"] == [chosen[4]]
    client.post(f"/voice/{conference.pk}/moderate/bulk/", {"action": "forward", "items": chosen[:3]})
    assert set(Opinion.objects.filter(pk__in=chosen[:3]).values_list("at_unit", flat=True)) == {tree["bavi"].pk}


def test_the_ranked_list_shows_the_whole_subtree_by_default(client, conference, queue, moderator):
    mod = moderator("bavi")
    moderation.approve(mod, queue[0])  # approved, still at the school's level
    client.force_login(mod)
    assert TEXTS[0] in client.get(f"/voice/{conference.pk}/ranked/").content.decode()
    assert TEXTS[0] not in client.get(f"/voice/{conference.pk}/ranked/", {"below": "0"}).content.decode()
