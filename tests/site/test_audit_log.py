"""The audit log page: scoped to the organiser's subtree; participants have none."""

import pytest

from diemcau.orgs import services
from diemcau.orgs.models import Role
from diemcau.orgs.scoping import SYSTEM

pytestmark = pytest.mark.smoke


@pytest.fixture
def bavi_client(client, organiser_bavi):
    client.force_login(organiser_bavi)
    return client


def test_audit_log_is_scoped(bavi_client, tree, national):
    services.update_unit(SYSTEM, tree["school_c"], short_name="Sóc Sơn change")
    services.update_unit(SYSTEM, tree["school_a"], short_name="Ba Vì change")
    html = bavi_client.get("/audit/").content.decode()
    assert "Tây Đằng A" in html
    assert "Phù Linh" not in html


def test_participant_cannot_open_the_audit_log(client, tree, make_user):
    user = make_user("gv", Role.PARTICIPANT, tree["school_a"])
    client.force_login(user)
    assert client.get("/audit/").status_code == 403
