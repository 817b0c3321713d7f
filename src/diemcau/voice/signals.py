"""Signals of the voice app, sent on commit so a listener never hears of a change that rolled back.

``opinion_changed(sender=Opinion, opinion=..., action=...)``: after submit, a vote, and every
moderation action (``submit``, ``vote``, ``approve``, ``reject``, ``edit``, ``tag``, ``forward``,
``merge``). The live module will subscribe to push updates to queues, kiosks and viewer pages.
"""

from django.db import transaction
from django.dispatch import Signal

opinion_changed = Signal()


def send_on_commit(opinion, action: str) -> None:
    from .models import Opinion

    transaction.on_commit(lambda: opinion_changed.send(sender=Opinion, opinion=opinion, action=action))
