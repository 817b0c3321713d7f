"""The vote's fast path (``voice.access.vote_target``: one statement for the item and the voter).

Same reply as the item fully loaded (anonymity kept), same reach rules (404 outside, "not a
participant" inside without a person), and the statements a vote costs.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import access, moderation, opinions
from diemcau.voice.api import OpinionOut
from diemcau.voice.models import Opinion

pytestmark = pytest.mark.smoke


def vote(client, opinion_id, kind="upvote"):
    return client.post(f"/api/voice/opinions/{opinion_id}/vote/", {"kind": kind}, content_type="application/json")


def test_the_vote_reply_is_the_item_as_fully_loaded_anonymity_kept(client, conference, teacher, moderator):
    author = teacher("school_a")
    topic = conference.voice_topics.order_by("pk").first()
    anonymous = moderation.approve(SYSTEM, opinions.submit(author, conference, "Giảm hồ sơ sổ sách",
                                                           kind="opinion", anonymous=True, topic=topic))
    named = moderation.approve(SYSTEM, opinions.submit(teacher("school_a"), conference, "Tăng phụ cấp"))
    voter = teacher("school_a")
    client.force_login(voter.user)
    for item, kind in ((anonymous, "agree"), (named, "upvote")):
        with CaptureQueriesContext(connection) as captured:
            body = vote(client, item.pk, kind).json()
        assert body["created"]
        reads = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
        # One read of the item (with its levels, topics, host unit and the voter), none of the conference.
        assert sum("voice_opinion" in sql for sql in reads) == 1
        assert not any(sql.startswith('SELECT 1 AS "a" FROM "events_conference"') for sql in reads)
        full = OpinionOut.from_orm(access.opinion_for(voter.user, item.pk, related=("topic", "suggested_topic")))
        assert body["opinion"] == full.model_dump()
    assert body["opinion"]["unit"] == "Trường Tiểu học Tây Đằng A"
    first = vote(client, anonymous.pk, "agree").json()
    assert not first["created"] and first["opinion"]["agree"] == 1
    assert first["opinion"]["unit"] is None and first["opinion"]["at_unit_id"] is None  # anonymous, still at school
    assert first["opinion"]["topic"]["id"] == topic.pk
    assert Opinion.objects.get(pk=anonymous.pk).agree == 1


def test_the_fast_path_keeps_the_reach_rules(client, conference, approved, moderator, make_user):
    item = approved("Đề nghị tăng phụ cấp thâm niên")
    client.force_login(moderator("bavi"))  # in reach, but no person: not a participant
    r = vote(client, item.pk)
    assert r.status_code == 400 and r.json()["code"] == "not_a_participant"
    client.force_login(make_user("nobody"))  # no role, no person: the item does not exist for them
    assert vote(client, item.pk).status_code == 404
    client.force_login(moderator("socson", "mod_ss"))  # the conference's line, not the item's reach
    assert vote(client, item.pk).status_code == 404
    assert vote(client, 10**9).status_code == 404
    assert Opinion.objects.get(pk=item.pk).upvotes == 0
