"""Receivers from other modules: the voice module's "question on air" reaches the kiosks; sign-out,
a lost role and a deactivated account take the person's live tokens away (Janus refuses them at once).
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save

from diemcau.core.broadcast import send_to_group
from diemcau.orgs.role_signals import role_changed
from diemcau.voice.signals import on_air_changed  # sent on commit with ``conference_id``


def kiosk_group(conference_id: int) -> str:
    return f"live.kiosks.{conference_id}"


def relay_on_air(sender, conference_id=None, **kwargs):
    """Tell every kiosk and viewer of the conference to reload the question on air."""
    if conference_id is not None:
        send_to_group(kiosk_group(conference_id), {"type": "live.on_air"})


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


on_air_changed.connect(relay_on_air, dispatch_uid="live.relay_on_air")
user_logged_out.connect(revoke_on_sign_out, dispatch_uid="live.revoke_on_sign_out")
role_changed.connect(revoke_on_role_change, dispatch_uid="live.revoke_on_role_change")
post_save.connect(revoke_on_deactivation, sender=settings.AUTH_USER_MODEL, dispatch_uid="live.revoke_on_deactivation")
