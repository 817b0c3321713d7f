"""Bookkeeping on login events: failures feed the lockout, successes clear it and are audited."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from diemcau.core import audit
from diemcau.core.middleware import MUST_CHANGE_PASSWORD

from . import accounts, lockout


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    lockout.record_failure(credentials.get("username", ""), lockout.client_ip(request))


@receiver(user_logged_in)
def on_logged_in(sender, request, user, **kwargs):
    ip = lockout.client_ip(request)
    lockout.clear_failures(user.get_username(), ip)
    audit.record(user, "account.login", user, object_repr=user.get_username(), ip=ip)
    if accounts.must_change_password(user):
        request.session[MUST_CHANGE_PASSWORD] = True
