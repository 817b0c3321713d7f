"""Scope as a guard: scoped models refuse a query when no scope (and no system actor) is active.

This module runs WITHOUT the suite's autouse system actor (``system_actor`` is overridden below),
so what it builds it builds inside ``system_scope`` blocks, and what it queries bare must raise.
"""

import threading

import pytest
from django.apps import apps
from django.db.migrations.state import ProjectState

from diemcau.core.acting import ScopeMissing, system_scope
from diemcau.orgs import services
from diemcau.orgs.models import Person, Role, Unit
from diemcau.orgs.scoping import SYSTEM, ScopedManager, acting_as, scope_for
from diemcau.points.models import BridgePoint
from diemcau.voice.models import Opinion

pytestmark = pytest.mark.django_db


@pytest.fixture
def system_actor():
    """Overrides the suite's autouse fixture: nothing is active in these tests."""
    yield


@pytest.fixture
def world(django_user_model):
    with system_scope("test setup"):
        ministry = services.create_unit(SYSTEM, parent=None, kind=Unit.Kind.MINISTRY, code="BGD", name="Bộ GD&ĐT")
        bavi = services.create_unit(SYSTEM, parent=ministry, kind=Unit.Kind.DISTRICT_OFFICE, code="PGD_BV",
                                    name="Phòng GD&ĐT Ba Vì")
        teacher = services.create_person(SYSTEM, unit=bavi, full_name="Nguyễn Văn An",
                                         category=Person.Category.TEACHER, code="P0000001")
        organiser = django_user_model.objects.create_user("tc_bavi", password="Mat-khau-2023")
        services.grant_role(SYSTEM, organiser, Role.UNIT_ORGANISER, bavi)
        admin = django_user_model.objects.create_superuser("quantri", password="Mat-khau-2023")
    return {"ministry": ministry, "bavi": bavi, "teacher": teacher, "organiser": organiser, "admin": admin}


@pytest.mark.parametrize("model", [Unit, Person, BridgePoint, Opinion])
def test_a_scoped_model_queried_with_no_scope_raises(world, model):
    with pytest.raises(ScopeMissing) as refused:
        list(model.objects.all())
    assert model._meta.label in str(refused.value) and "system_scope" in str(refused.value)


def test_related_managers_are_guarded_too(world):
    with pytest.raises(ScopeMissing):
        list(world["ministry"].children.all())
    with pytest.raises(ScopeMissing):
        list(world["bavi"].people.all())
    with system_scope("test: the tree under the ministry"):
        assert list(world["ministry"].children.all()) == [world["bavi"]]


def test_the_system_or_a_users_scope_lets_the_query_through(world):
    with system_scope("test: every unit"):
        assert Unit.objects.count() == 2
    organiser = world["organiser"]
    with acting_as(organiser):
        scope = scope_for(organiser)
        assert scope is scope_for(organiser)  # built once for the block ...
        assert list(scope.units()) == [world["bavi"]]
    assert "_diemcau_scope" not in organiser.__dict__  # ... and never kept on the user object
    with pytest.raises(ScopeMissing):  # the block ended: nothing active again
        Unit.objects.count()


def test_foreign_keys_and_select_related_use_the_plain_base_manager(world):
    with system_scope("test: load the person"):
        person = Person.objects.get(pk=world["teacher"].pk)
        joined = Person.objects.select_related("unit").get(pk=world["teacher"].pk)
    assert person.unit == world["bavi"]  # a forward relation reads through the base manager
    assert joined.unit.name == "Phòng GD&ĐT Ba Vì"
    assert type(Unit._base_manager) is not ScopedManager


def test_migrations_get_plain_managers():
    historical = ProjectState.from_apps(apps).apps
    for label in ("orgs.Unit", "orgs.Person", "points.BridgePoint", "voice.Opinion"):
        model = historical.get_model(label)
        assert not isinstance(model._default_manager, ScopedManager), label
    assert isinstance(Unit._default_manager, ScopedManager)


def test_a_request_activates_its_users_scope(world, client):
    client.force_login(world["organiser"])
    assert client.get("/").status_code == 200
    assert client.get(f"/orgs/units/{world['bavi'].pk}/").status_code == 200
    assert client.get(f"/orgs/units/{world['ministry'].pk}/").status_code == 404  # the scope, not the guard


def test_the_admin_works_under_the_guard(world, client):
    client.force_login(world["admin"])
    page = client.get("/admin/orgs/unit/")
    assert page.status_code == 200 and "Phòng GD&amp;ĐT Ba Vì" in page.content.decode()
    assert client.get(f"/admin/orgs/unit/{world['bavi'].pk}/change/").status_code == 200


def test_a_new_thread_starts_with_nothing_active(world):
    seen = {}

    def count():
        try:
            Unit.objects.count()
        except ScopeMissing:
            seen["refused"] = True

    with system_scope("test: the parent thread"):
        worker = threading.Thread(target=count)
        worker.start()
        worker.join()
    assert seen == {"refused": True}
