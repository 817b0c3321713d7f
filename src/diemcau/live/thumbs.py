"""Points' thumbnails for the director's wall: the latest JPEG a kiosk posted of its own camera.

A kiosk draws its local camera to a 192×108 canvas every ~10 s and posts the JPEG; only the latest
one per point is kept, as ``VAR_DIR/live/thumbs/<point_id>.jpg`` (written atomically: a temporary
file then ``os.replace``). No WebRTC publishing is involved, so 10,000 points cost 10,000 small
files and ~1,000 posts a second at most, not 10,000 video streams at the root.
"""

import os
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from diemcau.core.errors import DomainError
from diemcau.points.access import require_operator
from diemcau.points.models import BridgePoint

MAX_BYTES = 64 * 1024
MIN_INTERVAL_S = 5.0  # the kiosk posts every ~10 s; faster is refused (too_frequent)
JPEG_MAGIC = b"\xff\xd8\xff"


def folder() -> Path:
    """``LIVE_THUMBS_DIR``, else ``VAR_DIR/live/thumbs``, read at each call (a test's own folder counts)."""
    return Path(settings.LIVE_THUMBS_DIR) if settings.LIVE_THUMBS_DIR else Path(settings.VAR_DIR) / "live" / "thumbs"


def path_for(point_id: int) -> Path:
    return folder() / f"{int(point_id)}.jpg"


def taken_at(point_id: int) -> float | None:
    """When the point's latest thumbnail was stored (a Unix time), or None if it has none."""
    try:
        return path_for(point_id).stat().st_mtime
    except OSError:
        return None


def store(actor, point: BridgePoint, data: bytes, *, now: float | None = None) -> float:
    """Keep ``data`` as the point's thumbnail; refused: ``empty``, ``too_big``, ``not_jpeg``, ``too_frequent``."""
    require_operator(actor, point)
    if not data:
        raise DomainError(_("The picture is empty."), "empty")
    if len(data) > MAX_BYTES:
        raise DomainError(_("The picture is too big (at most 64 KB)."), "too_big")
    if not data.startswith(JPEG_MAGIC):
        raise DomainError(_("The picture must be a JPEG image."), "not_jpeg")
    now = time.time() if now is None else now
    last = taken_at(point.pk)
    if last is not None and 0 <= now - last < MIN_INTERVAL_S:
        raise DomainError(_("Pictures are arriving too often; send one every 10 seconds."), "too_frequent")
    return keep(point.pk, data, now=now)


def keep(point_id: int, data: bytes, *, now: float | None = None) -> float:
    """Write ``data`` as the point's thumbnail (atomically); ``store`` checks a kiosk's post first, the SIP
    gateway's thumbnails of a room system (``sip_thumbs.py``) come here directly."""
    now = time.time() if now is None else now
    target = path_for(point_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{int(point_id)}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a front web server may serve the folder
        os.utime(tmp, (now, now))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return now


def ages(point_ids, *, now: float | None = None) -> dict[int, int | None]:
    """Seconds since each point's thumbnail was taken (None: no picture yet)."""
    now = time.time() if now is None else now
    out = {}
    for pid in point_ids:
        at = taken_at(pid)
        out[int(pid)] = None if at is None else max(0, int(now - at))
    return out
