"""The unit's attendance report: one row per assigned institution, scoped, as .xlsx."""

import io

import pytest
from openpyxl import load_workbook

from diemcau.orgs.models import Role

from .test_services import morning_so_far  # noqa: F401  (fixture)

pytestmark = pytest.mark.smoke


def test_bavi_report_rows(client, morning_so_far, organiser_bavi, make_user):  # noqa: F811
    w = morning_so_far
    t = w["t"]
    client.force_login(organiser_bavi)
    response = client.get(f"/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/report.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [r for r in sheet.iter_rows(values_only=True) if r and isinstance(r[0], int)]
    by_name = {r[1]: r for r in rows}
    assert set(by_name) == {t["school_a"].name, t["school_b"].name, t["THPT_BAVI"].name}
    assert by_name[t["school_a"].name][4:7] == (4, 3, 75)
    assert by_name[t["school_a"].name][8].endswith(": 1")  # one staff member missing: incomplete
    assert by_name[t["school_b"].name][4:6] == (2, 1)
    assert by_name[t["THPT_BAVI"].name][4:6] == (80, 0)  # a headcount point: counted per point, not here
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, t["socson"]))
    assert client.get(f"/attendance/sessions/{w['session'].pk}/units/{t['bavi'].pk}/report.xlsx").status_code == 404
