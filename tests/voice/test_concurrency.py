"""Votes, submissions and merges racing each other on PostgreSQL: the rules hold under load."""


import pytest
from django.db import connection

from diemcau.core.errors import DomainError
from diemcau.voice import moderation, opinions
from diemcau.voice.models import Opinion, Vote
from tests.racing import race

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers anyway")]



def test_one_person_voting_in_parallel_counts_once(approved, teacher):
    op, me = approved("Giảm bớt hồ sơ sổ sách"), teacher()
    assert race(6, lambda i: opinions.vote(me, op, "upvote")) == []
    op.refresh_from_db()
    assert Vote.objects.filter(opinion=op).count() == 1 and op.upvotes == 1


def test_flooding_in_parallel_stops_at_the_limit(conference, teacher):
    me = teacher()
    errors = race(10, lambda i: opinions.submit(me, conference, f"Câu hỏi {i}"))
    assert Opinion.objects.filter(author=me).count() == opinions.RATE_PER_PERSON
    assert len(errors) == 10 - opinions.RATE_PER_PERSON
    assert all(isinstance(e, DomainError) and e.code == "rate_limited_person" for e in errors)


def test_crossed_merges_in_parallel_make_no_cycle(approved, moderator):
    mod = moderator("bavi")
    a, b = approved("Một"), approved("Hai", unit_key="school_b")
    pairs = [(a, b), (b, a)]
    errors = race(2, lambda i: moderation.merge(mod, *pairs[i]))
    assert len(errors) == 1 and isinstance(errors[0], DomainError)
    merged = Opinion.objects.filter(pk__in=[a.pk, b.pk], status="merged")
    assert merged.count() == 1


def test_many_voters_in_parallel_and_a_merge_leave_counters_equal_to_the_votes(approved, teacher, moderator):
    """The counters are added by each vote (no recount): a burst with repeats, then a merge, still adds up."""
    a = approved("Tăng phụ cấp cho giáo viên vùng khó", kind="opinion")
    b = approved("Phụ cấp giáo viên vùng khó cần tăng", kind="opinion")
    voters = [teacher() for _ in range(6)]
    kinds = ["agree", "disagree", "pass"]
    # Each voter upvotes and takes a stance on both items, each vote sent twice at once.
    assert race(12, lambda i: [opinions.vote(voters[i % 6], op, kind) for op in (a, b)
                               for kind in ("upvote", kinds[i % 3])]) == []
    for op in (a, b):
        op.refresh_from_db()
        assert (op.upvotes, op.agree + op.disagree + op.passes) == (6, 6)
    moderation.merge(moderator("bavi"), b, a)
    a.refresh_from_db()
    by_kind = {k: Vote.objects.filter(opinion=a, kind=k).count() for k in ("upvote", "agree", "disagree", "pass")}
    assert (a.upvotes, a.agree, a.disagree, a.passes) == tuple(by_kind.values())
