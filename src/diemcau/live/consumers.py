"""Websockets of the live conference: the kiosk, the director console, the site board.

Each checks its scope when it connects (close code 4403 otherwise) and calls the services for every
action; nothing here decides a rule. Messages are JSON objects with a ``type``; see
docs/subsystems/live.md for the whole protocol.
"""

import asyncio
import contextlib
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import close_old_connections
from django.utils.translation import gettext as _

from diemcau.core.errors import DomainError
from diemcau.events.access import require_director, sees_conference, visible_conferences
from diemcau.orgs.scoping import acting_as, current_user
from diemcau.points.access import require_operator
from diemcau.points.models import BridgePoint

from . import services
from .models import FloorRequest, LiveToken
from .signals import kiosk_group

FORBIDDEN = 4403
BOARD_EVERY = 2.0  # seconds between two board snapshots (also after a burst of changes)


def _query(scope) -> dict:
    return {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}


class _Base(AsyncJsonWebsocketConsumer):
    async def _error(self, exc: DomainError, ref=None):
        await self.send_json({"type": "error", "code": exc.code, "message": exc.message, "ref": ref})


class KioskConsumer(_Base):
    """A bridge point's kiosk: sends its statistics and floor requests; hears the programme and its floor."""

    async def connect(self):
        self.point = None
        user = self.scope.get("user")
        point_id = self.scope["url_route"]["kwargs"]["point_id"]
        token = _query(self.scope).get("token", "")
        point = await self._authorise(user, point_id, token)
        if point is None:
            await self.close(code=FORBIDDEN)
            return
        self.point, self.user = point, user
        self.groups_joined = [kiosk_group(point.conference_id), services.point_group(point.pk)]
        for g in self.groups_joined:
            await self.channel_layer.group_add(g, self.channel_name)
        await self.accept()
        await database_sync_to_async(services.kiosk_connected)(user, point)
        await self.send_json({"type": "hello", **await self._status()})

    @database_sync_to_async
    def _authorise(self, user, point_id, token):
        close_old_connections()
        if user is None or not user.is_authenticated:
            return None
        point = BridgePoint.objects.select_related("hall__unit", "conference").filter(pk=point_id).first()
        if point is None:
            return None
        try:
            require_operator(user, point)
            services.token_for(token, user=user, point=point,
                               purposes=(LiveToken.Purpose.KIOSK, LiveToken.Purpose.CHECK, LiveToken.Purpose.STUDIO))
        except DomainError:
            return None
        return point

    @database_sync_to_async
    def _status(self):
        prog = services.programme(self.point.conference)
        return {"programme": services.programme_state(prog), "floor": services.point_floor(self.point)}

    async def disconnect(self, code):
        if self.point is None:
            return
        for g in self.groups_joined:
            await self.channel_layer.group_discard(g, self.channel_name)
        await database_sync_to_async(services.kiosk_disconnected)(self.point)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        ref = content.get("ref") if isinstance(content, dict) else None
        try:
            if kind == "stats":
                await database_sync_to_async(services.ingest_report)(self.user, self.point, content.get("stats"))
                await self.send_json({"type": "ok", "ref": ref})
            elif kind == "floor_request":
                await database_sync_to_async(services.request_floor)(self.user, self.point, content.get("who", ""))
            elif kind == "floor_withdraw":
                await database_sync_to_async(self._withdraw)()
            elif kind in ("grant", "revoke", "programme", "mute"):
                # A kiosk never directs the programme, whatever it sends.
                raise DomainError(_("Only the programme director may do this."), "not_director")
            else:
                raise DomainError(_("Unknown message."), "bad_message")
        except DomainError as exc:
            await self._error(exc, ref)

    def _withdraw(self):
        own = FloorRequest.objects.filter(point=self.point, state__in=FloorRequest.OPEN).first()
        if own is None:
            raise DomainError(_("No open request."), "floor_closed")
        services.withdraw_floor(self.user, own)

    async def live_programme(self, event):
        await self.send_json({"type": "programme", "programme": event["programme"]})

    async def live_floor(self, event):
        await self.send_json({"type": "floor", **await self._status()})

    async def live_floor_info(self, event):
        pass  # another point's request: nothing for this kiosk to show

    async def live_mute(self, event):
        await self.send_json({"type": "mute", "muted": event["muted"]})

    async def live_on_air(self, event):
        await self.send_json({"type": "on_air"})


