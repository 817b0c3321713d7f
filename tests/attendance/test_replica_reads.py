"""The PostgreSQL replica router: inside ``reading_replica()`` the boards' and reports' reads go to the
``replica`` alias, writes to the primary; without a replica everything uses ``default``.

The replica here is a real second connection to the test database, read-only like a hot standby
(``default_transaction_read_only``) and named (``application_name``): a write routed to it would fail,
and each query is caught on the alias it ran on.
"""

import copy

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from diemcau.attendance import board
from diemcau.core import dbrouter
from diemcau.orgs.models import Unit
from diemcau.reports.attendance import attendance_report
from tests.attendance.conftest import roll_call


@pytest.fixture
def replica():
    default = connections["default"].settings_dict
    if not default["ENGINE"].endswith("postgresql"):
        pytest.skip("the replica is PostgreSQL's (streaming replication)")
    settings_dict = copy.deepcopy(default)
    options = {k: v for k, v in settings_dict.get("OPTIONS", {}).items() if k != "pool"}
    options["options"] = "-c default_transaction_read_only=on -c application_name=diemcau_replica_test"
    settings_dict["OPTIONS"] = options
    connections.settings[dbrouter.REPLICA] = settings_dict
    conn = connections[dbrouter.REPLICA]
    conn.connect()  # opened here: the test case allows only its declared aliases to open connections
    try:
        yield conn
    finally:
        connections[dbrouter.REPLICA].close()
        delattr(connections._connections, dbrouter.REPLICA)
        del connections.settings[dbrouter.REPLICA]


@pytest.mark.django_db(transaction=True)  # the replica connection sees only what is committed
def test_board_and_report_reads_go_to_the_replica_and_writes_to_the_primary(morning_so_far, replica):
    w = morning_so_far
    with replica.cursor() as cur:
        cur.execute("SELECT current_setting('application_name'), current_setting('transaction_read_only')")
        assert cur.fetchone() == ("diemcau_replica_test", "on")

    primary = connections["default"]
    with CaptureQueriesContext(primary) as on_primary, CaptureQueriesContext(replica) as on_replica:
        data = board.board_data(w["session"], w["t"]["bavi"])
    assert (data["expected"], data["present"]) == (86, 19)  # the hand-checked figures (test_board.py)
    assert len(on_replica) >= 4 and len(on_primary) == 0

    with CaptureQueriesContext(primary) as on_primary, CaptureQueriesContext(replica) as on_replica:
        _doc, figures = attendance_report(w["session"], w["t"]["bavi"])
    assert figures["present"] == 19 and len(on_replica) >= 4 and len(on_primary) == 0

    # A write inside reading_replica goes to the primary (the read-only replica would refuse it),
    # and its transaction's reads stay there too.
    with dbrouter.reading_replica(), CaptureQueriesContext(replica) as on_replica:
        roll_call(w, w["people"]["a_t3"])
    assert len(on_replica) == 0
    with dbrouter.reading_replica():
        assert board.board_data(w["session"], w["t"]["bavi"])["present"] == 20

    # Outside reading_replica, reads use the primary.
    with CaptureQueriesContext(replica) as on_replica:
        assert Unit.objects.filter(pk=w["t"]["bavi"].pk).exists()
    assert len(on_replica) == 0


@pytest.mark.django_db
def test_without_a_replica_everything_reads_the_primary(morning_so_far):
    assert not dbrouter.replica_configured()
    with dbrouter.reading_replica():
        assert dbrouter.read_alias() == "default"
        assert board.board_data(morning_so_far["session"], morning_so_far["t"]["bavi"])["present"] == 19
