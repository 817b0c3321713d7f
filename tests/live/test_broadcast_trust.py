"""The broadcast's trust (security review items 1–3) against a real Janus root and the real runtime.

1. Publisher ids are bound to grants: a kiosk token that joins the root's room as the studio's old
   fixed id (1) or as another point's old fixed id (1,000,000 + point id) is refused or kicked within
   a second and never forwarded; grants and studio credentials carry random ids below 2**53.
2. Tokens die with the right that issued them: sign-out, role removal and deactivation remove them
   from Janus; they last minutes, are renewed while the right holds, and the runtime removes the
   expired ones and never adds a revoked or expired one again after a restart.
3. The floor queue's names are for the director and the subtree's organisers; HLS needs a signed,
   expiring link that only people invited to the conference get.
"""

import asyncio
import datetime
import threading
import time

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from diemcau.core.errors import ScopeError
from diemcau.live import floor, hls, layout
from diemcau.live import tokens as live_tokens
from diemcau.live.janus_client import VIDEOROOM, JanusAdmin, JanusClient, JanusError
from diemcau.live.janus_node import JanusNode
from diemcau.live.janus_plugins import VideoRoom
from diemcau.live.models import LiveNode, LiveToken
from diemcau.live.runtime import LiveRuntime, NodeSpec
from diemcau.orgs import services as orgs
from diemcau.orgs.models import Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM
from diemcau.routing import websocket_urlpatterns
from tests.waiting import wait_for

from .conftest import live_base_port

OLD_STUDIO_ID = 1


def old_point_id(point) -> int:
    return 1_000_000 + point.pk


@pytest.fixture
def node_row(live_world, tmp_path):
    """A real root node registered the way the runtime registers it (no runtime)."""
    node = JanusNode("root", live_base_port(), folder=tmp_path / "root")
    node.start()
    row = LiveNode.objects.create(name="root", role=LiveNode.Role.ROOT, base_port=node.ports.http,
                                  ws_url=node.ws_url, http_url=node.http_url, admin_url=node.admin_url,
                                  api_secret=node.api_secret, admin_secret=node.admin_secret,
                                  admin_key=node.admin_key, state=LiveNode.State.UP)
    yield row
    node.stop()


@pytest.fixture
def on_air(live_world, tmp_path):
    """The root node and the runtime (synthetic host on air) in a thread; stopped afterwards."""
    port = live_base_port()
    root = JanusNode("root", port, folder=tmp_path / "root")
    root.start()
    runtime = LiveRuntime(live_world["conference"].pk, [NodeSpec("root", port, role="root")],
                          nodes={"root": root}, synthetic_host=True, feed_size=(320, 180))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(runtime.run()), daemon=True)
    thread.start()
    wait_for(lambda: runtime.root.up and LiveNode.objects.filter(name="root", state=LiveNode.State.UP).exists(), 20,
             "root provisioned")
    yield {"root": root, "runtime": runtime, "world": live_world}
    loop.call_soon_threadsafe(runtime.stop)
    thread.join(15)
    root.stop()


def _janus_accepts(url, token) -> bool:
    async def go():
        async with JanusClient(url, token=token) as client:
            session = await client.create_session()
            await session.destroy()
    try:
        asyncio.run(go())
    except JanusError as exc:
        assert exc.code == 403, exc
        return False
    return True


async def _squat(root: JanusNode, token: str, room: int, pub_id: int) -> dict:
    """Join the root's room with a kiosk token as ``pub_id``; watch the room as diemcau does.

    Returns {"refused": code} or {"present_for": seconds the squatter stayed a participant}.
    """
    async with JanusClient(root.http_url, token=token) as client, \
            JanusClient(root.http_url, api_secret=root.api_secret) as watcher:
        session = await client.create_session()
        session.start_keepalive(5)
        try:
            handle = await session.attach(VIDEOROOM)
            try:
                data, _ = await handle.message({"request": "join", "ptype": "publisher", "room": room,
                                                "id": pub_id, "display": "kẻ mạo danh"}, timeout=5.0)
            except JanusError as exc:
                return {"refused": exc.code}
            if data.get("error_code"):
                return {"refused": data["error_code"]}
            joined = time.monotonic()
            room_api = VideoRoom(watcher)
            try:
                while time.monotonic() - joined < 3.0:
                    ids = {int(p["id"]) for p in await room_api.list_participants(room)}
                    if pub_id not in ids:
                        return {"present_for": time.monotonic() - joined}
                    await asyncio.sleep(0.05)
                return {"present_for": time.monotonic() - joined}
            finally:
                await room_api.close()
        finally:
            await session.destroy()


