"""Fixtures shared by the whole suite: a small tree, accounts with roles, a real Celery worker."""

import itertools
import os

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.test import override_settings

from diemcau.core.acting import system_scope
from diemcau.orgs import services
from diemcau.orgs.models import EducationLevel, Person, Role, Unit
from diemcau.orgs.scoping import SYSTEM

pytest_plugins = ["tests.smtp"]  # the real local SMTP server: the ``smtp_server`` fixture

_codes = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def live_thumbs_folder(tmp_path_factory):
    """This run's own folder of kiosk thumbnails, for this process and the servers it starts (an
    earlier run's ``var/live/thumbs/2.jpg`` made a point that never posted one look recent)."""
    folder = str(tmp_path_factory.mktemp("live-thumbs"))
    os.environ["DIEMCAU_LIVE_THUMBS_DIR"] = folder
    with override_settings(LIVE_THUMBS_DIR=folder):
        yield folder


@pytest.fixture(autouse=True)
def system_actor():
    """Tests build their world and call models directly, as a loader would: the system is active.

    Requests (the test client, the live server) and consumers activate their user's scope on top.
    ``tests/orgs/test_scope_guard.py`` overrides this fixture to prove the guard without it.
    """
    with system_scope("tests: fixtures and direct model calls"):
        yield


@pytest.fixture
def make_unit(db):
    """Create a unit quickly: make_unit(parent, name=..., kind=...)."""

    def make(parent=None, name=None, kind=Unit.Kind.INSTITUTION, **fields):
        n = next(_codes)
        fields.setdefault("code", f"U{n:05d}")
        return services.create_unit(SYSTEM, parent=parent, kind=kind, name=name or f"Đơn vị {n}", **fields)

    return make


@pytest.fixture
def tree(make_unit):
    """The seed's shape in miniature: ministry → 2 departments → district offices → schools."""
    ministry = make_unit(None, "Bộ Giáo dục và Đào tạo", Unit.Kind.MINISTRY, code="BGDDT")
    hanoi = make_unit(ministry, "Sở GD&ĐT Hà Nội", Unit.Kind.DEPARTMENT, code="SO01")
    hcm = make_unit(ministry, "Sở GD&ĐT TP Hồ Chí Minh", Unit.Kind.DEPARTMENT, code="SO79")
    bavi = make_unit(hanoi, "Phòng GD&ĐT huyện Ba Vì", Unit.Kind.DISTRICT_OFFICE, code="PGD_BAVI")
    socson = make_unit(hanoi, "Phòng GD&ĐT huyện Sóc Sơn", Unit.Kind.DISTRICT_OFFICE, code="PGD_SOCSON")
    school_a = make_unit(bavi, "Trường Tiểu học Tây Đằng A", code="TH_TAYDANG_A",
                         levels=EducationLevel.PRIMARY, teachers_count=30)
    school_b = make_unit(bavi, "Trường Mầm non Vân Hòa", code="MN_VANHOA", levels=EducationLevel.PRESCHOOL)
    school_c = make_unit(socson, "Trường THCS Phù Linh", code="THCS_PHULINH",
                         levels=EducationLevel.LOWER_SECONDARY)
    school_d = make_unit(hcm, "Trường THPT Lê Hồng Phong", code="THPT_LHP",
                         levels=EducationLevel.UPPER_SECONDARY)
    return {
        "ministry": ministry, "hanoi": hanoi, "hcm": hcm, "bavi": bavi, "socson": socson,
        "school_a": school_a, "school_b": school_b, "school_c": school_c, "school_d": school_d,
    }


@pytest.fixture
def make_user(db, django_user_model):
    def make(username, role=None, unit=None, password="Mat-khau-2023"):
        user = django_user_model.objects.create_user(username=username, password=password)
        if role:
            services.grant_role(SYSTEM, user, role, unit)
        return user

    return make


@pytest.fixture
def organiser_bavi(make_user, tree):
    return make_user("bavi", Role.UNIT_ORGANISER, tree["bavi"])


@pytest.fixture
def national(make_user, tree):
    return make_user("bo", Role.NATIONAL_ORGANISER)


@pytest.fixture
def person_factory(db):
    counter = itertools.count(1)

    def make(unit, name="Nguyễn Văn An", category=Person.Category.TEACHER, **fields):
        n = next(counter)
        fields.setdefault("code", f"P{n:07d}")
        return services.create_person(SYSTEM, unit=unit, full_name=name, category=category, **fields)

    return make


@pytest_asyncio.fixture
async def close_thread_connections():
    """Close the connections the consumers' database threads opened, so the test database can go."""
    yield
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


@pytest.fixture(scope="session")
def task_workers(django_db_setup, tmp_path_factory):
    """A private redis-server on a unix socket and Celery workers on the test database (started on demand)."""
    from tests.servers import CeleryWorkers, redis_socket_server

    folder = tmp_path_factory.mktemp("celery")
    with redis_socket_server(folder) as sock:
        workers = CeleryWorkers(folder, f"redis+socket://{sock}")
        try:
            yield workers
        finally:
            workers.stop()


@pytest.fixture
def celery_worker(task_workers, settings):
    """A running Celery worker that this test's jobs are sent to (instead of running inline).

    The worker reads the database through its own connections: a test that uses it must be
    ``django_db(transaction=True)`` so that it sees committed rows.
    """
    from diemcau.celery import app

    # Read before the settings change: app.conf is loaded from the settings lazily, on first use, and
    # would otherwise remember "not eager" for every later test of the session.
    eager = app.conf.task_always_eager
    task_workers.ensure_running()
    if app.conf.broker_url != task_workers.broker_url:
        # This process sends to the worker's broker: inline runs made a producer pool for the default one.
        app.conf.broker_url = task_workers.broker_url
        app._pool = None
        app.amqp._producer_pool = None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        yield task_workers
    finally:
        app.conf.task_always_eager = eager


# Tests that want the machine to themselves: they bound a duration, kill and restart servers, or bring
# up the cluster harness. `make test` runs them one at a time after the parallel part (-n 2).
SERIAL = ("tests/cluster/", "tests/e2e/test_live.py", "tests/e2e/test_live_switch.py",
          "tests/attendance/test_backup_restore.py",
          "tests/attendance/test_sigkill.py", "tests/core/test_excel_bombs.py", "tests/points/test_planner.py",
          "tests/orgs/test_importing.py", "tests/core/test_database_down.py", "tests/core/test_task_worker.py",
          "tests/live/test_run_live_record.py", "tests/attendance/test_counts_agree.py",
          "tests/live/test_turn.py", "tests/live/test_hls_cache.py",
          "tests/live/test_renditions.py", "tests/live/test_ws_revocation.py", "tests/live/test_sip.py",
          "tests/live/test_sip_processes.py", "tests/live/test_node_agent.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SERIAL):
            item.add_marker(pytest.mark.serial)
