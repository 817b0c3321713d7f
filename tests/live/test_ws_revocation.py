"""Websockets close when what authorised them goes (real ASGI app, sessions, Channels and database).

Before, a socket stayed open for hours after its session was signed out, its account deactivated, its
role taken away, its Janus token or device token revoked: only a message it sent (or a later update)
was checked, and a page that only listens went on hearing the conference.
"""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from diemcau.asgi import application
from diemcau.live import tokens
from diemcau.live.models import LiveNode, LiveToken
from diemcau.orgs import services as orgs
from diemcau.orgs.models import Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM
from diemcau.points import devices
from diemcau.points.models import DeviceToken

pytestmark = pytest.mark.django_db(transaction=True)

WITHIN = 5.0  # the bar: closed within a few seconds (generous waits below, for a loaded CI machine)


def _session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _sign_out(session: str) -> None:
    client = Client()
    client.cookies["sessionid"] = session
    assert client.post("/accounts/logout/").status_code == 302


async def _open(path, *, session=None, bearer=None):
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if session:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    if bearer:
        headers.append((b"authorization", f"Bearer {bearer}".encode()))
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await comm.connect(timeout=20)
    return comm, connected, code


async def _opened(path, **kw):
    comm, connected, code = await _open(path, **kw)
    assert connected, (path, code)
    await comm.receive_output(timeout=20)  # its first message (hello, the current fragment)
    return comm


async def _closed(comm) -> tuple[int, float]:
    """The close code the socket got and how long after this call."""
    start = time.monotonic()
    while True:
        out = await comm.receive_output(timeout=20)
        if out["type"] == "websocket.close":
            return out.get("code"), time.monotonic() - start


async def _still_open(comm):
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def _refused(path, **kw):
    _comm, connected, code = await _open(path, **kw)
    assert not connected or code in (4401, 4403), (path, code)
    return code


@pytest.fixture
def world(live_world):
    LiveNode.objects.create(name="root", role="root", base_port=21000, state="down")
    return live_world


def _kiosk(w, key="bavi"):
    token = tokens.issue_token(w["ops"][key], w["conference"], LiveToken.Purpose.KIOSK, w[key]).token.token
    return f"/ws/live/kiosk/{w[key].pk}/?token={token}", token


def test_sign_out_closes_that_sessions_sockets_and_refuses_their_reconnect(world):
    w = world
    op = w["ops"]["bavi"]
    signed_out, other = _session(op), _session(op)
    kiosk, _ = _kiosk(w)
    poll = f"/ws/live/polls/{w['conference'].pk}/kiosk/"

    async def go():
        sockets = [await _opened(kiosk, session=signed_out), await _opened(poll, session=signed_out)]
        elsewhere = await _opened(poll, session=other)  # the same person on another device
        await sync_to_async(_sign_out)(signed_out)
        for comm in sockets:
            code, took = await _closed(comm)
            assert code == 4401 and took < WITHIN
        await _still_open(elsewhere)
        assert await _refused(poll, session=signed_out) == 4401
        await _refused(kiosk, session=signed_out)

    asyncio.run(go())


def test_a_deactivated_account_loses_every_socket(world):
    w = world
    op = w["ops"]["bavi"]
    session = _session(op)
    voice = f"/ws/voice/{w['conference'].pk}/ranked/"

    def deactivate():
        op.is_active = False
        op.save()

    async def go():
        comm = await _opened(voice, session=session)
        await sync_to_async(deactivate)()
        code, took = await _closed(comm)
        assert code == 4401 and took < WITHIN
        assert await _refused(voice, session=session) == 4401

    asyncio.run(go())


