"""Receivers from other modules: sign-out, a lost role and a deactivated account take the person's
live tokens away (Janus refuses them at once). ``role_changed`` is an honest signal: orgs must not
import live. Live updates to browsers go through :func:`diemcau.core.broadcast.publish_on_commit`.
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save

from diemcau.orgs.role_signals import role_changed


def revoke_on_sign_out(sender, request=None, user=None, **kwargs):
    """Signing out ends every live page of the person: their tokens go with the session."""
    if user is not None:
        from . import tokens as live_tokens

        live_tokens.revoke_user_tokens(user, "signed_out")


def revoke_on_role_change(sender, user=None, change="", **kwargs):
    """A role taken away: the tokens it justified go (the others stay, checked again one by one)."""
    if user is not None and change == "revoked":
        from . import tokens as live_tokens

        live_tokens.revoke_user_tokens(user, "role_revoked", recheck=True)


def revoke_on_deactivation(sender, instance=None, **kwargs):
    """An account made inactive keeps no live token (the pages cannot renew them either)."""
    if instance is not None and not instance.is_active:
        from . import tokens as live_tokens

        live_tokens.revoke_user_tokens(instance, "deactivated")


user_logged_out.connect(revoke_on_sign_out, dispatch_uid="live.revoke_on_sign_out")
role_changed.connect(revoke_on_role_change, dispatch_uid="live.revoke_on_role_change")
post_save.connect(revoke_on_deactivation, sender=settings.AUTH_USER_MODEL, dispatch_uid="live.revoke_on_deactivation")
