"""The media hosts a page may connect to, for the Content-Security-Policy's ``connect-src``.

``DIEMCAU_MEDIA_HOSTS`` names them (origins such as ``wss://media1.example.vn``). When it is empty
they come from the providers that apps register here (the live app gives its Janus nodes' URLs);
core does not import them. They are asked on every HTML response (one small query): media nodes
are registered by another process (``run_live``), whose changes a kept answer would miss.
"""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

_providers = []


def add_provider(provider):
    """Register a callable returning URLs whose origins pages may connect to."""
    if provider not in _providers:
        _providers.append(provider)


def origin(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url``; None for anything that is not a ws/wss/http/https URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"ws", "wss", "http", "https"} or not parts.netloc or "*" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def media_origins() -> list[str]:
    """The origins, besides the site itself, that pages may connect to."""
    if settings.DIEMCAU_MEDIA_HOSTS:
        return _unique(settings.DIEMCAU_MEDIA_HOSTS)
    urls = []
    for provider in _providers:
        try:
            urls.extend(provider())
        except (OperationalError, InterfaceError) as exc:  # the database is down: core.health answers 503
            log.warning("media hosts for the CSP could not be read: %s", str(exc).strip().splitlines()[0:1])
        except DatabaseError:
            log.warning("media hosts for the CSP could not be read", exc_info=True)
    return _unique(urls)


def _unique(urls) -> list[str]:
    return list(dict.fromkeys(o for o in (origin(u) for u in urls if u) if o))
