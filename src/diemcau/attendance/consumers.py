"""Websocket of the live board: ``/ws/attendance/sessions/<sid>/units/<uid>/board/``.

Each message is ``{"type": "board", "html": ..., "figures": {session, unit, expected, present,
percentage, by_category, computed_at}}``; ``?html=0`` leaves the HTML out (scripts, benchmarks).
Anonymous users are closed with 4401, a session or unit outside the user's read scope with 4403.

Throttling. Every process runs one :class:`BoardHub` (per event loop). It owns one channel of
the channel layer, joined to the group of each session someone watches, so a check-in committed
in any process (in-memory layer: this one; Redis: any) reaches it as one small "dirty" notice,
whatever the number of viewers. The hub marks the watched units under the notice's paths dirty
and its ticker recomputes each dirty (session, unit) once, renders it once per language, and
sends the result to every viewer of that unit; the next round starts ``ATTENDANCE_BOARD_TICK``
seconds (default 1) after this one started. The first notice after a quiet spell is answered at once, a burst costs one
recomputation per unit per tick: the cost follows the units watched, not the check-ins or viewers.
"""

import asyncio
import logging
import time
import weakref
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from . import board

log = logging.getLogger("diemcau.attendance.board")


def tick_seconds() -> float:
    return float(getattr(settings, "ATTENDANCE_BOARD_TICK", 1.0))


@database_sync_to_async
def compute(session_id: int, unit_id: int, languages: list[str]) -> dict[str, dict]:
    """One roll-up of a unit, rendered once per language ("" = figures only)."""
    from diemcau.events.models import Session
    from diemcau.orgs.models import Unit

    session = Session.objects.select_related("conference").get(pk=session_id)
    unit = Unit.objects.get(pk=unit_id)
    data = board.board_data(session, unit)
    figures = board.figures(data)
    payloads = {}
    for lang in languages:
        payload = {"type": "board", "figures": figures}
        if lang:
            with translation.override(lang):
                payload["html"] = render_to_string("attendance/board_live.html",
                                                   {"data": data, "session": session, "unit": unit})
        payloads[lang] = payload
    return payloads


