"""Websockets of the voice module: moderation queues, ranked lists and the question on air, live.

``/ws/voice/<cid>/moderate/`` (moderators), ``/ws/voice/<cid>/ranked/[?below=0]`` and
``/ws/voice/<cid>/on-air/`` (anyone taking part in the conference) send server-rendered HTML whose
top elements carry the ids of the page's parts; htmx's ws extension swaps them. Anonymous users are
closed with 4401, a conference or page outside the user's scope with 4403 (as the page answers 404).

One voice hub per process (:class:`diemcau.core.hub.Hub`): every opinion change publishes a dirty
notice on commit (:mod:`.notices`); each page watched (page, conference, user, variant) is rendered
once per tick however many changes or open tabs there are.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.template.loader import render_to_string
from django.utils import translation

from diemcau.core import hub as hubs
from diemcau.core.consumers import page_language
from diemcau.core.errors import ScopeError
from diemcau.events import access as event_access
from diemcau.events.models import Conference
from diemcau.orgs.scoping import SYSTEM, acting_as, current_user, scope_for

from . import moderation, pages
from . import on_air as voice_on_air
from .notices import on_air_group, opinions_group

TICK = 0.5  # at most two renders of a page per second, however fast opinions arrive


def _render(page: str, user, conference, below: bool) -> str:
    if page == "moderate":
        context = pages.moderation_context(user, conference)
        return (render_to_string("voice/_queue.html", context)
                + render_to_string("voice/_level.html", context))
    if page == "ranked":
        return render_to_string("voice/_ranked_rows.html", pages.ranked_context(user, conference, below))
    return render_to_string("voice/_on_air.html", {"conference": conference, "o": voice_on_air.on_air(conference)})


@database_sync_to_async
def compute(key: tuple, languages: list[str]) -> dict[str, str]:
    """One page's parts, rendered once per language."""
    close_old_connections()
    page, conference_id, user_id, below = key
    conference = Conference.objects.select_related("host_unit").get(pk=conference_id)
    # The user reloaded at every render, the scope built afresh; the question on air (no user) reads
    # the same for every viewer of the conference, each checked at connect.
    user = current_user(get_user_model()(pk=user_id)) if user_id else SYSTEM
    if user is None:
        return dict.fromkeys(languages, "")
    out = {}
    with acting_as(user):
        for lang in languages:
            with translation.override(lang):
                out[lang] = _render(page, user, conference, below)
    return out


def hub() -> hubs.Hub:
    """This process's voice hub."""
    return hubs.hub_for("voice", lambda: hubs.Hub(compute, tick=lambda: TICK))


class VoicePageConsumer(hubs.HubViewer, AsyncWebsocketConsumer):
    """One open moderation queue, ranked list or on-air fragment, fed by the voice hub."""

    def hub(self) -> hubs.Hub:
        return hub()

    async def subscription(self, user, kwargs, query):
        page, cid = kwargs["page"], kwargs["conference_id"]
        if not await self._allowed(user, page, cid):
            return None
        below = page == "ranked" and query.get("below") != ["0"]
        # The question on air reads the same for everyone who may see it: one render for all.
        key = (page, cid, None if page == "on-air" else user.pk, below)
        group = on_air_group(cid) if page == "on-air" else opinions_group(cid)
        return key, page_language(self.scope), group, None

    async def hub_push(self, payload: str):
        await self.send(text_data=payload)

    async def receive(self, text_data=None, bytes_data=None):
        pass  # these pages only listen

    @database_sync_to_async
    def _allowed(self, user, page: str, conference_id: int) -> bool:
        close_old_connections()
        try:
            event_access.visible_conference(user, conference_id)
        except ScopeError:
            return False
        if page == "moderate":
            return scope_for(user).has_role(*moderation.MODERATOR_ROLES)
        return page in ("ranked", "on-air")
