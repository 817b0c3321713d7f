"""The live API's replies are typed: every route declares its schema in the OpenAPI document, and
what the routes send is what those schemas say (ninja validates each reply against them)."""

import datetime
import secrets

import pytest
from django.utils import timezone

from diemcau.live import health
from diemcau.live.janus_node import JanusNode
from diemcau.live.models import LiveNode, LiveToken

from .conftest import live_base_port

pytestmark = pytest.mark.django_db


def _schema(client) -> dict:
    return client.get("/api/openapi.json").json()


def _reply_fields(doc: dict, path: str, method: str) -> set[str]:
    ref = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return set(doc["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])


def test_every_live_route_declares_its_reply_and_its_refusals(client):
    doc = _schema(client)
    operations = [(path, method, op) for path, ops in doc["paths"].items() if path.startswith("/api/live/")
                  for method, op in ops.items()]
    assert len(operations) == 18  # 16 for pages and kiosks (the poll vote also by device token), 2 for agents
    untyped = [f"{method.upper()} {path}" for path, method, op in operations
               if "$ref" not in op["responses"].get("200", {}).get("content", {}).get("application/json", {})
               .get("schema", {})]
    assert untyped == []
    assert all({"400", "404"} <= set(op["responses"]) for _, _, op in operations)


def test_the_technical_check_is_named_for_what_it_is(client):
    schemas = _schema(client)["components"]["schemas"]
    assert "TechnicalCheckIn" in schemas and "CheckIn" not in schemas
    body = _schema(client)["paths"]["/api/live/points/{point_id}/check"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/TechnicalCheckIn")


def _token(user, point) -> str:
    return LiveToken.objects.create(token=secrets.token_hex(16), user=user, conference=point.conference, point=point,
                                    purpose=LiveToken.Purpose.KIOSK,
                                    expires_at=timezone.now() + datetime.timedelta(hours=1)).token


def test_the_floor_programme_board_and_check_replies_match_their_schemas(client, live_world):
    w, doc = live_world, _schema(client)
    conf, point, op = w["conference"], w["hanoi"], w["ops"]["hanoi"]

    client.force_login(op)
    health.kiosk_connected(op, point)
    stats = client.post(f"/api/live/points/{point.pk}/stats", {"phase": "receiving", "fps": 25, "frames_decoded": 90},
                        content_type="application/json", HTTP_X_LIVE_TOKEN=_token(op, point))
    assert stats.status_code == 200, stats.content
    assert set(stats.json()) == _reply_fields(doc, "/api/live/points/{point_id}/stats", "post")
    asked = client.post(f"/api/live/points/{point.pk}/floor", {"who": "Nguyễn Thị Thu Hà"},
                        content_type="application/json")
    assert asked.status_code == 200 and asked.json()["state"] == "requested"
    check = client.post(f"/api/live/points/{point.pk}/check", {"camera_ok": True, "microphone_ok": True,
                        "mic_level": 0.3, "speakers_ok": True, "bandwidth_kbps": 2500, "rtt_ms": 12},
                        content_type="application/json")
    assert check.status_code == 200 and set(check.json()) == {"id", "passed"}

    client.force_login(w["director"])
    queue = client.get(f"/api/live/conferences/{conf.pk}/floor").json()["queue"]
    assert [(q["point"], q["who"]) for q in queue] == [(point.name, "Nguyễn Thị Thu Hà")]
    granted = client.post(f"/api/live/floor/{queue[0]['id']}/grant", {"source": "point"},
                          content_type="application/json")
    assert granted.status_code == 200 and granted.json()["granted_at"]
    assert set(granted.json()) == _reply_fields(doc, "/api/live/floor/{request_id}/grant", "post")
    muted = client.post(f"/api/live/points/{point.pk}/mute", {"muted": True}, content_type="application/json")
    assert muted.json() == {"muted": True}
    both = client.post(f"/api/live/conferences/{conf.pk}/programme", {"source": "both"},
                       content_type="application/json")
    assert both.status_code == 200 and both.json()["source"] == "both" and both.json()["point_id"] == point.pk

    board = client.get(f"/api/live/conferences/{conf.pk}/board")
    assert board.status_code == 200, board.content
    body = board.json()
    assert set(body) == _reply_fields(doc, "/api/live/conferences/{conference_id}/board", "get")
    row = next(p for p in body["points"] if p["id"] == point.pk)
    assert row["state"] == "floor" and row["figures"]["fps"] == 25 and row["figures"]["frames_decoded"] == 90

    revoked = client.post(f"/api/live/floor/{queue[0]['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    ages = client.get(f"/api/live/conferences/{conf.pk}/thumbnails?ids={point.pk}")
    assert ages.json() == {"ages": {str(point.pk): None}}


def test_a_refusal_keeps_its_code(client, live_world):
    w = live_world
    client.force_login(w["ops"]["hanoi"])
    client.post(f"/api/live/points/{w['hanoi'].pk}/floor", {"who": "A"}, content_type="application/json")
    again = client.post(f"/api/live/points/{w['hanoi'].pk}/floor", {"who": "B"}, content_type="application/json")
    assert again.status_code == 400 and again.json()["code"] == "already_requested"
    outside = client.post(f"/api/live/points/{w['socson'].pk}/check", {"camera_ok": True, "microphone_ok": True,
                          "speakers_ok": True}, content_type="application/json")
    assert outside.status_code == 404 and outside.json()["code"] == "not_found"


def test_the_janus_config_reply_matches_its_schema(client, live_world, tmp_path):
    """A kiosk's token against a real root node, issued and renewed through the API."""
    w, doc = live_world, _schema(client)
    node = JanusNode("root", live_base_port(), folder=tmp_path / "root")
    node.start()
    try:
        LiveNode.objects.create(name="root", role=LiveNode.Role.ROOT, base_port=node.ports.http, ws_url=node.ws_url,
                                http_url=node.http_url, admin_url=node.admin_url, api_secret=node.api_secret,
                                admin_secret=node.admin_secret, admin_key=node.admin_key, state=LiveNode.State.UP)
        client.force_login(w["ops"]["bavi"])
        issued = client.post(f"/api/live/points/{w['bavi'].pk}/token", {"purpose": "kiosk"},
                             content_type="application/json")
        assert issued.status_code == 200, issued.content
        config = issued.json()
        assert set(config) == _reply_fields(doc, "/api/live/points/{point_id}/token", "post")
        assert config["root_url"] == node.ws_url and config["lifetime_s"] > 0
        renewed = client.post("/api/live/tokens/renew", HTTP_X_LIVE_TOKEN=config["token"])
        assert renewed.status_code == 200 and renewed.json()["token"] != config["token"]
    finally:
        node.stop()
