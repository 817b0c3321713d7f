"""The channel groups live updates go to (the site board, the director's console, a point's kiosk)
and publishing on commit.
"""

from __future__ import annotations

from django.db import transaction

from diemcau.core.broadcast import send_to_group


# --- publishing live updates -------------------------------------------------------------------------
def board_group(conference_id: int) -> str:
    return f"live.board.{conference_id}"


def director_group(conference_id: int) -> str:
    return f"live.director.{conference_id}"


def point_group(point_id: int) -> str:
    return f"live.point.{point_id}"


def _send(group: str, message: dict):
    send_to_group(group, message)


def _publish_on_commit(*pairs: tuple[str, dict]):
    def send():
        for group, message in pairs:
            _send(group, message)
    transaction.on_commit(send)
