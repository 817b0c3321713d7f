"""Device tokens (mã thiết bị): how a kiosk, a scanner or a script calls the API for one bridge point.

- :func:`issue`: someone who manages the point (``access.require_change_point``) names a device; the
  secret (``dc1_`` + 32 random bytes, URL-safe) is returned once and only its SHA-256 is stored. The
  token expires after ``DEVICE_TOKEN_HOURS`` (at most) and is audited (``points.device_token_issued``).
- :func:`revoke`: the same people end it at once (``points.device_token_revoked``).
- :func:`rotate`: a new token for the same device, by those people or by the device itself through the API
  (``POST /api/points/devices/rotate``) before it expires; the old one works ``DEVICE_TOKEN_OVERLAP_MINUTES``
  more, then is refused, and rotates only once (``points.device_token_rotated``).
- :class:`DeviceTokenMiddleware`: a request with ``Authorization: Bearer dc1_…`` is authenticated by
  one indexed look-up (hash, not revoked, not expired, issuer active); it then acts for the issuer
  (``request.user``, so every service still checks the issuer's right at each use: a token ends with
  the right that issued it) with ``request.device`` set. No session is read or written.
- Only API routes declared for devices accept it (``core.apiauth``); each of them calls
  :func:`require_device_point` with the points it touches, so a token for point A is "not found" at B.

Never logged or stored: the secret. Logged: issue, rotation and revoke (who, which point, the 8-character
prefix).
"""

import datetime
import hashlib
import secrets

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, prepared, ws_auth
from diemcau.core.errors import DomainError, ScopeError

from .access import require_change_point
from .models import BridgePoint, DeviceToken

SCHEME = "dc1_"
MAX_NAME = 100


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def lifetime() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.DEVICE_TOKEN_HOURS)


def _require_manager(actor, point: BridgePoint) -> None:
    # A token acts for a person (their right is checked at each use): the system actor issues none.
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "pk", None):
        raise ScopeError()
    require_change_point(actor, point)


def issue(actor, point: BridgePoint, name: str) -> tuple[DeviceToken, str]:
    """Issue a token for a device at ``point``; returns the row and the secret (shown once, never again)."""
    _require_manager(actor, point)
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise DomainError(_("Name the device (at most %(max)d characters).") % {"max": MAX_NAME}, "bad_name")
    with transaction.atomic():
        token, secret = _create(actor, point, name)
        audit.record(actor, "points.device_token_issued", token, unit_path=point.hall.unit.path,
                     after={"point": point.pk, "name": name, "prefix": token.prefix,
                            "expires_at": token.expires_at.isoformat()})
    return token, secret


def _create(actor, point: BridgePoint, name: str) -> tuple[DeviceToken, str]:
    secret = SCHEME + secrets.token_urlsafe(32)
    token = DeviceToken.objects.create(point=point, name=name, token_hash=_hash(secret),
                                       prefix=secret[len(SCHEME):len(SCHEME) + 8], issued_by=actor,
                                       expires_at=timezone.now() + lifetime())
    return token, secret


def overlap() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.DEVICE_TOKEN_OVERLAP_MINUTES)


def rotate(actor, token: DeviceToken, *, by_device: bool = False) -> tuple[DeviceToken, str]:
    """A new token for the same device; the old one works :func:`overlap` more. Returns the new row and secret.

    ``actor`` manages the point (the device acts for its issuer: ``by_device``). Refused: ``token_not_active``
    (revoked or expired), ``already_rotated`` (an old token mints nothing more).
    """
    point = BridgePoint.objects.select_related("hall__unit").get(pk=token.point_id)
    _require_manager(actor, point)
    with transaction.atomic():
        old = DeviceToken.objects.select_for_update().get(pk=token.pk)
        if not is_active(old):
            raise DomainError(_("This device token no longer works; issue a new one."), "token_not_active")
        if old.replaced_by_id is not None:
            raise DomainError(_("This device token has already been replaced."), "already_rotated")
        new, secret = _create(actor, point, old.name)
        old.replaced_by, old.expires_at = new, min(old.expires_at, timezone.now() + overlap())
        old.save(update_fields=["replaced_by", "expires_at"])
        audit.record(actor, "points.device_token_rotated", new, unit_path=point.hall.unit.path,
                     after={"point": point.pk, "name": old.name, "prefix": old.prefix, "new_prefix": new.prefix,
                            "old_expires_at": old.expires_at.isoformat(), "expires_at": new.expires_at.isoformat(),
                            "by": "device" if by_device else "organiser"})
    return new, secret


