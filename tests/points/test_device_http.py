"""A device's check-ins answered in front of Django (``attendance.device_http``): the same answers as
Django's whole stack gives — status, body and headers — for a check-in, its retry, a batch, another
point, a business refusal, and (through Django, the body replayed) a refused token, bad JSON and a
badly shaped body; an over-long body is 413 before it is read.

The ASGI application is called in-process: Django's handler without its per-request thread (so both
see the test's transaction), and Django's request signals do not close the test's connection, as
with Django's own test client.
"""

import asyncio
import datetime
import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.core import signals
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections
from django.utils import timezone

from diemcau.attendance.device_http import device_checkins
from diemcau.attendance.models import CheckIn
from diemcau.core.bodylimit import limit_asgi_bodies
from diemcau.points import devices
from diemcau.points.models import DeviceToken
from tests.attendance.conftest import world  # noqa: F401  (fixture reused)

pytestmark = pytest.mark.smoke

SINGLE, BATCH = "/api/attendance/checkins/", "/api/attendance/checkins/batch/"


class _DjangoHere(ASGIHandler):
    """Django's ASGI handler in the caller's thread (the test's database connection)."""

    async def __call__(self, scope, receive, send):
        await self.handle(scope, receive, send)


class Recorder:
    """Which application answered: the device route, or Django behind it."""

    def __init__(self):
        self.django = _DjangoHere()
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await self.django(scope, receive, send)


def call(app, path: str, body: bytes, secret: str | None, **extra) -> tuple[int, dict, bytes]:
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if secret:
        headers.append((b"authorization", f"Bearer {secret}".encode()))
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays until answered (Django listens for a disconnect)

    async def send(message):
        sent.append(message)

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        async_to_sync(app)(scope, receive, send)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content


def _comparable(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k not in {"content-length"}}


@pytest.fixture
def kiosk(world, organiser_bavi):  # noqa: F811
    token, secret = devices.issue(organiser_bavi, world["bavi_point"], "Máy quét cửa chính")
    django = Recorder()
    return token, secret, django, limit_asgi_bodies(device_checkins(django, own_thread=False))


def item(world, person, point=None, client_id=None):  # noqa: F811
    return {"client_id": client_id or str(uuid.uuid4()), "session_id": world["session"].pk,
            "point_id": (point or world["bavi_point"]).pk, "person_id": person.pk, "method": "roll_call"}


def test_the_device_route_answers_as_django_does(world, kiosk):  # noqa: F811
    _token, secret, django, app = kiosk
    p = world["people"]
    first = item(world, p["a_t1"])
    body = json.dumps(first).encode()
    status, headers, content = call(app, SINGLE, body, secret)
    assert (status, django.calls) == (200, 0)
    assert json.loads(content)["created"] is True
    # The idempotent retry: the same row, not created; Django's answer to the same retry is the same.
    retry = call(app, SINGLE, body, secret)
    assert retry[0] == 200 and json.loads(retry[2]) == dict(json.loads(content), created=False)
    via_django = call(django, SINGLE, body, secret)
    assert via_django[0] == 200 and via_django[2] == retry[2]
    assert _comparable(via_django[1]) == _comparable(headers)  # the same security headers
    assert CheckIn.objects.filter(client_id=first["client_id"]).count() == 1
    # A batch, a point the token is not for, a refusal of the service: each as Django answers it.
    batch = json.dumps({"items": [item(world, p["a_t2"]), item(world, p["a_t1"])]}).encode()
    ok = call(app, BATCH, batch, secret)
    assert ok[0] == 200 and [r["duplicate_person"] for r in json.loads(ok[2])["results"]] == [False, True]
    elsewhere = json.dumps(item(world, p["thpt_t1"], world["thpt_point"])).encode()
    calls = django.calls
    for path, sent in [(SINGLE, elsewhere), (BATCH, json.dumps({"items": [json.loads(elsewhere)]}).encode())]:
        fast, slow = call(app, path, sent, secret), call(django, path, sent, secret)
        assert fast[0] == slow[0] == 404 and fast[2] == slow[2]
        assert _comparable(fast[1]) == _comparable(slow[1])
    assert django.calls == calls + 2  # only the comparisons went to Django
    world["session"].__class__.objects.filter(pk=world["session"].pk).update(
        starts_at=timezone.now() + datetime.timedelta(days=2), ends_at=timezone.now() + datetime.timedelta(days=3))
    late = json.dumps(item(world, p["a_t3"])).encode()
    fast, slow = call(app, SINGLE, late, secret), call(django, SINGLE, late, secret)
    assert fast[0] == slow[0] == 400 and fast[2] == slow[2]
    assert json.loads(fast[2])["code"] == "outside_session_window"
    # English when the device asks for it, as LocaleMiddleware would.
    fast = call(app, SINGLE, late, secret, **{"accept-language": "en"})
    slow = call(django, SINGLE, late, secret, **{"accept-language": "en"})
    assert fast[2] == slow[2] and fast[1]["content-language"] == "en"


def test_refusals_go_to_django_with_the_body_and_an_oversize_body_is_413(world, kiosk, organiser_bavi):  # noqa: F811
    token, secret, django, app = kiosk
    p = world["people"]
    body = json.dumps(item(world, p["a_t1"])).encode()
    # Bad JSON, a badly shaped body: Django's own answer (the body replayed to it), 400 or 422 with details.
    for bad in (b"{not json", json.dumps({"items": []}).encode(), body.replace(b'"person_id": ', b'"person_id": "x')):
        for path in (SINGLE, BATCH):
            calls = django.calls
            fast, slow = call(app, path, bad, secret), call(django, path, bad, secret)
            assert fast == slow and fast[0] in (400, 422) and django.calls == calls + 2, (path, bad, fast)
    assert json.loads(call(app, BATCH, json.dumps({"items": []}).encode(), secret)[2])["code"] == "invalid"
    # Revoked, expired or unknown: Django's 401, nothing recorded.
    DeviceToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    status, _headers, content = call(app, SINGLE, body, secret)
    assert status == 401 and json.loads(content)["code"] == "device_token_refused"
    DeviceToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + datetime.timedelta(hours=1))
    devices.revoke(organiser_bavi, token)
    assert call(app, BATCH, json.dumps({"items": [json.loads(body)]}).encode(), secret)[0] == 401
    assert call(app, SINGLE, body, "dc1_unknown")[0] == 401
    assert CheckIn.objects.count() == 0
    # Over the limit: refused before the body is read, whatever the token.
    huge = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    calls = django.calls
    status, _headers, content = call(app, BATCH, huge, secret)
    assert status == 413 and django.calls == calls