class BoardHub:
    """The per-process coalescer between dirty notices and the boards' websockets."""

    def __init__(self):
        self.viewers: dict[tuple, set] = {}  # (session, unit, lang) -> consumers
        self.paths: dict[tuple, str] = {}  # (session, unit) -> unit path
        self.dirty: set[tuple] = set()  # (session, unit)
        self.cache: dict[tuple, dict] = {}  # (session, unit, lang) -> last payload, while clean
        self.sessions: dict[int, int] = {}  # session -> number of viewers
        self.channel = None
        self.layer = None
        self.wake = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.computations = 0  # for tests and the benchmark: how many roll-ups were computed

    async def subscribe(self, consumer, session_id: int, unit_id: int, path: str, lang: str):
        key = (session_id, unit_id, lang)
        if self.channel is None:
            self.layer = get_channel_layer()
            # The default prefix: channels_redis polls one Redis list per process for all "specific."
            # channels, so a channel of its own would wait behind the consumers' receive loops.
            self.channel = await self.layer.new_channel()
            self.tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._tick())]
        if not self.sessions.get(session_id):
            await self.layer.group_add(board.group_name(session_id), self.channel)
        self.sessions[session_id] = self.sessions.get(session_id, 0) + 1
        self.viewers.setdefault(key, set()).add(consumer)
        self.paths[(session_id, unit_id)] = path
        payload = self.cache.get(key)
        if payload is None or (session_id, unit_id) in self.dirty:
            payload = (await self._compute(session_id, unit_id, [lang]))[lang]
        await consumer.send_json(payload)

    async def unsubscribe(self, consumer, session_id: int, unit_id: int, lang: str):
        key = (session_id, unit_id, lang)
        viewers = self.viewers.get(key)
        if not viewers or consumer not in viewers:
            return
        viewers.discard(consumer)
        if not viewers:
            del self.viewers[key]
            self.cache.pop(key, None)
            if not any(k[:2] == key[:2] for k in self.viewers):
                self.paths.pop(key[:2], None)
                self.dirty.discard(key[:2])
        self.sessions[session_id] -= 1
        if not self.sessions[session_id]:
            del self.sessions[session_id]
            await self.layer.group_discard(board.group_name(session_id), self.channel)
        if not self.viewers:
            await self.stop()

    async def stop(self):
        for task in self.tasks:
            task.cancel()
        self.tasks, self.channel = [], None
        self.cache.clear()

    def mark(self, session_id: int, paths: list[str]):
        """A notice: the units watched under ``paths`` (all of the session's when empty) are dirty."""
        for (sid, uid), path in self.paths.items():
            if sid == session_id and (not paths or any(p.startswith(path) for p in paths)):
                self.dirty.add((sid, uid))
                for key in [k for k in self.cache if k[:2] == (sid, uid)]:
                    del self.cache[key]
                self.wake.set()

    async def _listen(self):
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a broken layer connection: retry, do not die
                log.exception("board hub could not read its channel")
                await asyncio.sleep(1)
                continue
            if message.get("type") == "board.dirty":
                self.mark(message.get("session"), message.get("paths") or [])

    async def _tick(self):
        while True:
            await self.wake.wait()
            self.wake.clear()
            started = time.monotonic()
            work, self.dirty = self.dirty, set()
            for sid, uid in work:
                languages = sorted({k[2] for k in self.viewers if k[:2] == (sid, uid)})
                if not languages:
                    continue
                try:
                    payloads = await self._compute(sid, uid, languages)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("board roll-up failed for session %s unit %s", sid, uid)
                    continue
                for lang, payload in payloads.items():
                    if (sid, uid) not in self.dirty:
                        self.cache[(sid, uid, lang)] = payload
                    for consumer in list(self.viewers.get((sid, uid, lang), ())):
                        try:
                            await consumer.send_json(payload)
                        except Exception:  # a viewer that just left
                            log.debug("board viewer gone", exc_info=True)
            # Ticks are counted from the start of a round, so a notice waits at most a tick plus one
            # roll-up; a round slower than the tick still rests a quarter of it.
            tick = tick_seconds()
            await asyncio.sleep(max(tick - (time.monotonic() - started), tick / 4))

    async def _compute(self, sid, uid, languages):
        self.computations += 1
        return await compute(sid, uid, languages)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BoardHub]" = weakref.WeakKeyDictionary()


def hub() -> BoardHub:
    """This event loop's hub (one per server process)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = BoardHub()
    return _hubs[loop]


class BoardConsumer(AsyncJsonWebsocketConsumer):
    """One viewer of a unit's board: refused outside their read scope, then fed by the hub."""

    key = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        path = await self._path_in_scope(user, kwargs["sid"], kwargs["uid"])
        if path is None:
            await self.close(code=4403)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        lang = "" if query.get("html") == ["0"] else self._language()
        await self.accept()
        self.key = (kwargs["sid"], kwargs["uid"], lang)
        await hub().subscribe(self, kwargs["sid"], kwargs["uid"], path, lang)

    async def disconnect(self, code):
        if self.key:
            await hub().unsubscribe(self, *self.key)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    def _language(self) -> str:
        cookies = {}
        for name, value in self.scope.get("headers", []):
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    k, _, v = part.strip().partition("=")
                    cookies[k] = v
        lang = cookies.get(settings.LANGUAGE_COOKIE_NAME, "")
        return lang if lang in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE

    @database_sync_to_async
    def _path_in_scope(self, user, session_id: int, unit_id: int) -> str | None:
        from diemcau.events import access as event_access
        from diemcau.orgs.scoping import scope_for

        if not event_access.visible_conferences(user).filter(sessions__pk=session_id).exists():
            return None
        unit = scope_for(user).units().filter(pk=unit_id).values_list("path", flat=True).first()
        return unit