def revoke(actor, token: DeviceToken) -> DeviceToken:
    """End a token at once (its next request is refused); revoking it again changes nothing."""
    point = BridgePoint.objects.select_related("hall__unit").get(pk=token.point_id)
    _require_manager(actor, point)
    with transaction.atomic():
        token = DeviceToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at, token.revoked_by = timezone.now(), actor
            token.save(update_fields=["revoked_at", "revoked_by"])
            audit.record(actor, "points.device_token_revoked", token, unit_path=point.hall.unit.path,
                         after={"point": point.pk, "prefix": token.prefix})
            ws_auth.publish_revoked(ws_auth.device_key(token.pk))  # its open websockets close (4401)
    return token


def point_tokens(point: BridgePoint):
    """The point's tokens, newest first, with their issuer (the point's page)."""
    return DeviceToken.objects.filter(point=point).select_related("issued_by", "revoked_by")


def is_active(token: DeviceToken, now=None) -> bool:
    return token.revoked_at is None and token.expires_at > (now or timezone.now())


_LOOKUP: dict[str, tuple[str, list[str], list[str]]] = {}


def _lookup_sql() -> tuple[str, list[str], list[str]]:
    """The token's look-up as one plain statement (its text built once per backend): the token's and its
    issuer's columns, by hash, live and with an active issuer. Was the ORM's ``select_related`` +
    ``first()``, whose compilation cost more CPU than the rest of a check-in's request."""
    if connection.vendor not in _LOOKUP:
        user = get_user_model()
        q = connection.ops.quote_name
        token_cols = [f.attname for f in DeviceToken._meta.concrete_fields]
        user_cols = [f.attname for f in user._meta.concrete_fields]
        columns = ", ".join([f"t.{q(DeviceToken._meta.get_field(a).column)}" for a in token_cols]
                            + [f"u.{q(f.column)}" for f in user._meta.concrete_fields])
        _LOOKUP[connection.vendor] = (
            f"SELECT {columns} FROM {q(DeviceToken._meta.db_table)} t "
            f"JOIN {q(user._meta.db_table)} u ON u.{q(user._meta.pk.column)} = t.{q('issued_by_id')} "
            f"WHERE t.{q('token_hash')} = %s AND t.{q('revoked_at')} IS NULL AND t.{q('expires_at')} > %s "
            f"AND u.{q('is_active')}",
            token_cols, user_cols)
    return _LOOKUP[connection.vendor]


def authenticate(secret: str) -> DeviceToken | None:
    """The live token for ``secret`` (its issuer loaded), or ``None``: one indexed look-up, every use.

    Live: not revoked, not expired (a rotated token until its overlap ends: its ``expires_at`` was
    shortened), its issuer active. ``token_hash`` is unique, so at most one row.
    """
    if not secret.startswith(SCHEME) or len(secret) > 100:
        return None
    sql, token_cols, user_cols = _lookup_sql()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with prepared.cursor() as cursor:  # planned once per connection
        cursor.execute(sql, [_hash(secret), now])
        row = cursor.fetchone()
    if row is None:
        return None
    converted = _convert(row, token_cols, user_cols)
    token = DeviceToken.from_db("default", token_cols, converted[:len(token_cols)])
    issuer = get_user_model().from_db("default", user_cols, converted[len(token_cols):])
    token._state.fields_cache["issued_by"] = issuer
    return token


