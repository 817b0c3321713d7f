"""Progressive back-off after failed sign-ins, so guessing is slow and nobody can lock others out.

Three keys, each with its own allowance of free failures (within ``LOGIN_FAILURE_WINDOW_HOURS``);
past the allowance every further failure doubles the wait (``LOGIN_BACKOFF_BASE_SECONDS``, twice
that, … capped at ``LOGIN_BACKOFF_MAX_SECONDS``), and during the wait the password is not checked:

- **(account, address)**: ``LOGIN_FAILURE_LIMIT`` free failures. This is what slows a guesser on
  one account, and it is keyed by address too so that a guesser on the director's account slows
  only the guesser, not the director signing in from elsewhere;
- **address**: ``LOGIN_ADDRESS_FREE_FAILURES`` (large: a school's NAT or a proxy carries hundreds
  of people), against one address trying many accounts;
- **account, from any address**: ``LOGIN_ACCOUNT_FREE_FAILURES`` (loose), against guessing one
  account from many addresses.

The last two never apply to an account at an address it has signed in from in the last
``LOGIN_KNOWN_ADDRESS_DAYS`` days (its audit log says so): the teachers behind a school's NAT and a
director at their usual desk are not held back by someone else's failures. A success clears the
failures of that account at that address.
"""

import math
from datetime import timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from diemcau.core.models import AuditEntry
from diemcau.core.proxies import client_address

from .models import LoginFailure


def client_ip(request) -> str | None:
    """The sign-in's client address (``X-Forwarded-For`` is believed only from trusted proxies)."""
    return client_address(request)


def _key(username: str) -> str:
    return (username or "").lower()[:150]


def _wait(failures, free: int, now) -> int:
    """Seconds still to wait after the failures in ``failures``, given ``free`` of them are free."""
    count = failures.count()
    if not count or count < free:
        return 0
    last = failures.aggregate(last=Max("at"))["last"]
    delay = min(settings.LOGIN_BACKOFF_BASE_SECONDS * 2 ** min(count - free, 32),
                settings.LOGIN_BACKOFF_MAX_SECONDS)
    remaining = (last + timedelta(seconds=delay) - now).total_seconds()
    return max(0, math.ceil(remaining))


def _known_address(username: str, ip: str | None, now) -> bool:
    """True when the account signed in successfully from ``ip`` recently."""
    if not ip:
        return False
    since = now - timedelta(days=settings.LOGIN_KNOWN_ADDRESS_DAYS)
    return AuditEntry.objects.filter(action="account.login", actor__username__iexact=username,
                                     ip=ip, at__gte=since).exists()


def retry_after(username: str, ip: str | None) -> int:
    """Seconds before a sign-in as ``username`` from ``ip`` is checked again; 0 means now."""
    now = timezone.now()
    username = _key(username)
    recent = LoginFailure.objects.filter(at__gte=now - timedelta(hours=settings.LOGIN_FAILURE_WINDOW_HOURS))
    waits = [_wait(recent.filter(username=username, ip=ip), settings.LOGIN_FAILURE_LIMIT, now)]
    if not waits[0] and not _known_address(username, ip, now):
        waits.append(_wait(recent.filter(username=username), settings.LOGIN_ACCOUNT_FREE_FAILURES, now))
        if ip:
            waits.append(_wait(recent.filter(ip=ip), settings.LOGIN_ADDRESS_FREE_FAILURES, now))
    return max(waits)


def record_failure(username: str, ip: str | None):
    LoginFailure.objects.create(username=_key(username), ip=ip)


def clear_failures(username: str, ip: str | None):
    """Forget the account's failures at this address (a success there proves who was typing)."""
    LoginFailure.objects.filter(username=_key(username), ip=ip).delete()