class _ConferenceConsumer(_Base):
    """A page that follows one conference (console, board): refused unless ``_authorise`` gives it."""

    async def connect(self):
        self.conference = None
        user = self.scope.get("user")
        conference = await self._authorise(user, self.scope["url_route"]["kwargs"]["conference_id"])
        if conference is None:
            await self.close(code=FORBIDDEN)
            return
        self.user, self.conference = user, conference
        self.group = self.group_name(conference.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.joined()

    @database_sync_to_async
    def _authorise(self, user, conference_id):
        close_old_connections()
        if user is None or not user.is_authenticated:
            return None
        conference = visible_conferences(user).select_related("host_unit").filter(pk=conference_id).first()
        if conference is None or not self.may_follow(user, conference):
            return None
        return conference

    def may_follow(self, user, conference) -> bool:
        return True

    def _recheck(self):
        """The socket's user as of now if they still may follow the conference, else ``None``.

        A socket lives for hours: the user is reloaded and the scope built afresh at every message
        and tick (nothing cached on the user object), so a revoked role closes the page at once.
        """
        user = current_user(self.user)
        if user is None:
            return None
        with acting_as(user):
            if not sees_conference(user, self.conference) or not self.may_follow(user, self.conference):
                return None
        self.user = user
        return user

    async def disconnect(self, code):
        if self.conference is not None:
            await self.left()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def joined(self):
        pass

    async def left(self):
        pass


class DirectorConsumer(_ConferenceConsumer):
    """The director console: the floor queue and the programme, and the director's actions."""

    group_name = staticmethod(services.director_group)

    def may_follow(self, user, conference) -> bool:
        try:
            require_director(user, conference)
        except DomainError:
            return False
        return True

    async def joined(self):
        await self._send_state()

    @database_sync_to_async
    def _state(self):
        close_old_connections()
        user = self._recheck()
        if user is None:
            return None
        with acting_as(user):
            return {"type": "state", "queue": services.floor_queue(user, self.conference),
                    "programme": services.programme_state(services.programme(self.conference))}

    async def _send_state(self):
        state = await self._state()
        if state is None:
            await self.close(code=FORBIDDEN)
            return
        await self.send_json(state)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        ref = content.get("ref") if isinstance(content, dict) else None
        try:
            allowed = await database_sync_to_async(self._act)(kind, content)
        except DomainError as exc:
            await self._error(exc, ref)
            return
        if not allowed:
            await self._error(DomainError(_("Only the programme director may do this."), "not_director"), ref)
            await self.close(code=FORBIDDEN)

    def _act(self, kind, content) -> bool:
        close_old_connections()
        user = self._recheck()
        if user is None:
            return False
        with acting_as(user):
            self._apply(kind, content)
        return True

    def _apply(self, kind, content):
        if kind in ("grant", "revoke"):
            req = FloorRequest.objects.filter(pk=content.get("id"), conference=self.conference).first()
            if req is None:
                raise DomainError(_("No such request."), "not_found")
            if kind == "grant":
                services.grant_floor(self.user, req, source=content.get("source") or "point")
            else:
                services.revoke_floor(self.user, req)
        elif kind == "programme":
            services.set_programme(self.user, self.conference, content.get("source", ""))
        elif kind == "mute":
            point = BridgePoint.objects.filter(pk=content.get("point_id"), conference=self.conference).first()
            if point is None:
                raise DomainError(_("No such point."), "not_found")
            services.mute_point(self.user, point, bool(content.get("muted", True)))
        else:
            raise DomainError(_("Unknown message."), "bad_message")

    async def live_programme(self, event):
        await self._send_state()

    async def live_floor(self, event):
        await self._send_state()


class BoardConsumer(_ConferenceConsumer):
    """The site board: a snapshot of every point in the user's subtree, sent on change and every 2 s."""

    group_name = staticmethod(services.board_group)

    async def joined(self):
        self._dirty = asyncio.Event()
        self._task = asyncio.create_task(self._loop())

    async def left(self):
        self._task.cancel()

    @database_sync_to_async
    def _snapshot(self):
        close_old_connections()
        user = self._recheck()
        if user is None:
            return None
        with acting_as(user):
            return services.board(user, self.conference)

    async def _loop(self):
        while True:
            started = time.monotonic()
            snapshot = await self._snapshot()
            if snapshot is None:
                await self.close(code=FORBIDDEN)
                return
            await self.send_json({"type": "board", **snapshot})
            self._dirty.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), BOARD_EVERY)
            # At most one snapshot every half second, however fast changes arrive.
            await asyncio.sleep(max(0.0, 0.5 - (time.monotonic() - started)))

    async def receive_json(self, content, **kwargs):
        pass  # the board only listens

    async def live_refresh(self, event):
        self._dirty.set()
