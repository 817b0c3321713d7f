"""Signals about people's rights that other modules act on (imports point one way: they import this).

``role_changed`` is sent after the transaction that granted or revoked a role commits, with
``user``, ``role``, ``unit`` (or None) and ``change`` ("granted" or "revoked"); e.g. the live module
revokes the media tokens a lost role had justified.
"""

from django.dispatch import Signal

role_changed = Signal()
