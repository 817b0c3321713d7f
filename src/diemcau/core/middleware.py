"""Request and response hygiene: forwarding headers only from trusted proxies; headers that keep
pages from being framed, sniffed or fed scripts from elsewhere."""

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
    # Everything diemcau serves comes from itself; inline scripts are not used.
    CSP = (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self' ws: wss:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.CSP)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
