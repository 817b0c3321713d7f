"""Websocket of the attendance board: ``/ws/attendance/sessions/<sid>/units/<uid>/board/``.

Each message is ``{"type": "board", "html": ..., "figures": {session, unit, expected, present,
percentage, by_category, computed_at}}``; ``?html=0`` leaves the HTML out (scripts, benchmarks);
``?htmx=1`` sends the board's HTML alone, as ``<div id="board-live">…</div>`` for htmx's ws extension.
Anonymous users are closed with 4401, a session or unit outside the user's read scope with 4403.

Throttling: every process runs one attendance-board :class:`diemcau.core.hub.Hub`. Check-ins publish
a dirty notice on commit (:mod:`.board_notices`); the hub recomputes each dirty (session, unit) once
per ``ATTENDANCE_BOARD_TICK`` seconds (default 1), renders it once per language and pushes it to
every viewer of that unit: the cost follows the units watched, not the check-ins or viewers.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

from diemcau.core import hub as hubs
from diemcau.core.acting import system_scope
from diemcau.core.consumers import page_language
from diemcau.events.access import visible_conferences
from diemcau.events.models import Session
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import acting_as, current_user, scope_for

from . import board, board_notices


def tick_seconds() -> float:
    return float(settings.ATTENDANCE_BOARD_TICK)


@database_sync_to_async
def compute(key: tuple[int, int], languages: list[str]) -> dict[str, dict]:
    """One roll-up of a unit, rendered once per language ("" = figures only)."""
    session_id, unit_id = key
    # One roll-up per unit serves every viewer of it (each was checked at connect): the system's.
    with system_scope("attendance board: one roll-up per unit for its viewers"):
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


def hub() -> hubs.Hub:
    """This process's attendance-board hub."""
    return hubs.hub_for("attendance.board", lambda: hubs.Hub(compute, tick=tick_seconds,
                                                             affected=board_notices.affected))


class AttendanceBoardConsumer(hubs.HubViewer, AsyncJsonWebsocketConsumer):
    """One viewer of a unit's attendance board: refused outside their read scope, then fed by the hub."""

    def hub(self) -> hubs.Hub:
        return hub()

    async def subscription(self, user, kwargs, query):
        path = await self._path_in_scope(user, kwargs["sid"], kwargs["uid"])
        if path is None:
            return None
        self.htmx = query.get("htmx") == ["1"]
        lang = "" if query.get("html") == ["0"] and not self.htmx else page_language(self.scope)
        return (kwargs["sid"], kwargs["uid"]), lang, board_notices.group_name(kwargs["sid"]), path

    async def hub_push(self, payload: dict):
        if self.htmx:
            figures = payload["figures"]
            await self.send(text_data=f'<div id="board-live" data-present="{escape(figures["present"])}" '
                                      f'data-computed-at="{escape(figures["computed_at"])}">{payload["html"]}</div>')
        else:
            await self.send_json(payload)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    @database_sync_to_async
    def _path_in_scope(self, user, session_id: int, unit_id: int) -> str | None:
        user = current_user(user)
        if user is None:
            return None
        with acting_as(user):
            if not visible_conferences(user).filter(sessions__pk=session_id).exists():
                return None
            return scope_for(user).units().filter(pk=unit_id).values_list("path", flat=True).first()
