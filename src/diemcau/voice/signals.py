"""Signals of the voice app, sent on commit so a listener never hears of a change that rolled back.

``opinion_changed(sender=Opinion, opinion=..., action=...)``: after submit, a vote, and every
moderation action (``submit``, ``vote``, ``approve``, ``reject``, ``edit``, ``tag``, ``forward``,
``merge``, ``on_air``, ``answer``, ``off_air``). The live module subscribes to push updates to queues,
kiosks and viewer pages.

Received: a new conference (events' ``Conference`` saved for the first time) gets the default
topics in the same transaction, so no page has to create them when it is first read.

``on_air_changed(sender=Opinion, conference_id=...)``: the item being answered on screen changed
(another one went on air, or it was answered or taken off). Kiosks re-fetch the fragment at
``voice:on-air`` (``/voice/<conference_id>/on-air/``).
"""

from django.db import transaction
from django.dispatch import Signal

opinion_changed = Signal()
on_air_changed = Signal()


def send_on_commit(opinion, action: str) -> None:
    from .models import Opinion

    transaction.on_commit(lambda: opinion_changed.send(sender=Opinion, opinion=opinion, action=action))


def send_on_air_changed(conference_id: int) -> None:
    from .models import Opinion

    transaction.on_commit(lambda: on_air_changed.send(sender=Opinion, conference_id=conference_id))


def seed_topics_of_new_conference(sender, instance, created, raw=False, **kwargs) -> None:
    """A conference starts with the default topic list (voice listens: events does not know voice)."""
    if created and not raw:
        from .topic_list import ensure_topics

        ensure_topics(instance)