_CONVERTERS: dict[str, list[tuple[int, list, object]]] = {}


def _convert(row, token_cols: list[str], user_cols: list[str]) -> list:
    """The backend's values as the ORM would give them (SQLite gives datetimes as text, booleans as
    ints; PostgreSQL's need nothing): the backend's and the fields' converters, found once per backend."""
    if connection.vendor not in _CONVERTERS:
        fields = ([DeviceToken._meta.get_field(a) for a in token_cols]
                  + [get_user_model()._meta.get_field(a) for a in user_cols])
        found = []
        for i, field in enumerate(fields):
            col = field.get_col(field.model._meta.db_table)
            converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
            if converters:
                found.append((i, converters, col))
        _CONVERTERS[connection.vendor] = found
    values = list(row)
    for i, converters, col in _CONVERTERS[connection.vendor]:
        for converter in converters:
            values[i] = converter(values[i], col, connection)
    return values


def device_conference(token: DeviceToken, issuer) -> int | None:
    """The conference of the token's point while ``issuer`` still manages the point, else ``None``."""
    point = BridgePoint.objects.select_related("hall__unit").filter(pk=token.point_id).first()
    try:
        if point is None:
            return None
        _require_manager(issuer, point)
    except ScopeError:
        return None
    return point.conference_id


def require_device_point(request, *point_ids) -> None:
    """Raise :class:`ScopeError` ("not found") when a device token calls about another point."""
    device = getattr(request, "device", None)
    if device is not None and any(int(p) != device.point_id for p in point_ids):
        raise ScopeError()


class DeviceTokenMiddleware:
    """Authenticate ``Authorization: Bearer dc1_…`` on the API, before the scope is activated.

    Sits after Django's authentication middleware (it replaces ``request.user``, which is still lazy:
    no session is read) and before ``orgs.scoping.ScopeMiddleware`` (which then activates the
    issuer's scope). A refused token leaves an anonymous user and ``request.device_refused`` set.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.device = None
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer " and request.path_info.startswith("/api/"):
            token = authenticate(header[7:].strip())
            if token is None:
                request.user, request.device_refused = AnonymousUser(), True
            else:
                request.user, request.device = token.issued_by, token
        return self.get_response(request)


DEVICE_WEBSOCKETS = ("/ws/live/polls/",)
"""Websocket routes a device token may open (each consumer checks the token's point itself); the polls a
kiosk answers for its point. Elsewhere a socket with a token is anonymous, so refused."""


def _still_active(token_id: int):
    def check():
        alive = DeviceToken.objects.filter(pk=token_id, revoked_at__isnull=True, expires_at__gt=timezone.now(),
                                           issued_by__is_active=True).exists()
        return None if alive else 4401

    return check


class DeviceTokenWebsocketMiddleware:
    """Channels middleware: ``Authorization: Bearer dc1_…`` on a device's websocket, checked at connect.

    Sits inside Channels' ``AuthMiddlewareStack``. The socket then acts for the issuer with
    ``scope["device"]`` set and is watched by ``core.ws_auth`` under ``device.<id>``: revoking the token
    (or its expiry, or the issuer's deactivation) closes it (4401), and its reconnect is refused.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        header = dict(scope.get("headers", ())).get(b"authorization", b"").decode("latin-1")
        if scope.get("type") == "websocket" and header[:7].lower() == "bearer ":
            token = await database_sync_to_async(authenticate)(header[7:].strip())
            scope = dict(scope, device=token, user=AnonymousUser())
            if token is not None and scope["path"].startswith(DEVICE_WEBSOCKETS):
                scope.update(user=token.issued_by, ws_auth_keys=(ws_auth.device_key(token.pk),),
                             ws_auth_checks=(_still_active(token.pk),))
        return await self.app(scope, receive, send)
