"""What the attendance board (bảng theo dõi điểm danh) hears when check-ins are recorded.

The check-in services publish, on commit, one small "dirty" notice per session to the board's group
(:func:`publish_checkins`); it carries the tree paths the new rows touch, never figures. The board's
hub (:mod:`.consumers`, on :class:`diemcau.core.hub.Hub`) recomputes each watched unit under those
paths at most once per tick.
"""

from diemcau.core import hub
from diemcau.core.broadcast import publish_soon_on_commit
from diemcau.orgs.models import Person
from diemcau.points.models import BridgePoint, Hall

from .models import CheckIn


def group_name(session_id: int) -> str:
    """The channel-layer group through which the attendance board hears about a session's check-ins."""
    return f"attendance-board-{session_id}"


def _row_path(row: CheckIn) -> str | None:
    """The tree path a new row changes figures under, if known without a query; else None.

    A person counts under their institution (wherever they were scanned); a headcount under the
    unit hosting the point.
    """
    if row.person_id:
        if CheckIn.person.is_cached(row) and Person.unit.is_cached(row.person):
            return row.person.unit.path
        return None
    point = row.point if CheckIn.point.is_cached(row) else None
    if point is not None and BridgePoint.hall.is_cached(point) and Hall.unit.is_cached(point.hall):
        return point.hall.unit.path
    return None


def dirty_notices(checkins) -> dict[int, list[str]]:
    """Per session, the paths touched by ``checkins``; an empty list means "the whole session"."""
    by_session: dict[int, set] = {}
    for row in checkins:
        by_session.setdefault(row.session_id, set()).add(_row_path(row))
    return {sid: ([] if None in paths else sorted(paths)) for sid, paths in by_session.items()}


def publish_checkins(rows) -> None:
    """Tell every process's attendance board, once the new ``rows`` are committed, what they touch.

    The committing thread does not wait for the send (:func:`publish_soon_on_commit`): notices queued
    meanwhile go as one per session, their paths merged (:func:`merge`).
    """
    publish_soon_on_commit(*[hub.notice(group_name(sid), session=sid, paths=paths)
                             for sid, paths in dirty_notices(rows).items()], merge=merge)


def merge(a: dict, b: dict) -> dict:
    """One notice for two of the same session: the union of their paths (none named: the whole session)."""
    paths_a, paths_b = a.get("paths") or [], b.get("paths") or []
    return {**a, "paths": sorted(set(paths_a) | set(paths_b)) if paths_a and paths_b else []}


def affected(message: dict, key, path: str) -> bool:
    """Whether a notice concerns the watched unit at ``path`` (all units when it names no path)."""
    paths = message.get("paths") or []
    return not paths or any(p.startswith(path) for p in paths)
