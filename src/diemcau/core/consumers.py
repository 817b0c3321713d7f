"""Websockets of core: a job's progress (for its owner only), pushed when the job runner commits a change.

Also :func:`page_language`, the interface language of a websocket's page, for consumers that render HTML.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme

from . import ws_auth
from .models import Job
from .tasks import job_group


def page_language(scope) -> str:
    """The interface language of a websocket's page (Django's language cookie, else the default)."""
    cookies = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                cookies[k] = v
    lang = cookies.get(settings.LANGUAGE_COOKIE_NAME, "")
    return lang if lang in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    """Sends {status, progress, total, percent, message} on every committed change until the job ends.

    ``?htmx=1`` sends the job's progress fragment (``core/_job_state.html``) for htmx's ws extension
    instead; ``next`` is where a finished job's page goes (as the job-status view's ``next``).
    """

    async def connect(self):
        user = self.scope.get("user")
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        if user is None or not user.is_authenticated or not await self._owns(user, job_id):
            await self.close(code=4403)
            return
        self.job_id, self.user, self.last = job_id, user, None
        query = {k: v[-1] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items()}
        self.htmx = query.get("htmx") == "1"
        done_url = query.get("next", "")
        self.done_url = done_url if url_has_allowed_host_and_scheme(done_url, allowed_hosts=None) else ""
        self.lang = page_language(self.scope)
        self.group = job_group(job_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await ws_auth.watch(self)  # closed with the owner's session or account
        await self._push()

    async def disconnect(self, code):
        await ws_auth.forget(self)
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def job_changed(self, event):
        await self._push()

    @database_sync_to_async
    def _owns(self, user, job_id):
        return Job.objects.filter(pk=job_id, owner=user).exists()

    @database_sync_to_async
    def _state(self):
        job = Job.objects.get(pk=self.job_id)
        state = {"status": job.status, "progress": job.progress, "total": job.total,
                 "percent": job.percent, "message": job.message, "finished": job.finished}
        html = None
        if self.htmx:
            with translation.override(self.lang):
                html = render_to_string("core/_job_state.html", {
                    "job": job, "job_done_url": self.done_url, "request": _Viewer(self.user), "pushed": True})
        return state, html

    async def _push(self):
        state, html = await self._state()
        if state != self.last:
            self.last = state
            if self.htmx:
                await self.send(text_data=html)
            else:
                await self.send_json(state)
        if state["finished"]:
            await self.close()


class _Viewer:
    """What the progress fragment reads of ``request``: who is looking (the retry button is the owner's)."""

    def __init__(self, user):
        self.user = user
