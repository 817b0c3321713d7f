"""A point's list of people: statuses, flags and scope, as a page and an .xlsx."""

import io

import pytest
from openpyxl import load_workbook

from diemcau.orgs.models import Role

from .conftest import morning_so_far  # noqa: F401  (fixture)

pytestmark = pytest.mark.smoke


def test_point_people_list_statuses_flags_and_scope(client, morning_so_far, organiser_bavi, make_user):  # noqa: F811
    from django.utils.html import escape

    w, t, p = morning_so_far, morning_so_far["t"], morning_so_far["people"]
    url = f"/attendance/sessions/{w['session'].pk}/points/{w['bavi_point'].pk}/people/"
    client.force_login(organiser_bavi)
    page = client.get(url).content.decode()
    # School A has no names (composition rule): all five of its people are listed; school B: its two named.
    for key in ("a_principal", "a_t1", "a_t2", "a_t3", "a_staff", "b_principal", "b_t1"):
        assert escape(p[key].full_name) in page
    assert escape(p["thpt_t1"].full_name) not in page
    book = load_workbook(io.BytesIO(client.get(url.replace("people/", "people.xlsx")).content))
    rows = {r[1]: r for r in book.active.iter_rows(values_only=True) if r and isinstance(r[0], int)}
    assert len(rows) == 7
    assert rows[p["a_t1"].full_name][6] == "Có mặt" and rows[p["a_t1"].full_name][9] == "Trùng lặp"
    assert rows[p["a_t3"].full_name][6] == "Vắng mặt" and rows[p["a_t3"].full_name][7] is None
    assert rows[p["b_principal"].full_name][5] == "Có" and rows[p["a_t1"].full_name][5] is None
    assert rows[p["b_principal"].full_name][8] == "Điểm danh"
    assert rows[p["a_t2"].full_name][7].count("/") == 2  # time dd/mm/yyyy
    # Checked in at THPT's point though assigned to Ba Vì's: listed there as another point's person.
    thpt = client.get(f"/attendance/sessions/{w['session'].pk}/points/{w['thpt_point'].pk}/people/").content.decode()
    assert escape(p["b_principal"].full_name) in thpt and escape(p["thpt_t1"].full_name) in thpt
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, t["socson"]))
    assert client.get(url).status_code == 404
    assert client.get(url.replace("people/", "people.xlsx")).status_code == 404
    # The Hà Nội point is hosted above Sóc Sơn, but serves its school: Sóc Sơn sees its own people only.
    hanoi = client.get(f"/attendance/sessions/{w['session'].pk}/points/{w['hanoi_point'].pk}/people/")
    assert hanoi.status_code == 200 and escape(p["c_t1"].full_name) in hanoi.content.decode()
