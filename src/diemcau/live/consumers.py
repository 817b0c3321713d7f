"""Websockets of the live conference: the kiosk, the director console, the live site board (status wall).

Each checks its scope when it connects (close code 4403 otherwise) and calls the services for every
action; nothing here decides a rule. Messages are JSON objects with a ``type``; see
docs/subsystems/live.md for the whole protocol.
"""

import datetime
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from diemcau.core import ws_auth
from diemcau.core.consumers import page_language
from diemcau.core.errors import DomainError
from diemcau.core.hub import Hub, hub_for
from diemcau.events.access import require_director, sees_conference, visible_conferences
from diemcau.events.models import Conference
from diemcau.orgs.scoping import acting_as, current_user
from diemcau.points.access import require_operator
from diemcau.points.models import BridgePoint

from . import floor, health, programme, site_board, tokens
from .groups import board_group, director_group, kiosk_group, point_group
from .models import FloorRequest, LiveToken

FORBIDDEN = 4403
SITE_BOARD_TICK = 0.5  # at most one site-board snapshot per half second, however fast changes arrive
SITE_BOARD_REFRESH = 2.0  # and one every 2 s at least: a point without reports turns "lost" by itself
KIOSK_PURPOSES = (LiveToken.Purpose.KIOSK, LiveToken.Purpose.CHECK, LiveToken.Purpose.STUDIO)


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
        self.point, self.user, self.token = point, user, token
        self.groups_joined = [kiosk_group(point.conference_id), point_group(point.pk)]
        for g in self.groups_joined:
            await self.channel_layer.group_add(g, self.channel_name)
        await self.accept()
        await ws_auth.watch(self, check=self._still_authorised)
        await database_sync_to_async(health.kiosk_connected)(user, point)
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
            tokens.token_for(token, user=user, point=point, purposes=KIOSK_PURPOSES)
        except DomainError:
            return None
        return point

    @database_sync_to_async
    def _still_authorised(self, user):
        """``None`` while the user operates the point and the socket's Janus token (or the one the page
        renewed it to) holds; else the close code (the guard, ``core.ws_auth``, asks at every revocation)."""
        close_old_connections()
        with acting_as(user):
            try:
                require_operator(user, self.point)
            except DomainError:
                return ws_auth.FORBIDDEN
            token = tokens.current_token(self.token, user=user, point=self.point, purposes=KIOSK_PURPOSES)
        if token is None:
            return ws_auth.UNAUTHENTICATED
        self.token = token
        return None

    @database_sync_to_async
    def _status(self):
        prog = programme.programme(self.point.conference)
        return {"programme": programme.programme_state(prog), "floor": floor.point_floor(self.point)}

    async def disconnect(self, code):
        if self.point is None:
            return
        await ws_auth.forget(self)
        for g in self.groups_joined:
            await self.channel_layer.group_discard(g, self.channel_name)
        await database_sync_to_async(health.kiosk_disconnected)(self.point)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        ref = content.get("ref") if isinstance(content, dict) else None
        try:
            if kind == "stats":
                await database_sync_to_async(health.ingest_report)(self.user, self.point, content.get("stats"))
                await self.send_json({"type": "ok", "ref": ref})
            elif kind == "floor_request":
                # Its own thread, as the director's actions: queued behind every kiosk's stats in the shared
                # one, a request took over 60 s to reach the console on a loaded machine.
                await database_sync_to_async(floor.request_floor, thread_sensitive=False)(
                    self.user, self.point, content.get("who", ""))
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
        floor.withdraw_floor(self.user, own)

    async def live_programme(self, event):
        await self.send_json({"type": "programme", "programme": event["programme"]})

    async def live_floor(self, event):
        await self.send_json({"type": "floor", **await self._status()})

    async def live_floor_info(self, event):
        pass  # another point's request: nothing for this kiosk to show

    async def live_mute(self, event):
        await self.send_json({"type": "mute", "muted": event["muted"]})

    async def live_move(self, event):
        """An edge died: a kiosk watching it gets a new token and the URL of the node to watch now."""
        config = await database_sync_to_async(self._moved)(event["node"])
        if config is not None:
            self.token = config["token"]
            await self.send_json({"type": "move", "config": config})

    def _moved(self, dead: str) -> dict | None:
        close_old_connections()
        held = LiveToken.objects.filter(token=self.token).values_list("nodes", flat=True).first()
        if held is None or dead not in held:
            return None
        user = current_user(self.user)
        if user is None:
            return None
        try:
            with acting_as(user):
                return tokens.renew_token(user, self.token).as_config()
        except DomainError:
            return None  # the right is gone: the page's own renewal will say so



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
        await ws_auth.watch(self, check=self._still_allowed)
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

    @database_sync_to_async
    def _still_allowed(self, user):
        close_old_connections()
        return None if self._recheck() is not None else ws_auth.FORBIDDEN

    async def disconnect(self, code):
        if self.conference is not None:
            await ws_auth.forget(self)
            await self.left()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def joined(self):
        pass

    async def left(self):
        pass


