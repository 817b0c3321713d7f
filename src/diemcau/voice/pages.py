"""What the moderation queue and the ranked list show, for the page and for its websocket alike."""

from diemcau.events import access as event_access

from . import access, analysis, moderation, similar, topic_list


def moderation_context(user, conference) -> dict:
    """The moderator's queue: pending items in scope, suggested duplicates, what reached this level."""
    queue = list(moderation.moderation_queue(user, conference)[:200])
    # The moderator's whole subtree: items approved at a school still need forwarding or merging.
    level = list(moderation.ranked(user, conference, include_below=True)[:200])
    return {"conference": conference, "queue": queue, "level": level,
            "groups": similar.suggested_duplicates(user, conference),
            "opposed": similar.opposed_pairs(user, conference),
            "topics": topic_list.active_topics(conference), "targets": level,
            "can_edit_topics": access.can_edit_topics(user, conference)}


def ranked_context(user, conference, below: bool) -> dict:
    """What came up to the user's level (the ministry: the national list), ranked, with counts."""
    return {"conference": conference, "below": below,
            "items": list(moderation.ranked(user, conference, include_below=below)[:500]),
            "can_direct": event_access.can_direct(user, conference),
            "can_analyse": analysis.can_analyse(user)}
