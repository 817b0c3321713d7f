"""Websocket of the attendance board: ``/ws/attendance/sessions/<sid>/units/<uid>/board/``.

Messages (:mod:`diemcau.core.hub_deltas`): first ``{"type": "board", "version", "snapshot": {"html"},
"figures"}``, then ``{"type": "board", "version", "base", "rows_changed": {id: html}, "rows_removed":
[id], "figures"}``; a unit's or point's row whose figures alone changed comes as ``{"present",
"expected", "pct", "bar": [width, class]}``, formatted, instead of its HTML. ``figures`` is
``{session, unit, expected, present, percentage, by_category, computed_at}``. A viewer whose version
is not a delta's ``base`` sends ``{"type": "snapshot"}`` and gets one. ``?html=0`` carries rows as
data instead of HTML (``snapshot`` is then ``{"rows"}``: scripts, benchmarks). Anonymous users are
closed with 4401, a session or unit outside the user's read scope with 4403.

Throttling: every process runs one attendance-board hub. Check-ins publish a dirty notice on commit
(:mod:`.board_notices`); the hub recomputes each dirty (session, unit) once per
``ATTENDANCE_BOARD_TICK`` seconds (default 0.5), compares its rows with the last ones once, renders the
changed rows once per language and sends every viewer of that unit the same message: the cost follows
the units watched and the rows changed, not the check-ins or viewers. A watched unit is also
recomputed when its figures are ``ATTENDANCE_BOARD_REFRESH`` seconds old (default 15; sent only if a
row changed): a check-in whose notice was lost on the way (a Redis connection cut) shows within that.
"""

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation

from diemcau.core import hub as hubs
from diemcau.core.acting import system_scope
from diemcau.core.consumers import page_language
from diemcau.core.hub_deltas import DeltaHub, Frame
from diemcau.events.access import visible_conferences
from diemcau.events.models import Session
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import acting_as, current_user, scope_for

from . import board, board_notices, board_rows


def tick_seconds() -> float:
    return float(settings.ATTENDANCE_BOARD_TICK)


def refresh_seconds() -> float:
    return float(settings.ATTENDANCE_BOARD_REFRESH)


@database_sync_to_async
def compute(key: tuple[int, int], variants: list[str]) -> Frame:
    """One roll-up of a unit, as the board's rows (shared by every language)."""
    session_id, unit_id = key
    # One roll-up per unit serves every viewer of it (each was checked at connect): the system's.
    with system_scope("attendance board: one roll-up per unit for its viewers"):
        session = Session.objects.select_related("conference").get(pk=session_id)
        unit = Unit.objects.get(pk=unit_id)
        return board_rows.frame(board.board_data(session, unit))


@sync_to_async
def render(key, frame: Frame, wanted: dict[str, list[str]]) -> dict[str, dict]:
    """The changed rows once per language ("": the rows' data itself)."""
    out = {}
    for lang, row_ids in wanted.items():
        if not lang:
            out[lang] = {row_id: frame.rows[row_id] for row_id in row_ids}
            continue
        with translation.override(lang):
            out[lang] = board_rows.render_rows(frame, row_ids, key[0])
    return out


@sync_to_async
def compose(key, lang: str, frame: Frame, rendered: dict) -> dict:
    """A snapshot: the whole board in ``lang`` from its rendered rows (or the rows' data)."""
    if not lang:
        return {"rows": {row_id: rendered[row_id] for row_id in frame.rows}}
    with translation.override(lang):
        return {"html": board_rows.compose(frame, rendered)}


def patch(lang: str, old: dict | None, new: dict):
    """A unit's or point's row whose figures alone changed goes as those figures (not for ``?html=0``)."""
    if not lang:
        return None
    with translation.override(lang):
        return board_rows.patch_row(old, new)


def hub() -> DeltaHub:
    """This process's attendance-board hub."""
    return hubs.hub_for("attendance.board", lambda: DeltaHub(compute, render, compose, kind="board", patch=patch,
                                                             tick=tick_seconds, refresh_every=refresh_seconds,
                                                             affected=board_notices.affected))


class AttendanceBoardConsumer(hubs.HubViewer, AsyncJsonWebsocketConsumer):
    """One viewer of a unit's attendance board: refused outside their read scope, then fed by the hub."""

    # A viewer hears only its process's hub, never the channel layer: no channel of its own, so a
    # thousand viewers are not a thousand pending reads on Redis.
    channel_layer_alias = None

    def hub(self) -> hubs.Hub:
        return hub()

    async def subscription(self, user, kwargs, query):
        path = await self._path_in_scope(user, kwargs["sid"], kwargs["uid"])
        if path is None:
            return None
        lang = "" if query.get("html") == ["0"] else page_language(self.scope)
        return (kwargs["sid"], kwargs["uid"]), lang, board_notices.group_name(kwargs["sid"]), path

    async def hub_push(self, update):
        await self.send(text_data=update.text)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "snapshot" and self.key:
            await self.hub().resend(self, *self.key)
        elif content.get("type") == "ping":
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
