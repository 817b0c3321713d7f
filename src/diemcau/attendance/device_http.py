"""A device's check-ins over ASGI, in front of Django: the kiosk's and scanner's hot path, lean.

``POST /api/attendance/checkins/`` and ``…/checkins/batch/`` with ``Authorization: Bearer dc1_…``
(a device token) are answered here without Django's request handler and its middleware stack
(which cost more CPU than the check-in itself: ~6.6 ms per request on this project's 2-core
machine). What is done is what that stack and the API did for such a request, with the same code:

- the body limit: :func:`core.bodylimit.limit_asgi_bodies` wraps this application (413 before a
  byte of an over-long body is read);
- the token: :func:`points.devices.authenticate` (one indexed look-up); the issuer's scope activated
  as ``orgs.scoping.ScopeMiddleware`` does; the token's point checked with
  :func:`points.devices.require_device_point`;
- the body parsed and validated by the API's own models (``attendance.api.CheckInIn``), the SAME
  service (``checkin.check_in_one`` / ``check_in_batch``), the same reply (``api._out``), errors as the
  API's handlers render them (``400`` with the ``DomainError``'s code, ``404 not_found``);
- the language as ``LocaleMiddleware`` picks it; the response headers of Django's security, framing and
  CSP middleware (the same settings); the request metrics under the route's pattern; Django's
  ``request_started``/``request_finished`` signals (its database connections handled as for any
  request).

Anything else goes to Django unchanged, its body replayed: a request without a bearer token, or with
a session cookie, a query string, a body that is not JSON or carries NUL, a host not allowed, a plain
HTTP request where HTTPS is required, an unknown or refused token (Django answers 401
``device_token_refused``), a body the models refuse (Django answers its 422 ``invalid`` with the
details) and a database that cannot be reached (Django answers 503). So every refusal that needs
more than the two codes above is Django's own answer, and the fast route accepts only what Django
would accept.
"""

import re
import time
from types import SimpleNamespace

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.http.request import split_domain_port, validate_host
from django.urls import resolve
from django.utils import translation
from pydantic import BaseModel, Field, ValidationError

from diemcau.core import metrics
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.health import _unreachable
from diemcau.core.middleware import SecurityHeadersMiddleware
from diemcau.core.proxies import is_trusted_proxy
from diemcau.orgs.scoping import acting_as
from diemcau.points import devices

from . import api, checkin

SINGLE, BATCH = "/api/attendance/checkins/", "/api/attendance/checkins/batch/"
_JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


class _Batch(BaseModel):
    """``api.CheckInBatch``'s fields as a plain model (its ninja wrapper is for Django objects)."""

    items: list[api.CheckInIn] = Field(..., min_length=1, max_length=checkin.MAX_BATCH)


class _Fallback(Exception):  # not an error: "let Django answer this one"
    """Django answers this request (its body replayed)."""


def device_checkins(django_app, own_thread: bool = True):
    """Wrap Django's ASGI application: a device's check-ins are answered here, the rest by Django.

    ``own_thread``: each request's database work in a thread of its own, as Django's handler does
    (``ThreadSensitiveContext``); tests turn it off to share the test's connection."""

    async def app(scope, receive, send):
        if (scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in (SINGLE, BATCH)
                or not _bearer(scope)):
            return await django_app(scope, receive, send)
        body = await _read(receive)
        if body is None:  # the client went away, or the body limit stopped the read
            return None
        if own_thread:
            async with ThreadSensitiveContext():
                answer = await sync_to_async(_answer, thread_sensitive=True)(scope, body)
        else:
            answer = await sync_to_async(_answer, thread_sensitive=True)(scope, body)
        if answer is None:
            return await django_app(scope, _replay(body, receive), send)
        status, headers, content = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        return None

    return app


def _bearer(scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            return value[:7].lower() == b"bearer "
    return False


async def _read(receive) -> bytes | None:
    """The whole body, or ``None`` when the client left (or the body limit stopped the read)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive):
    """The body read here, given again to Django as one message; then the client's own messages."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class _Handler:  # the sender of Django's request signals from here
    pass


def _answer(scope, body: bytes):
    """``(status, headers, body)``, or ``None`` when Django answers; runs in a thread, like a view."""
    started = time.perf_counter()
    headers = _headers(scope)
    if not _plain(scope, headers, body):
        return None
    signals.request_started.send(sender=_Handler, scope=scope)
    try:
        language = _language(headers)
        secure = _secure(scope, headers)
        if settings.SECURE_SSL_REDIRECT and not secure:
            return None
        with translation.override(language):
            try:
                status, content = _check_in(scope["path"], headers, body)
            except _Fallback:
                return None
            except Exception as exc:
                if _unreachable(exc):
                    return None  # Django's DatabaseUnavailableMiddleware answers 503 with Retry-After
                raise
    finally:
        signals.request_finished.send(sender=_Handler)
    route = _route(scope["path"])
    metrics.HTTP_REQUESTS.labels(route, "POST", str(status)).inc()
    metrics.HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)
    return status, _response_headers(status, content, language, secure), content


