"""The live services, their scoping and bad input: tokens against a real Janus node, floor, programme,
reports, the board, edges, technical checks, and the websockets' scope checks."""

import asyncio
import datetime

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from diemcau.core.errors import DomainError, ScopeError
from diemcau.live import access, health, nodes, programme, site_board, technical_checks, tokens, viewers
from diemcau.live import floor as live_floor
from diemcau.live.janus_client import STREAMING, VIDEOROOM, JanusClient, JanusError
from diemcau.live.janus_node import JanusNode
from diemcau.live.models import LiveNode, LiveToken, PointLiveState, Programme
from diemcau.points.access import operates_point
from diemcau.points.models import BridgePoint
from diemcau.routing import websocket_urlpatterns

from .conftest import live_base_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def node_row(live_world, tmp_path):
    """A real root node registered the way the runtime registers it."""
    node = JanusNode("root", live_base_port(), folder=tmp_path / "root")
    node.start()
    row = LiveNode.objects.create(name="root", role=LiveNode.Role.ROOT, base_port=node.ports.http,
                                  ws_url=node.ws_url, http_url=node.http_url, admin_url=node.admin_url,
                                  api_secret=node.api_secret, admin_secret=node.admin_secret,
                                  admin_key=node.admin_key, state=LiveNode.State.UP)
    yield row
    node.stop()


def _session_with(url, token):
    async def go():
        async with JanusClient(url, token=token) as client:
            session = await client.create_session()
            await session.destroy()
    asyncio.run(go())


def test_kiosk_token_opens_janus_and_revoking_closes_it(live_world, node_row):
    w = live_world
    issued = tokens.issue_token(w["ops"]["hanoi"], w["conference"], LiveToken.Purpose.KIOSK, w["hanoi"])
    assert issued.token.plugins == [VIDEOROOM, STREAMING]
    _session_with(node_row.http_url, issued.token.token)
    with pytest.raises(JanusError) as no_token:
        _session_with(node_row.http_url, "made-up")
    assert no_token.value.code == 403
    tokens.revoke_token(w["ops"]["hanoi"], issued.token)
    with pytest.raises(JanusError):
        _session_with(node_row.http_url, issued.token.token)


def test_tokens_only_for_ones_own_point_and_role(live_world, node_row):
    w = live_world
    with pytest.raises(ScopeError):  # an operator of another point
        tokens.issue_token(w["ops"]["bavi"], w["conference"], LiveToken.Purpose.KIOSK, w["hanoi"])
    with pytest.raises(ScopeError):  # the studio is the director's
        tokens.issue_token(w["ops"]["hanoi"], w["conference"], LiveToken.Purpose.STUDIO)
    issued = tokens.issue_token(w["ops"]["bavi"], w["conference"], LiveToken.Purpose.KIOSK, w["bavi"])
    with pytest.raises(ScopeError) as other:
        tokens.token_for(issued.token.token, user=w["ops"]["bavi"], point=w["school"])
    assert other.value.code == "token_other_point"
    with pytest.raises(ScopeError):
        tokens.token_for(issued.token.token, user=w["ops"]["school"], point=w["bavi"])


def test_floor_request_grant_revoke_and_forged_grant(live_world):
    w = live_world
    req = live_floor.request_floor(w["ops"]["hanoi"], w["hanoi"], "Nguyễn Thị Thu Hà")
    with pytest.raises(DomainError) as again:
        live_floor.request_floor(w["ops"]["hanoi"], w["hanoi"], "Lần hai")
    assert again.value.code == "already_requested"
    with pytest.raises(ScopeError) as forged:
        live_floor.grant_floor(w["ops"]["hanoi"], req)
    assert forged.value.code == "not_director"
    with pytest.raises(ScopeError):
        live_floor.request_floor(w["ops"]["bavi"], w["hanoi"], "Không phải điểm của tôi")
    live_floor.grant_floor(w["director"], req)
    prog = Programme.objects.get(conference=w["conference"])
    assert (prog.source, prog.point_id, prog.speaker) == ("point", w["hanoi"].pk, "Nguyễn Thị Thu Hà")
    programme.set_programme(w["director"], w["conference"], "both")
    prog.refresh_from_db()
    assert prog.source == "both" and prog.switches.count() == 2
    live_floor.revoke_floor(w["director"], req)
    prog.refresh_from_db()
    assert (prog.source, prog.point_id) == ("host", None)
    assert [e.action for e in req.events.all()] == ["requested", "granted", "revoked"]
    with pytest.raises(DomainError) as no_floor:
        programme.set_programme(w["director"], w["conference"], "point")
    assert no_floor.value.code == "no_floor"


