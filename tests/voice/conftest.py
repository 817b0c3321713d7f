"""Fixtures of the voice tests: a conference on the small tree, teachers with accounts, moderators."""

import datetime

import pytest

from diemcau.events.models import Conference
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM
from diemcau.voice import moderation, opinions


@pytest.fixture
def conference(tree):
    return Conference.objects.create(title="Hội nghị gặp mặt nhà giáo", date=datetime.date(2026, 11, 20),
                                     host_unit=tree["ministry"])


@pytest.fixture
def teacher(make_user, person_factory, tree):
    """make_teacher(unit_key, username): a Person at that unit with a login."""

    def make(unit_key="school_a", username=None, name="Nguyễn Thị Lan"):
        username = username or f"gv_{unit_key}_{make.n}"
        make.n += 1
        user = make_user(username)
        return person_factory(tree[unit_key], name=name, user=user)

    make.n = 0
    return make


@pytest.fixture
def moderator(make_user, tree):
    def make(unit_key, username=None):
        return make_user(username or f"mod_{unit_key}", Role.MODERATOR, tree[unit_key])

    return make


@pytest.fixture
def approved(conference, teacher, moderator):
    """approved(text, unit_key, kind): a submitted item approved by its school's district moderator."""

    def make(text, unit_key="school_a", kind="question", person=None):
        person = person or teacher(unit_key)
        op = opinions.submit(person, conference, text, kind=kind)
        return moderation.approve(SYSTEM, op)

    return make


def clustered(conference):
    """What the worker does once a moderator has looked: the conference's duplicates clustered and stored."""
    from diemcau.voice import stored

    stored.duplicates_for(conference)
    stored.recompute(conference.pk)
