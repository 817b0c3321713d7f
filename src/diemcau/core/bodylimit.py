"""Request bodies larger than their path's limit are refused (413) before they are read.

``DATA_UPLOAD_MAX_MEMORY_SIZE`` only covers form fields, and under ASGI Django reads the whole body
before any middleware runs; so the ASGI application is wrapped (:func:`limit_asgi_bodies`) and,
for WSGI servers and the test client, :class:`BodyLimitMiddleware` checks the declared length.
Import pages (``REQUEST_IMPORT_PATHS``) may send ``IMPORT_MAX_BYTES`` plus the form around it;
everything else ``REQUEST_MAX_BYTES``. nginx's ``client_max_body_size`` is the first line.
"""

import re

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext


def limit_for(path: str) -> int:
    """The largest request body, in bytes, accepted for ``path``."""
    if any(re.match(p, path) for p in settings.REQUEST_IMPORT_PATHS):
        return max(settings.REQUEST_MAX_BYTES, settings.IMPORT_MAX_BYTES + settings.REQUEST_IMPORT_OVERHEAD_BYTES)
    return settings.REQUEST_MAX_BYTES


def _declared_length(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def refusal_text(limit: int) -> str:
    return gettext("The request is too large (more than %(mb).1f MB).") % {"mb": limit / 1024 / 1024}


def too_large(limit: int) -> HttpResponse:
    return HttpResponse(refusal_text(limit), status=413, content_type="text/plain; charset=utf-8")


class BodyLimitMiddleware:
    """Refuse a request whose declared Content-Length exceeds its path's limit (WSGI, tests)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = limit_for(request.path_info)
        declared = _declared_length(request.META.get("CONTENT_LENGTH"))
        if declared is not None and declared > limit:
            return too_large(limit)
        return self.get_response(request)


def limit_asgi_bodies(app):
    """Wrap an ASGI app: refuse over-long HTTP bodies before reading them, and stop reading a body
    without Content-Length once it passes the limit."""

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        limit = limit_for(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        declared = _declared_length(headers.get(b"content-length"))
        if declared is not None and declared > limit:
            return await _send_too_large(send, limit)
        received = 0
        exceeded = False
        started = False

        async def counting_receive():
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    # Django treats a disconnect while reading as an aborted request: no view runs.
                    return {"type": "http.disconnect"}
            return message

        async def watching_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await app(scope, counting_receive, watching_send)
        if exceeded and not started:
            await _send_too_large(send, limit)

    return guarded


async def _send_too_large(send, limit: int):
    with translation.override(settings.LANGUAGE_CODE):
        body = refusal_text(limit).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
