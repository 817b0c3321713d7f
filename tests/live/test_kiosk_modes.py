"""A kiosk's reception mode: forced by the point's operator only (audited, kept across a cache loss),
reported with the A/V figures, shown on the site board."""

import pytest
from django.core.cache import cache

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry
from diemcau.live import health, kiosk_modes, site_board

pytestmark = pytest.mark.django_db


def test_only_the_points_operator_forces_a_mode_and_it_survives_the_cache(live_world):
    w = live_world
    with pytest.raises(ScopeError):
        kiosk_modes.force_mode(w["ops"]["bavi"], w["hanoi"], "audio")
    with pytest.raises(DomainError) as bad:
        kiosk_modes.force_mode(w["ops"]["hanoi"], w["hanoi"], "satellite")
    assert bad.value.code == "bad_mode"
    assert kiosk_modes.forced_mode(w["hanoi"].pk) == "auto"
    kiosk_modes.force_mode(w["ops"]["hanoi"], w["hanoi"], "audio")
    entry = AuditEntry.objects.get(action="live.kiosk_mode_forced", object_id=str(w["hanoi"].pk))
    assert (entry.before, entry.after, entry.actor_id) == ({"mode": "auto"}, {"mode": "audio"}, w["ops"]["hanoi"].pk)
    cache.clear()  # a restarted cache: the audit log still says what was forced
    assert kiosk_modes.forced_mode(w["hanoi"].pk) == "audio"


def test_the_reported_mode_reaches_the_board(live_world):
    w = live_world
    health.ingest_report(w["ops"]["hanoi"], w["hanoi"], {"phase": "receiving", "fps": 15, "mode": "low"})
    kiosk_modes.force_mode(w["ops"]["bavi"], w["bavi"], "hls")
    rows = {p["id"]: p["reception"] for p in site_board.board(w["director"], w["conference"])["points"]}
    assert rows[w["hanoi"].pk] == {"mode": "low", "label": "Thấp (360p)", "forced": False}
    assert rows[w["bavi"].pk]["forced"] is True and rows[w["bavi"].pk]["mode"] == ""  # no report yet
    health.ingest_report(w["ops"]["school"], w["school"], {"phase": "receiving", "fps": 15, "mode": "<script>"})
    assert site_board.board(w["director"], w["conference"])["points"]  # an unknown mode is ignored
    assert {p["id"]: p["reception"]["mode"] for p in site_board.board(w["director"], w["conference"])["points"]}[
        w["school"].pk] == ""