def test_stats_flood_is_refused_and_bad_figures_too(live_world):
    w = live_world
    op, point = w["ops"]["school"], w["school"]
    health.kiosk_connected(op, point)
    health.ingest_report(op, point, {"phase": "receiving", "fps": 15, "frames_decoded": 300, "bitrate_in_kbps": 400})
    refused = 0
    for _ in range(20):
        try:
            health.ingest_report(op, point, {"fps": 15})
        except DomainError as exc:
            assert exc.code == "too_frequent"
            refused += 1
    assert refused == 20
    assert PointLiveState.objects.get(point=point).refused_reports == 20
    PointLiveState.objects.filter(point=point).update(last_report_at=timezone.now() - datetime.timedelta(seconds=3))
    for bad in ({"fps": "many"}, {"loss_pct": 150}, {"rtt_ms": float("nan")}, {"phase": "dancing"}, ["x"]):
        with pytest.raises(DomainError) as exc:
            health.ingest_report(op, point, bad)
        assert exc.value.code == "bad_report"
    with pytest.raises(ScopeError):
        health.ingest_report(w["ops"]["bavi"], point, {"fps": 15})


def test_board_states_alarms_rollup_and_scope(live_world, make_user):
    w = live_world
    health.kiosk_connected(w["ops"]["hanoi"], w["hanoi"])
    health.ingest_report(w["ops"]["hanoi"], w["hanoi"], {"phase": "receiving", "fps": 15, "frames_decoded": 90})
    health.kiosk_connected(w["ops"]["bavi"], w["bavi"])
    health.ingest_report(w["ops"]["bavi"], w["bavi"], {"phase": "receiving", "fps": 14, "frames_decoded": 80,
                                                          "loss_pct": 12})
    health.kiosk_connected(w["ops"]["school"], w["school"])
    health.kiosk_disconnected(w["school"])
    data = site_board.board(w["director"], w["conference"])
    states = {p["id"]: (p["state"], p["degraded"]) for p in data["points"]}
    assert states[w["hanoi"].pk] == ("receiving", False)
    assert states[w["bavi"].pk] == ("receiving", True)
    assert states[w["school"].pk] == ("lost", False)
    assert states[w["socson"].pk] == ("never", False)
    assert {a["kind"] for a in data["alarms"]} == {"degraded", "lost"}
    hanoi = next(r for r in data["rollup"] if "Hà Nội" in r["unit"])
    assert (hanoi["total"], hanoi["live"], hanoi["degraded"], hanoi["lost"]) == (4, 2, 1, 1)
    # A Ba Vì organiser sees Ba Vì's two points only.
    from diemcau.orgs.models import Role
    bavi_org = make_user("bavi_org", Role.UNIT_ORGANISER, w["tree"]["bavi"])
    ids = {p["id"] for p in site_board.board(bavi_org, w["conference"])["points"]}
    assert ids == {w["bavi"].pk, w["school"].pk}


def test_edges_follow_the_relay_tree(live_world):
    w = live_world
    LiveNode.objects.create(name="root", role="root", base_port=21000)
    LiveNode.objects.create(name="edge-1", role="edge", base_port=22000, point=w["bavi"], capacity=1)
    assert nodes.node_for_point(w["school"]).name == "edge-1"
    assert nodes.node_for_point(w["bavi"]).name == "edge-1"
    assert nodes.node_for_point(w["hanoi"]).name == "root"
    plan = nodes.node_plan(w["conference"])
    served = {r["node"].name: (r["count"], r["over"]) for r in plan["nodes"]}
    assert served == {"root": (3, False), "edge-1": (2, True)}
    assert plan["nodes_needed"] == 1  # 5 points, the largest node takes 50


def test_technical_check_sets_readiness(live_world):
    w = live_world
    point = w["bavi"]
    BridgePoint.objects.filter(pk=point.pk).update(readiness="equipped", has_camera=True, has_microphone=True,
                                                   has_speakers=True, has_display=True, has_computer=True,
                                                   bandwidth_mbps=50)
    check = technical_checks.record_technical_check(w["ops"]["bavi"], point, camera_ok=True, microphone_ok=True,
                                                    mic_level=0.3, speakers_ok=True, bandwidth_kbps=2500, rtt_ms=12)
    assert check.passed
    point.refresh_from_db()
    assert (point.readiness, point.check_result) == ("checked", "passed")
    failed = technical_checks.record_technical_check(w["ops"]["bavi"], point, camera_ok=True, microphone_ok=True,
                                                     mic_level=0.3, speakers_ok=False, bandwidth_kbps=2500, rtt_ms=12)
    assert not failed.passed
    point.refresh_from_db()
    assert point.readiness == "equipped"
    with pytest.raises(ScopeError):
        technical_checks.record_technical_check(w["ops"]["hanoi"], point, camera_ok=True, microphone_ok=True,
                                                mic_level=0, speakers_ok=True, bandwidth_kbps=1, rtt_ms=1)
    with pytest.raises(DomainError):
        technical_checks.record_technical_check(w["ops"]["bavi"], point, camera_ok=True, microphone_ok=True,
                                                mic_level=0, speakers_ok=True, bandwidth_kbps=-5, rtt_ms=1)


