"""HLS for mass viewers: signed, expiring links to the programme's playlist served by nginx, and the
folder the runtime's packager (``run_live --hls``) writes it to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path

from django.conf import settings

from diemcau.core.errors import ScopeError
from diemcau.events.access import sees_conference
from diemcau.events.models import Conference

# --- HLS for mass viewers ----------------------------------------------------------------------------
# A link is /live/hls/<conference>/<expires>/<signature>/index.m3u8; the playlist names its segments
# relatively, so they ride on the same signed prefix. The signature is nginx secure_link's md5 form
# (base64url of md5("<expires><prefix> <secret>"), no padding), so a cache checks it without Django:
# see deploy/nginx/hls-secure-link.conf. Expiry is rounded up, so one link serves many viewers (and
# one cache entry) per window.
HLS_PREFIX = "/live/hls/"


def _hls_secret() -> str:
    return settings.LIVE_HLS_SECRET or hashlib.sha256(
        f"diemcau-hls:{settings.SECRET_KEY}".encode()).hexdigest()


def hls_signature(conference_id: int, expires: int) -> str:
    """nginx ``secure_link_md5 "$secure_link_expires<prefix> <secret>"`` for one conference's prefix."""
    text = f"{expires}{HLS_PREFIX}{int(conference_id)}/ {_hls_secret()}"
    # md5 because nginx's secure_link speaks nothing else; the secret at the end keys it, the links
    # expire, and what a link opens (one conference's programme) is the same for every invited person.
    digest = hashlib.md5(text.encode()).digest()  # noqa: S324
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def hls_path(conference_id: int, expires: int) -> str:
    """The signed folder of the conference's HLS valid until ``expires`` (Unix seconds)."""
    return f"{HLS_PREFIX}{int(conference_id)}/{int(expires)}/{hls_signature(conference_id, expires)}/"


def hls_link_ok(conference_id: int, expires: int, signature: str) -> bool:
    """Whether a link's signature is diemcau's and it has not expired."""
    return expires >= time.time() and hmac.compare_digest(hls_signature(conference_id, expires), signature or "")


def hls_link(actor, conference: Conference) -> str:
    """The programme's HLS playlist for someone invited to the conference (``LIVE_HLS_LINK_MINUTES``)."""
    if not sees_conference(actor, conference):
        raise ScopeError()
    window = 300
    lifetime = int(settings.LIVE_HLS_LINK_MINUTES) * 60
    expires = (int(time.time()) + lifetime + window - 1) // window * window
    return hls_path(conference.pk, expires) + "index.m3u8"


def hls_folder(conference_id: int | None = None) -> Path:
    """The folder of the programme's playlist and segments: the conference's own when the day's runtime
    serves several (``<folder>/<conference>``), else the one folder of a runtime serving one."""
    root = Path(settings.VAR_DIR) / "hls" / "programme"
    if conference_id is not None and (root / str(int(conference_id))).is_dir():
        return root / str(int(conference_id))
    return root