# --- 1. publisher ids bound to grants ------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_kiosk_token_cannot_squat_the_studio_or_another_points_id(on_air):
    w, runtime, root = on_air["world"], on_air["runtime"], on_air["root"]
    conference = w["conference"]
    # Sóc Sơn has the floor (its kiosk is not publishing yet); Hà Nội's operator has a kiosk token.
    req = floor.request_floor(w["ops"]["socson"], w["socson"], "Trần Văn Sơn")
    floor.grant_floor(w["director"], req)
    token = live_tokens.issue_token(w["ops"]["hanoi"], conference, LiveToken.Purpose.KIOSK, w["hanoi"]).token.token
    wait_for(lambda: token in _janus_tokens(root), 5, "the kiosk token at Janus")
    room = layout.room_id(conference)
    squatted = {}
    for name, pub_id in (("studio", OLD_STUDIO_ID), ("socson", old_point_id(w["socson"])),
                         ("socson-grant", _granted_id(req))):
        squatted[name] = asyncio.run(_squat(root, token, room, pub_id))
    for name, result in squatted.items():
        assert "refused" in result or result["present_for"] < 1.0, (name, squatted)
    forwarded = {pub for slot in runtime.slots.values() for pub, _ in slot.forwarders}
    assert not forwarded & {OLD_STUDIO_ID, old_point_id(w["socson"])}, forwarded
    # A squatter on the grant's id is kicked within the guard's look; a forward of it that failed
    # leaves the slot to be made again at the runtime's next look: the programme is back on the feed.
    wait_for(lambda: runtime.slots["main"].source == ("feed",), 10, "the programme back on the test feed")


def _granted_id(req):
    """The publisher id the grant recorded (the old code had none: the fixed id was public)."""
    req.refresh_from_db()
    return getattr(req, "publisher_id", None) or old_point_id(req.point)


def _janus_tokens(root: JanusNode) -> set[str]:
    async def go():
        async with JanusAdmin(root.admin_url, root.admin_secret) as admin:
            return set(await admin.list_tokens())
    return asyncio.run(go())


@pytest.mark.django_db
def test_grants_and_the_studio_get_random_ids_only_their_holders_see(live_world, node_row):
    w = live_world
    studio = live_tokens.issue_token(w["director"], w["conference"], LiveToken.Purpose.STUDIO).as_config()
    assert "studio_id" not in studio
    sid = studio["publisher_id"]
    assert sid not in (OLD_STUDIO_ID, old_point_id(w["host"])) and 2**32 <= sid < 2**53, sid
    kiosk = live_tokens.issue_token(w["ops"]["hanoi"], w["conference"], LiveToken.Purpose.KIOSK, w["hanoi"]).as_config()
    assert kiosk["publisher_id"] is None  # no floor, no id: a kiosk publishes only while it holds the floor
    req = floor.request_floor(w["ops"]["hanoi"], w["hanoi"], "Nguyễn Thị Thu Hà")
    floor.grant_floor(w["director"], req)
    req.refresh_from_db()
    assert 2**32 <= req.publisher_id < 2**53 and req.publisher_id != old_point_id(w["hanoi"])
    granted = floor.granted_publishers(w["conference"].pk)
    assert granted["point"] == (w["hanoi"].pk, req.publisher_id) and sid in granted["studio"]
    floor.revoke_floor(w["director"], req)
    assert floor.granted_publishers(w["conference"].pk)["point"] is None
    again = floor.request_floor(w["ops"]["hanoi"], w["hanoi"], "Nguyễn Thị Thu Hà")
    floor.grant_floor(w["director"], again)
    again.refresh_from_db()
    assert again.publisher_id != req.publisher_id


