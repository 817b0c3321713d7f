"""HLS at scale in the harness add-on: the root's packager behind an nginx cache host
(deploy/nginx/hls-cache.conf.template), 200 players in the clients namespace."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_cache_host_serves_200_players_with_a_few_origin_hits():
    sys.path.insert(0, str(ROOT / "deploy" / "cluster"))
    import harness
    import media_reach

    reason = harness.available()
    if reason:
        pytest.skip(reason)
    seconds = 5.0
    r = media_reach.hls_at_scale(players=200, seconds=seconds)
    print(r)
    assert r["errors"] == 0 and set(r["statuses"]) == {"200"}, r
    assert r["segments"] >= 200 * 2, r  # every player got the live edge and kept up
    # The origin sees about one request per segment and one per playlist second, not one per player.
    assert r["origin_hits"] <= 4 * (seconds + 4), r
    assert r["client_hits"] >= 50 * r["origin_hits"], r
    # Signed links are checked at the cache: refused there, never asked of the origin.
    assert (r["forged_status"], r["expired_status"], r["origin_hits_from_refused"]) == (403, 410, 0), r
