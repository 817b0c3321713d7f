"""The cluster harness for the fault tests (``deploy/cluster/harness.py``): one for the folder, then down.

Skipped, with the reason, when not root or when ``ip netns`` (or nginx, redis-server, PostgreSQL
15) is missing. ``DIEMCAU_CLUSTER_CHECKINS`` sets the size of the app-kill burst (default 2,000).
"""

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "cluster"))

import harness  # noqa: E402
import imports  # noqa: E402, F401  (the tests import it from here)

import load  # noqa: E402

BURST = int(os.environ.get("DIEMCAU_CLUSTER_CHECKINS", "2000"))
PROXY = harness.address("proxy")


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(item.fspath).is_relative_to(here):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="package")
def cluster():
    """The harness up with no scenario, then a small national world (scale 0.003, ~10,000 people).

    One for this folder (package scope): it is taken down before the rest of the suite goes on.
    """
    reason = harness.available()
    if reason:
        pytest.skip(reason)
    c = harness.Cluster(var=ROOT / "var" / "cluster-tests")
    try:
        c.up("none")
        out = c.python_in("app1", ROOT / "deploy" / "cluster" / "world.py", "--scale", "0.003",
                          "--people", str(BURST + 600))
        c.world = json.loads(out)
        c.people = list(c.world["arrivals"])
        yield c
    finally:
        c.down()


def take(c, n: int) -> list:
    """The next ``n`` people of the morning (each test checks in people nobody else did)."""
    taken, c.people = c.people[:n], c.people[n:]
    assert len(taken) == n, "the cluster world ran out of people"
    return taken


@pytest.fixture
def both_apps(cluster):
    """Both app hosts serving (a test that killed one started it again without waiting)."""
    for host in harness.APP_HOSTS:
        if cluster.pid(host, "asgi") is None:
            cluster.start_host(host)
        else:
            cluster.wait_asgi(host)
    return cluster


@pytest.fixture
def board(cluster):
    viewer = load.BoardViewer(PROXY, cluster.world)
    viewer.start()
    yield viewer
    viewer.stop()


def stored(c, client_ids) -> tuple[int, int]:
    """(rows, distinct client ids) among ``client_ids`` in the cluster's database."""
    ids = ",".join(f"'{cid}'" for cid in client_ids) or "NULL"
    rows, distinct = c.psql(None, f"SELECT count(*), count(DISTINCT client_id) FROM attendance_checkin "
                                  f"WHERE client_id IN ({ids})").split()
    return int(rows), int(distinct)
