"""Signals about people's rights that other modules act on (imports point one way: they import this).

``role_changed`` is sent after the transaction that granted or revoked a role commits, with
``user``, ``role``, ``unit`` (or None) and ``change`` ("granted" or "revoked"); e.g. the live module
revokes the media tokens a lost role had justified.
"""

from django.dispatch import Signal

from diemcau.core import ws_auth

role_changed = Signal()


def _recheck_websockets(sender, user=None, change="", **kwargs):
    """A role taken away: each of the person's websockets checks its right again (closes 4403 if gone)."""
    if user is not None and change == "revoked":
        ws_auth.publish_revoked(ws_auth.user_key(user.pk), code=ws_auth.FORBIDDEN, recheck=True)


role_changed.connect(_recheck_websockets, dispatch_uid="orgs.recheck_websockets")
