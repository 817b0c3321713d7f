"""TURN credentials for coturn's ``use-auth-secret`` (the "TURN REST API" scheme); no Django, so the
cluster harness and benchmarks use it too. :func:`diemcau.live.tokens.turn_servers` issues them."""

from __future__ import annotations

import base64
import hashlib
import hmac


def turn_credentials(secret: str, expires: int, holder: str) -> tuple[str, str]:
    """The username ``<expires>:<holder>`` and its password base64(HMAC-SHA1(secret, username)).

    coturn started with ``use-auth-secret`` and ``static-auth-secret=<secret>`` recomputes the
    password and refuses the username once ``expires`` (Unix seconds) has passed; nothing is stored.
    """
    username = f"{int(expires)}:{holder}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