def test_a_lost_role_closes_the_sockets_it_authorised(world):
    w = world
    op, director = w["ops"]["bavi"], w["director"]
    op_session, director_session = _session(op), _session(director)
    kiosk, _ = _kiosk(w)
    results = f"/ws/live/polls/{w['conference'].pk}/director/"

    def revoke(user, role):
        orgs.revoke_role(SYSTEM, RoleAssignment.objects.get(user=user, role=role))

    async def go():
        comm = await _opened(kiosk, session=op_session)
        console = await _opened(results, session=director_session)
        await sync_to_async(revoke)(op, Role.POINT_OPERATOR)
        code, took = await _closed(comm)
        assert code == 4403 and took < WITHIN
        await _refused(kiosk, session=op_session)
        await sync_to_async(revoke)(director, Role.DIRECTOR)
        code, took = await _closed(console)
        assert code == 4403 and took < WITHIN
        assert await _refused(results, session=director_session) == 4403

    asyncio.run(go())


def test_a_revoked_janus_token_closes_the_kiosk_opened_on_it_only(world):
    w = world
    op = w["ops"]["bavi"]
    session = _session(op)
    revoked_path, revoked = _kiosk(w)
    kept_path, _ = _kiosk(w)

    async def go():
        comm, other = await _opened(revoked_path, session=session), await _opened(kept_path, session=session)
        row = await sync_to_async(LiveToken.objects.get)(token=revoked)
        await sync_to_async(tokens.revoke_token)(w["director"], row, reason="test")
        code, took = await _closed(comm)
        assert code == 4401 and took < WITHIN
        await _still_open(other)
        await _refused(revoked_path, session=session)

    asyncio.run(go())


def test_a_revoked_device_token_closes_its_sockets_and_reaches_nothing_else(world, organiser_bavi):
    w = world
    token, secret = devices.issue(organiser_bavi, w["bavi"], "Màn hình điểm cầu")
    _, second = devices.issue(organiser_bavi, w["bavi"], "Màn hình phụ")
    conference = w["conference"].pk
    poll = f"/ws/live/polls/{conference}/kiosk/"

    def revoke_roles():
        for role in RoleAssignment.objects.filter(user=organiser_bavi):
            orgs.revoke_role(SYSTEM, role)

    async def go():
        # A device token opens only its point's kiosk polls; anything else is anonymous, so refused.
        for path in (f"/ws/live/polls/{conference}/phone/", f"/ws/live/polls/{conference}/director/",
                     f"/ws/voice/{conference}/ranked/", f"/ws/live/board/{conference}/"):
            assert await _refused(path, bearer=secret) in (4401, 4403, None), path
        comm = await _opened(poll, bearer=secret)
        await sync_to_async(devices.revoke)(organiser_bavi, token)
        code, took = await _closed(comm)
        assert code == 4401 and took < WITHIN
        assert await _refused(poll, bearer=secret) == 4401
        # The token acts for its issuer: the issuer's right gone, its other token's socket closes too.
        other = await _opened(poll, bearer=second)
        await sync_to_async(revoke_roles)()
        code, took = await _closed(other)
        assert code == 4403 and took < WITHIN
        assert await _refused(poll, bearer=second) == 4403

    asyncio.run(go())


def test_the_recheck_closes_what_no_message_announced(world, organiser_bavi, settings):
    """The backstop: a session deleted behind the app's back, a device token that simply expired."""
    settings.WS_AUTH_RECHECK_SECONDS = 0.5
    w = world
    session = _session(w["ops"]["bavi"])
    token, secret = devices.issue(organiser_bavi, w["bavi"], "Màn hình điểm cầu")
    poll = f"/ws/live/polls/{w['conference'].pk}/kiosk/"

    async def go():
        person, device = await _opened(poll, session=session), await _opened(poll, bearer=secret)
        await sync_to_async(Session.objects.filter(session_key=session).delete)()
        await sync_to_async(DeviceToken.objects.filter(pk=token.pk).update)(expires_at=timezone.now())
        for comm in (person, device):
            code, took = await _closed(comm)
            assert code == 4401 and took < WITHIN

    asyncio.run(go())
