"""The media nodes' websocket URLs, given to core's Content-Security-Policy (``connect-src``).

Pages speak to Janus at the URL of a node (``LiveNode.ws_url``, what ``IssuedToken.as_config``
hands out); unless ``DIEMCAU_MEDIA_HOSTS`` names the media hosts, those are the only other places a
page may connect to.
"""

from diemcau.core import csp

from .models import LiveNode


def node_urls() -> list[str]:
    return list(LiveNode.objects.exclude(ws_url="").values_list("ws_url", flat=True))


def connect():
    """Register the nodes with the CSP."""
    csp.add_provider(node_urls)