def test_pages_are_scoped(client, live_world):
    w = live_world
    client.force_login(w["ops"]["bavi"])
    assert client.get(f"/live/points/{w['hanoi'].pk}/kiosk/").status_code == 404
    assert client.get(f"/live/conference/{w['conference'].pk}/director/").status_code == 404
    assert client.get(f"/live/points/{w['bavi'].pk}/kiosk/").status_code == 200  # no node: page says so
    assert client.post(f"/api/live/points/{w['hanoi'].pk}/floor", {"who": "X"},
                       content_type="application/json").status_code == 404
    assert client.post(f"/api/live/points/{w['bavi'].pk}/floor", {"who": ""},
                       content_type="application/json").json()["code"] == "who_required"
    client.force_login(w["director"])
    assert client.get(f"/live/conference/{w['conference'].pk}/board/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_websockets_check_scope_and_refuse_forged_grants(live_world):
    w = live_world
    LiveNode.objects.create(name="root", role="root", base_port=21000, state="down")
    token = tokens.issue_token(w["ops"]["hanoi"], w["conference"], LiveToken.Purpose.KIOSK, w["hanoi"]).token.token
    other = tokens.issue_token(w["ops"]["bavi"], w["conference"], LiveToken.Purpose.KIOSK, w["bavi"]).token.token

    async def connect(user, path):
        # The routes without the session middleware, so the test says who the user is.
        comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
        comm.scope["user"] = user
        return comm

    async def go():
        # No token, another point's token, another point: refused.
        for user, path in ((w["ops"]["hanoi"], f"/ws/live/kiosk/{w['hanoi'].pk}/"),
                           (w["ops"]["hanoi"], f"/ws/live/kiosk/{w['hanoi'].pk}/?token={other}"),
                           (w["ops"]["bavi"], f"/ws/live/kiosk/{w['hanoi'].pk}/?token={other}"),
                           (w["ops"]["hanoi"], f"/ws/live/director/{w['conference'].pk}/")):
            comm = await connect(user, path)
            connected, code = await comm.connect()
            assert not connected or code == 4403, path
            await comm.disconnect()
        comm = await connect(w["ops"]["hanoi"], f"/ws/live/kiosk/{w['hanoi'].pk}/?token={token}")
        connected, _ = await comm.connect()
        assert connected
        hello = await comm.receive_json_from()
        assert hello["type"] == "hello" and hello["programme"]["source"] == "host"
        await comm.send_json_to({"type": "floor_request", "who": "Nguyễn Thị Thu Hà"})
        floor = await comm.receive_json_from(timeout=5)
        assert floor["type"] == "floor" and floor["floor"]["state"] == "requested"
        await comm.send_json_to({"type": "grant", "id": floor["floor"]["id"]})
        refused = await comm.receive_json_from()
        assert (refused["type"], refused["code"]) == ("error", "not_director")
        await comm.disconnect()

    asyncio.run(go())


def test_a_viewer_token_works_on_the_node(live_world, node_row, person_factory):
    """Watching alone: a viewer token for the Streaming plugin, accepted by Janus (the "video" check-in
    that the watch page adds is tested with the page, in tests/site/test_watching.py)."""
    from django.contrib.auth import get_user_model

    from diemcau.events import services as events
    from diemcau.orgs.models import EducationLevel
    from diemcau.orgs.scoping import SYSTEM
    from diemcau.points import assignment, bridge_points

    w = live_world
    start = timezone.make_aware(datetime.datetime(2023, 8, 15, 8, 0))  # the conference's day
    session = events.create_session(SYSTEM, w["conference"], title="Phiên sáng", starts_at=start,
                                    ends_at=start + datetime.timedelta(hours=3), audience_levels=EducationLevel.PRIMARY)
    bridge_points.update_point(SYSTEM, w["school"], sessions=[session])
    assignment.assign(SYSTEM, session, w["tree"]["school_a"], w["school"])
    user = get_user_model().objects.create_user("giaovien", password="Mat-khau-2023")
    person = person_factory(w["tree"]["school_a"], name="Lê Thị Mai")
    type(person).objects.filter(pk=person.pk).update(user=user)
    issued = viewers.join_as_viewer(user, w["conference"])
    assert issued.token.purpose == "viewer" and issued.token.plugins == [STREAMING]
    _session_with(node_row.http_url, issued.token.token)


def test_operator_named_for_a_unit_runs_the_points_hosted_there(live_world, make_user):
    from diemcau.orgs.models import Role

    w = live_world
    unit_operator = make_user("kythuat", Role.POINT_OPERATOR, w["tree"]["bavi"])  # no point id yet
    assert operates_point(unit_operator, w["bavi"])
    assert not operates_point(unit_operator, w["school"])  # hosted by a school below, not by the office
    assert list(access.kiosk_points(unit_operator, w["conference"])) == [w["bavi"]]
