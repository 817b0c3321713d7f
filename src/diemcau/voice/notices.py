"""The channel-layer groups that the voice module's websockets listen to, and the notices sent to them.

Every change to an opinion (submitted, voted, approved, rejected, edited, tagged, forwarded, merged,
put on air, answered) marks the conference's moderation queues and ranked lists dirty
(:func:`opinion_notice`); their hub re-renders each page once per tick (:mod:`.consumers`). A change
of the item on air also reaches the on-air fragment of kiosks and viewer pages (:func:`on_air_message`).
"""

from diemcau.core import hub


def opinions_group(conference_id: int) -> str:
    """Moderation queues and ranked lists of a conference (their hub's dirty notices)."""
    return f"voice.opinions.{conference_id}"


def on_air_group(conference_id: int) -> str:
    """The pages showing a conference's question on air (kiosks, the viewer page, the director's)."""
    return f"voice.on_air.{conference_id}"


def opinion_notice(opinion, action: str) -> tuple[str, dict]:
    """The dirty notice of one change to ``opinion`` (for ``publish_on_commit``).

    Every change passes here, so it also tells the stored summary and groups (:mod:`.stored`) that
    the conference changed (a cache lookup; at most one queued recomputation per window).
    """
    from .stored import changed  # stored imports the services that import this module

    changed(opinion.conference_id)
    return hub.notice(opinions_group(opinion.conference_id), action=action)


def later_notice(earlier: dict, later: dict) -> dict:
    """Two dirty notices of one conference's opinions as one (``publish_soon_on_commit``'s merge): they
    carry no figures, and the hub recomputes every page of the group whichever change it was."""
    return later


def on_air_message(conference_id: int) -> tuple[str, dict]:
    """The item on air changed (another went on air, or it was answered or taken off)."""
    return hub.notice(on_air_group(conference_id))
