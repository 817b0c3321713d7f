"""The polls' websocket: ``/ws/live/polls/<cid>/<view>/``, server-rendered fragments for htmx's ws extension.

Views: ``director`` (the results by province and level; directors only), ``phone`` (the open poll asked
to every participant), ``kiosk`` (the open poll asked to points) and ``kiosk-results`` (the results the
director shows on kiosks); the last three for anyone who sees the conference. One polls hub per
process (:class:`diemcau.core.hub.Hub`): a vote publishes a dirty notice on commit, and each view of a
conference is rendered once per tick and language, whatever the number of votes or viewers (a national
poll is not recomputed per viewer). The phone and kiosk forms hear only the state group (a poll opened,
closed or shown), so a vote does not re-render the form under someone's finger.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import close_old_connections
from django.template.loader import render_to_string
from django.utils import translation

from diemcau.core import hub as hubs
from diemcau.core.consumers import page_language
from diemcau.events.access import can_direct, sees_conference
from diemcau.events.models import Conference
from diemcau.orgs.scoping import SYSTEM, acting_as
from diemcau.points.devices import device_conference

from . import polls

TICK = 0.5
VIEWS = ("director", "phone", "kiosk", "kiosk-results")


def render_view(view: str, conference) -> str:
    """One view's fragment (the same for every viewer of the conference)."""
    if view == "director":
        poll = polls.latest_poll(conference.pk)
        return render_to_string("live/_poll_results.html", {
            "conference": conference, "r": polls.results(poll) if poll else None, "director": True})
    if view == "phone":
        return render_to_string("live/_poll_panel.html", {"poll_panel": {
            "conference": conference, "poll": polls.open_poll(conference.pk, polls.Poll.Audience.PEOPLE),
            "mine": None, "client_id": polls.uuid.uuid4()}})
    context = polls.kiosk_context(conference.pk)
    if view == "kiosk":
        return render_to_string("live/_poll_kiosk.html", {"conference": conference, **context})
    return render_to_string("live/_poll_results.html", {"conference": conference, "r": context["shown"],
                                                        "kiosk": True})


@database_sync_to_async
def compute(key: tuple, languages: list[str]) -> dict[str, str]:
    close_old_connections()
    view, conference_id = key
    conference = Conference.objects.select_related("host_unit").get(pk=conference_id)
    out = {}
    with acting_as(SYSTEM):  # the same fragment for every viewer, each checked at connect
        for lang in languages:
            with translation.override(lang):
                out[lang] = render_view(view, conference)
    return out


def hub() -> hubs.Hub:
    """This process's polls hub."""
    return hubs.hub_for("polls", lambda: hubs.Hub(compute, tick=lambda: TICK))


class PollConsumer(hubs.HubViewer, AsyncWebsocketConsumer):
    """One open poll view, fed by the polls hub."""

    def hub(self) -> hubs.Hub:
        return hub()

    async def subscription(self, user, kwargs, query):
        view, cid = kwargs["view"], kwargs["conference_id"]
        if view not in VIEWS or not await self._allowed(user, view, cid):
            return None
        group = polls.results_group(cid) if view in ("director", "kiosk-results") else polls.state_group(cid)
        return (view, cid), page_language(self.scope), group, None

    async def hub_push(self, payload: str):
        await self.send(text_data=payload)

    async def receive(self, text_data=None, bytes_data=None):
        pass  # answers go through the vote view (one path with the form's own POST)

    @database_sync_to_async
    def _allowed(self, user, view: str, conference_id: int) -> bool:
        close_old_connections()
        conference = Conference.objects.select_related("host_unit").filter(pk=conference_id).first()
        if conference is None:
            return False
        device = self.scope.get("device")
        if device is not None:  # a kiosk's device token: the polls asked to its own point's conference
            return view in ("kiosk", "kiosk-results") and device_conference(device, user) == conference.pk
        return can_direct(user, conference) if view == "director" else sees_conference(user, conference)
