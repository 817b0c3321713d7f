"""The channel-layer groups that the live module's websockets listen to (services publish to them).

Kiosks (``kiosk_group``) hear the programme and the floor of their conference; one point's kiosk
(``point_group``) hears what concerns it alone (its floor, its microphone); the director console hears
its conference (``director_group``); the live site board's hub hears dirty notices (``board_group``).
"""


def kiosk_group(conference_id: int) -> str:
    return f"live.kiosks.{conference_id}"


def point_group(point_id: int) -> str:
    return f"live.point.{point_id}"


def director_group(conference_id: int) -> str:
    return f"live.director.{conference_id}"


def board_group(conference_id: int) -> str:
    """The live site board's (status wall's) dirty notices: a point's state or a node changed."""
    return f"live.board.{conference_id}"
