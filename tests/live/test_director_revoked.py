"""A director whose role is revoked loses the director console at once (real Channels, real database).

A websocket lives for hours; before, the scope was cached on the user object the socket kept, so a
revoked director went on granting the floor and switching the programme until they reconnected.
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from diemcau.live import floor
from diemcau.live.models import FloorRequest
from diemcau.orgs import services as orgs
from diemcau.orgs.models import Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM
from diemcau.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def director(live_world, make_user):
    user = make_user("dp_moi", Role.DIRECTOR, live_world["tree"]["ministry"])
    return type(user).objects.get(pk=user.pk)


def _revoke(user):
    orgs.revoke_role(SYSTEM, RoleAssignment.objects.get(user=user, role=Role.DIRECTOR))


def test_a_revoked_director_is_refused_at_the_next_message_and_the_socket_closes(live_world, director):
    conference = live_world["conference"]
    request = floor.request_floor(live_world["ops"]["hanoi"], live_world["hanoi"], "Nguyễn Thị Thu Hà")

    async def go():
        comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/live/director/{conference.pk}/")
        comm.scope["user"] = director  # the same object for the socket's whole life
        connected, _ = await comm.connect(timeout=20)
        assert connected
        state = await comm.receive_json_from(timeout=20)
        assert state["type"] == "state"
        await sync_to_async(_revoke)(director)
        await comm.send_json_to({"type": "grant", "id": request.pk})
        seen = []
        while True:
            out = await comm.receive_output(timeout=20)
            seen.append(out)
            if out["type"] == "websocket.close":
                break
        assert out["code"] == 4403, seen
        await comm.wait()

    asyncio.run(go())
    # The message that came after the revocation granted nothing.
    request.refresh_from_db()
    assert request.state == FloorRequest.State.REQUESTED


def test_a_revoked_director_is_refused_even_if_the_console_only_listens(live_world, director):
    """The console closes on the next update it would have shown (the floor queue names speakers)."""
    conference = live_world["conference"]

    async def go():
        comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/live/director/{conference.pk}/")
        comm.scope["user"] = director
        connected, _ = await comm.connect(timeout=20)
        assert connected
        await comm.receive_json_from(timeout=20)
        await sync_to_async(_revoke)(director)
        await sync_to_async(floor.request_floor)(live_world["ops"]["hanoi"], live_world["hanoi"], "Nguyễn Văn Hùng")
        out = await comm.receive_output(timeout=20)
        assert out == {"type": "websocket.close", "code": 4403}, out
        await comm.wait()

    asyncio.run(go())
