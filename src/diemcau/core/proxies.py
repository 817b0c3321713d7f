"""The client's address, believed from ``X-Forwarded-For`` only when a configured proxy says so.

``DIEMCAU_TRUSTED_PROXIES`` names the reverse proxies (addresses or CIDR networks). A request whose
peer (``REMOTE_ADDR``) is not one of them is taken at its word: its own address, and its forwarding
headers are dropped by :class:`~diemcau.core.middleware.TrustedProxyMiddleware`. Behind trusted
proxies, the client is the right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy:
entries to its left were written by the client and prove nothing.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                      "HTTP_X_FORWARDED_PORT", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _parse(address: str):
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def is_trusted_proxy(address: str | None) -> bool:
    """True when ``address`` is one of the configured reverse proxies."""
    ip = _parse(address or "")
    if ip is None:
        return False
    return any(ip in net for net in _networks(tuple(settings.DIEMCAU_TRUSTED_PROXIES)))


def peer_is_trusted(request) -> bool:
    return is_trusted_proxy(request.META.get("REMOTE_ADDR"))


def client_address(request) -> str | None:
    """The address of the browser that sent ``request`` (None when unknown)."""
    if request is None:
        return None
    peer = request.META.get("REMOTE_ADDR") or None
    if not is_trusted_proxy(peer):
        return peer
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _parse(hop)
        if ip is None:
            return peer  # a malformed entry: believe nothing to its left
        if not is_trusted_proxy(hop):
            return str(ip)
    return peer