@pytest.mark.django_db(transaction=True)
def test_only_the_granted_kiosk_hears_its_publisher_id(live_world, node_row):
    w = live_world
    tokens = {k: live_tokens.issue_token(w["ops"][k], w["conference"], LiveToken.Purpose.KIOSK, w[k]).token.token
              for k in ("hanoi", "bavi")}
    req = floor.request_floor(w["ops"]["hanoi"], w["hanoi"], "Nguyễn Thị Thu Hà")

    async def hello(key):
        app = URLRouter(websocket_urlpatterns)
        comm = WebsocketCommunicator(app, f"/ws/live/kiosk/{w[key].pk}/?token={tokens[key]}")
        comm.scope["user"] = w["ops"][key]
        connected, _ = await comm.connect()
        assert connected
        message = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return message

    assert "publisher_id" not in (asyncio.run(hello("hanoi"))["floor"] or {})  # waiting: no id yet
    floor.grant_floor(w["director"], req)
    req.refresh_from_db()
    assert asyncio.run(hello("hanoi"))["floor"]["publisher_id"] == req.publisher_id
    assert asyncio.run(hello("bavi"))["floor"] is None


# --- 2. tokens outlive nothing ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_tokens_last_minutes_and_renewal_rechecks_the_right(live_world, node_row, settings):
    w = live_world
    issued = live_tokens.issue_token(w["ops"]["hanoi"], w["conference"], LiveToken.Purpose.KIOSK, w["hanoi"])
    lifetime = issued.token.expires_at - timezone.now()
    assert lifetime <= datetime.timedelta(minutes=15), lifetime
    renewed = live_tokens.renew_token(w["ops"]["hanoi"], issued.token.token)
    assert renewed.token.token != issued.token.token and renewed.token.point_id == w["hanoi"].pk
    assert _janus_accepts(node_row.http_url, renewed.token.token)
    # The old token keeps working a short while (open sessions move to the new one), then expires.
    old = LiveToken.objects.get(pk=issued.token.pk)
    assert old.expires_at <= timezone.now() + live_tokens.renew_grace()
    with pytest.raises(ScopeError):  # somebody else's token
        live_tokens.renew_token(w["ops"]["bavi"], renewed.token.token)
    RoleAssignment.objects.filter(user=w["ops"]["hanoi"], role=Role.POINT_OPERATOR).delete()
    with pytest.raises(ScopeError):  # the right went (here without the revocation signal): no renewal
        live_tokens.renew_token(w["ops"]["hanoi"], renewed.token.token)


@pytest.mark.django_db
def test_sign_out_role_removal_and_deactivation_revoke_tokens_at_janus(client, live_world, node_row,
                                                                      django_capture_on_commit_callbacks):
    w = live_world
    url = node_row.http_url

    def kiosk(key):
        return live_tokens.issue_token(w["ops"][key], w["conference"], LiveToken.Purpose.KIOSK, w[key]).token

    signed_out = kiosk("hanoi")
    client.force_login(w["ops"]["hanoi"])
    client.post("/accounts/logout/")
    lost_role = kiosk("bavi")
    with django_capture_on_commit_callbacks(execute=True):  # orgs tells the others once the change commits
        orgs.revoke_role(SYSTEM, RoleAssignment.objects.get(user=w["ops"]["bavi"], role=Role.POINT_OPERATOR))
    deactivated = kiosk("school")
    user = w["ops"]["school"]
    user.is_active = False
    user.save()
    kept = kiosk("socson")
    for token in (signed_out, lost_role, deactivated):
        token.refresh_from_db()
        assert token.revoked_at is not None, token.purpose
        assert not _janus_accepts(url, token.token)
    assert _janus_accepts(url, kept.token)