class DirectorConsumer(_ConferenceConsumer):
    """The director console: the floor queue and the programme, and the director's actions."""

    group_name = staticmethod(director_group)

    def may_follow(self, user, conference) -> bool:
        try:
            require_director(user, conference)
        except DomainError:
            return False
        return True

    async def joined(self):
        await self._send_state()

    async def _state(self):
        # Its own thread (as the director's actions): the console's queue is not kept behind the shared one.
        return await database_sync_to_async(self._state_now, thread_sensitive=False)()

    def _state_now(self):
        close_old_connections()
        user = self._recheck()
        if user is None:
            return None
        with acting_as(user):
            return {"type": "state", "queue": floor.floor_queue(user, self.conference),
                    "programme": programme.programme_state(programme.programme(self.conference))}

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
            # Its own thread, not the one all sync code of the server shares (kiosks' stats, the
            # board): a switch measured 0.1-2.4 s queued there on a loaded machine.
            allowed = await database_sync_to_async(self._act, thread_sensitive=False)(kind, content)
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
                floor.grant_floor(self.user, req, source=content.get("source") or "point")
            else:
                floor.revoke_floor(self.user, req)
        elif kind == "programme":
            programme.set_programme(self.user, self.conference, content.get("source", ""))
        elif kind == "mute":
            point = BridgePoint.objects.filter(pk=content.get("point_id"), conference=self.conference).first()
            if point is None:
                raise DomainError(_("No such point."), "not_found")
            floor.mute_point(self.user, point, bool(content.get("muted", True)))
        else:
            raise DomainError(_("Unknown message."), "bad_message")

    async def live_programme(self, event):
        await self._send_state()

    async def live_floor(self, event):
        await self._send_state()


def site_board_tick() -> float:
    return SITE_BOARD_TICK


def site_board_refresh() -> float:
    return SITE_BOARD_REFRESH


@database_sync_to_async
def compute_site_board(key: tuple[int, int], variants: list[str]) -> dict[str, object]:
    """One snapshot of a conference's site board as one user sees it, in each variant.

    ``"json"``: the snapshot as data (the director console's wall of thumbnails); a language code:
    the board's changing parts as HTML for htmx's ws extension.
    """
    close_old_connections()
    conference_id, user_id = key
    # Reloaded at every tick, its scope built afresh: a socket lives for hours, a role may not.
    user = current_user(get_user_model()(pk=user_id))
    conference = Conference.objects.select_related("host_unit").get(pk=conference_id)
    if user is None:
        return dict.fromkeys(variants)
    with acting_as(user):
        if not sees_conference(user, conference):
            return dict.fromkeys(variants)
        snapshot = site_board.board(user, conference)
    out: dict[str, object] = {}
    for variant in variants:
        if variant == "json":
            out[variant] = {"type": "board", **snapshot}
            continue
        with translation.override(variant):
            for p in snapshot["points"]:
                p["state_label"] = site_board.state_label(p["state"])
            for a in snapshot["alarms"]:
                a["since_local"] = datetime.datetime.fromisoformat(a["since"])
            out[variant] = render_to_string("live/_site_board.html", {
                "b": snapshot, "at": datetime.datetime.fromisoformat(snapshot["at"])})
    return out


def site_board_hub() -> Hub:
    """This process's live-site-board hub: one snapshot per (conference, user) per tick, every 2 s at least."""
    return hub_for("live.site_board", lambda: Hub(compute_site_board, tick=site_board_tick,
                                                  refresh_every=site_board_refresh))


class SiteBoardConsumer(_ConferenceConsumer):
    """The live site board (status wall): every point in the user's subtree, fed by the site-board hub.

    ``?htmx=1``: server-rendered parts for htmx's ws extension; otherwise JSON snapshots.
    """

    group_name = staticmethod(board_group)

    async def connect(self):
        self.key = None
        await super().connect()

    async def joined(self):
        # The hub joins the group; this consumer only hears from the hub.
        await self.channel_layer.group_discard(self.group, self.channel_name)
        htmx = _query(self.scope).get("htmx") == "1"
        self.key = ((self.conference.pk, self.user.pk), page_language(self.scope) if htmx else "json")
        await site_board_hub().subscribe(self, self.key[0], self.key[1], board_group(self.conference.pk))

    async def left(self):
        if self.key:
            await site_board_hub().unsubscribe(self, *self.key)

    async def hub_push(self, payload):
        if payload is None:  # the user no longer sees this conference (a role taken away, an account closed)
            await self.close(code=FORBIDDEN)
        elif isinstance(payload, str):
            await self.send(text_data=payload)
        else:
            await self.send_json(payload)

    async def receive_json(self, content, **kwargs):
        pass  # the board only listens