def _headers(scope) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for name, value in scope.get("headers") or ():
        out[name] = out[name] + b"," + value if name in out else value
    return out


def _plain(scope, headers: dict, body: bytes) -> bool:
    """The request is an ordinary device's check-in (else Django answers it, with its whole stack)."""
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if (scope.get("query_string") or b"cookie" in headers or content_type != b"application/json"
            or _JSON_NUL.search(body)):
        return False
    host = headers.get(b"host", b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def _language(headers: dict) -> str:
    """``LocaleMiddleware``'s choice (no cookie here: a request with cookies goes to Django)."""
    fake = SimpleNamespace(COOKIES={}, META={"HTTP_ACCEPT_LANGUAGE": headers.get(b"accept-language", b"")
                                            .decode("latin-1")})
    return translation.get_language_from_request(fake)


def _secure(scope, headers: dict) -> bool:
    """``request.is_secure()`` after ``TrustedProxyMiddleware``: TLS here, or a trusted proxy says so."""
    if scope.get("scheme") == "https":
        return True
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if not proxy_header:
        return False
    name, value = proxy_header
    sent = headers.get(name.removeprefix("HTTP_").lower().replace("_", "-").encode())
    client = (scope.get("client") or (None,))[0]
    return sent is not None and is_trusted_proxy(client) and sent.decode("latin-1").split(",")[0].strip() == value


def _check_in(path: str, headers: dict, body: bytes) -> tuple[int, bytes]:
    token = devices.authenticate(headers[b"authorization"][7:].decode("latin-1").strip())
    if token is None:
        raise _Fallback  # Django answers 401 device_token_refused
    issuer = token.issued_by
    request = SimpleNamespace(device=token, user=issuer)
    with acting_as(issuer):
        try:
            if path == SINGLE:
                payload = _parse(api.CheckInIn, body)
                devices.require_device_point(request, payload.point_id)
                reply = api.reply_one(checkin.check_in_one(issuer, api.item(payload)))
            else:
                items = _parse(_Batch, body).items
                devices.require_device_point(request, *{i.point_id for i in items})
                reply = api.reply_batch(checkin.check_in_batch(issuer, [api.item(i) for i in items]))
        except ScopeError:
            return 404, _render({"code": "not_found", "message": translation.gettext("Not found.")})
        except DomainError as exc:
            return 400, _render({"code": exc.code, "message": exc.message, "details": exc.details})
    return 200, reply


def _parse(model, body: bytes):
    try:
        return model.model_validate_json(body)
    except ValidationError:
        raise _Fallback from None  # Django's 422 with its details


def _render(data: dict) -> bytes:
    return api.render_error(data)


_ROUTES: dict[str, str] = {}


def _route(path: str) -> str:
    """The metrics' label for ``path``: its URL pattern, as ``RequestMetricsMiddleware`` names it."""
    if path not in _ROUTES:
        match = resolve(path)
        _ROUTES[path] = ("/" + match.route) if match.route else "unmatched"
    return _ROUTES[path]


def _response_headers(status: int, content: bytes, language: str, secure: bool) -> list[tuple[bytes, bytes]]:
    """Django's headers for this reply: the content's, ``LocaleMiddleware``'s, ``SecurityMiddleware``'s,
    ``XFrameOptionsMiddleware``'s and ``SecurityHeadersMiddleware``'s (CSP for a non-page reply)."""
    # The check-in's reply is written as plain JSON (``api._reply``); ninja's renderer adds the charset.
    content_type = b"application/json" if status == 200 else b"application/json; charset=utf-8"
    out = [(b"content-type", content_type), (b"content-length", str(len(content)).encode())]
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        hsts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        hsts += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
        out.append((b"strict-transport-security", hsts.encode()))
    # Vary: Cookie as SessionMiddleware adds it (the password-change rule reads the session on every request).
    out += [(b"vary", b"Accept-Language, Cookie"), (b"content-language", language.encode())]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        out.append((b"x-content-type-options", b"nosniff"))
    referrer = settings.SECURE_REFERRER_POLICY or "same-origin"
    referrer = referrer if isinstance(referrer, str) else ",".join(referrer)
    out.append((b"referrer-policy", referrer.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        out.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    out.append((b"x-frame-options", settings.X_FRAME_OPTIONS.upper().encode()))
    out.append((b"content-security-policy", (SecurityHeadersMiddleware.CSP % {"connect": "'self'"}).encode()))
    return out
