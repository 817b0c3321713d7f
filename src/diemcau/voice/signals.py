"""Receivers of the voice app.

A new conference (events' ``Conference`` saved for the first time) gets the default topics in the
same transaction, so no page has to create them when it is first read (voice listens: events does
not know voice). Live updates of opinions go through :func:`diemcau.core.broadcast.publish_on_commit`
(:mod:`.notices`), not signals.
"""


def seed_topics_of_new_conference(sender, instance, created, raw=False, **kwargs) -> None:
    """A conference starts with the default topic list (voice listens: events does not know voice)."""
    if created and not raw:
        from .topic_list import ensure_topics

        ensure_topics(instance)