@pytest.mark.django_db(transaction=True)
def test_runtime_removes_expired_tokens_and_never_adds_them_back(on_air):
    w, root = on_air["world"], on_air["root"]

    def kiosk(key):
        return live_tokens.issue_token(w["ops"][key], w["conference"], LiveToken.Purpose.KIOSK, w[key]).token

    expiring, revoked, valid = kiosk("hanoi"), kiosk("bavi"), kiosk("school")
    wait_for(lambda: {expiring.token, revoked.token, valid.token} <= _janus_tokens(root), 5, "tokens at Janus")
    LiveToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    # Revoked in the database while the web process could not reach Janus (so Janus still has it).
    LiveToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    wait_for(lambda: not {expiring.token, revoked.token} & _janus_tokens(root), 5, "the runtime removing them")
    root.kill()
    root.restart()
    wait_for(lambda: valid.token in _janus_tokens(root), 20, "the valid token back after the restart")
    assert not {expiring.token, revoked.token} & _janus_tokens(root)


# --- 3. the floor queue and HLS are scoped -------------------------------------------------------------
@pytest.mark.django_db
def test_floor_queue_names_only_for_the_director_and_the_subtrees_organisers(client, live_world, make_user):
    w = live_world
    floor.request_floor(w["ops"]["bavi"], w["bavi"], "Lê Văn Ba Vì")
    floor.request_floor(w["ops"]["socson"], w["socson"], "Trần Văn Sơn")
    teacher = make_user("giaovien_ba_vi", Role.PARTICIPANT, w["tree"]["school_a"])
    organiser = make_user("to_chuc_soc_son", Role.UNIT_ORGANISER, w["tree"]["socson"])
    url = f"/api/live/conferences/{w['conference'].pk}/floor"

    def names(user):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code in (200, 404), response.status_code
        return {r.get("who") for r in response.json().get("queue", [])} if response.status_code == 200 else set()

    assert names(w["director"]) == {"Lê Văn Ba Vì", "Trần Văn Sơn"}
    assert names(organiser) == {"Trần Văn Sơn"}
    assert names(w["ops"]["bavi"]) == {"Lê Văn Ba Vì"}  # a point sees its own request
    assert names(teacher) == set()


@pytest.mark.django_db
def test_hls_needs_a_signed_expiring_link_given_only_to_the_invited(client, live_world, make_user, settings,
                                                                   tmp_path):
    w = live_world
    settings.VAR_DIR = tmp_path
    folder = hls.hls_folder()
    folder.mkdir(parents=True)
    (folder / "index.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00001.ts\n")
    (folder / "seg_00001.ts").write_bytes(b"G" * 188)
    outsider = make_user("nguoi_ngoai")  # signed in, but invited to nothing
    invited = make_user("giaovien_tay_dang", Role.PARTICIPANT, w["tree"]["school_a"])
    client.force_login(outsider)
    assert client.get("/live/hls/index.m3u8").status_code == 404  # unsigned: the old open path is gone
    with pytest.raises(ScopeError):
        hls.hls_link(outsider, w["conference"])
    client.force_login(invited)
    link = hls.hls_link(invited, w["conference"])
    playlist = client.get(link)
    assert playlist.status_code == 200 and b"seg_00001.ts" in b"".join(playlist.streaming_content)
    segment_url = link.rsplit("/", 1)[0] + "/seg_00001.ts"
    assert client.get(segment_url).status_code == 200  # segments ride on the playlist's signed prefix
    client.logout()
    assert client.get(segment_url).status_code == 200  # a cache (nginx) checks the link, not the session
    tampered = link.replace(f"/{w['conference'].pk}/", f"/{w['conference'].pk + 1}/")
    assert client.get(tampered).status_code == 403
    expired = hls.hls_path(w["conference"].pk, int(time.time()) - 1) + "index.m3u8"
    assert client.get(expired).status_code == 403
