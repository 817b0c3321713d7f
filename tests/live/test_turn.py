"""TURN for halls behind NAT: the credentials issued with a Janus token (coturn's ``use-auth-secret``),
and, in the harness add-on, a hall that reaches only the TURN host decoding the programme."""

import base64
import hashlib
import hmac
import sys
from pathlib import Path

import pytest

from diemcau.live import tokens
from diemcau.live.models import LiveNode, LiveToken

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_token_carries_turn_credentials_that_end_with_it(live_world, settings):
    w = live_world
    LiveNode.objects.create(name="root", role=LiveNode.Role.ROOT, base_port=1, ws_url="ws://127.0.0.1:1",
                            state=LiveNode.State.DOWN)
    settings.LIVE_TURN_SECRET = "s3cret"
    settings.LIVE_TURN_URLS = ["turn:turn.example.vn:3478?transport=udp", "turns:turn.example.vn:443?transport=tcp"]
    issued = tokens.issue_token(w["ops"]["hanoi"], w["conference"], LiveToken.Purpose.KIOSK, w["hanoi"])
    [server] = issued.as_config()["ice_servers"]
    expires = int(issued.token.expires_at.timestamp())
    assert server["username"] == f"{expires}:point-{w['hanoi'].pk}"
    # What coturn computes from its static-auth-secret: base64(HMAC-SHA1(secret, username)).
    expected = base64.b64encode(hmac.new(b"s3cret", server["username"].encode(), hashlib.sha1).digest()).decode()
    assert server["credential"] == expected
    assert server["urls"] == settings.LIVE_TURN_URLS
    settings.LIVE_TURN_URLS = []
    assert issued.as_config()["ice_servers"] == []


def test_a_hall_that_reaches_only_the_turn_host_decodes_the_programme():
    """Harness add-on (root): Chromium in a namespace with no route to the edge watches with
    ``iceTransportPolicy: relay`` through coturn over UDP, TCP and TLS on 443."""
    sys.path.insert(0, str(ROOT / "deploy" / "cluster"))
    import harness
    import media_reach

    reason = harness.available()
    if reason:
        pytest.skip(reason)
    result = media_reach.turn_only_client_decoding()
    assert result["edge_reachable_from_clients"] is False
    for transport, seen in result["by_transport"].items():
        assert seen["decoding"], (transport, seen)
        assert seen["candidate_type"] == "relay", (transport, seen)
        assert seen["relay_protocol"] == transport, (transport, seen)
        assert seen["audio_bytes"] > 0
    assert result["turn_only_client_decoding"] is True
