"""Lockout after repeated failed logins, per username and per client address."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import LoginFailure


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _window_start():
    return timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def is_locked(username: str, ip: str | None) -> bool:
    """True while a username, or an address, has too many recent failures."""
    since = _window_start()
    limit = settings.LOGIN_FAILURE_LIMIT
    recent = LoginFailure.objects.filter(at__gte=since)
    if recent.filter(username=username.lower()).count() >= limit:
        return True
    # An address guessing many usernames is locked out too, with a larger allowance.
    return bool(ip) and recent.filter(ip=ip).count() >= limit * 4


def record_failure(username: str, ip: str | None):
    LoginFailure.objects.create(username=(username or "").lower()[:150], ip=ip)


def clear_failures(username: str):
    LoginFailure.objects.filter(username=username.lower()).delete()
