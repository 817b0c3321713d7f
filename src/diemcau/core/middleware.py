"""Request and response hygiene: forwarding headers only from trusted proxies; headers that keep
pages from being framed, sniffed or fed scripts from elsewhere."""

from . import csp
from .proxies import FORWARDING_HEADERS, peer_is_trusted


class TrustedProxyMiddleware:
    """Drop forwarding headers (``X-Forwarded-For``/``-Proto``…) unless a trusted proxy sent them.

    Django believes ``SECURE_PROXY_SSL_HEADER`` from anyone; with this first in the chain, only
    ``DIEMCAU_TRUSTED_PROXIES`` can say a request came over TLS or name its client.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not peer_is_trusted(request):
            for header in FORWARDING_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)



class SecurityHeadersMiddleware:
    # Everything diemcau serves comes from itself; inline scripts are not used. Pages connect
    # (fetch, websockets) to themselves and to the media hosts only (core/csp.py).
    CSP = (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src %(connect)s; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers:
            connect = " ".join(["'self'", *csp.media_origins()]) if _is_page(response) else "'self'"
            response.headers["Content-Security-Policy"] = self.CSP % {"connect": connect}
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def _is_page(response) -> bool:
    """Only HTML documents run scripts that connect anywhere."""
    return response.get("Content-Type", "").startswith("text/html")
