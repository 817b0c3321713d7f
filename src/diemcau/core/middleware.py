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


# Set at sign-in (orgs.signals) while an organiser's temporary password awaits its change.
MUST_CHANGE_PASSWORD = "diemcau_must_change_password"  # noqa: S105 (a session key, not a secret)


class PasswordChangeRequiredMiddleware:
    """Send an account that signed in with a temporary password to change it, before anything else."""

    # What such an account may still reach: the change page itself, signing out, languages, assets.
    ALLOWED = ("/accounts/password/", "/accounts/logout/", "/i18n/", "/jsi18n/", "/static/", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (request.session.get(MUST_CHANGE_PASSWORD) and request.user.is_authenticated
                and not request.path_info.startswith(self.ALLOWED)):
            return self._detour(request)
        return self.get_response(request)

    @staticmethod
    def _detour(request):
        from django.http import JsonResponse
        from django.shortcuts import redirect
        from django.urls import reverse
        from django.utils.translation import gettext as _

        if request.path_info.startswith("/api/"):
            return JsonResponse({"code": "password_change_required",
                                 "detail": _("Change your temporary password first.")}, status=403)
        url = reverse("password-change")
        response = redirect(url)
        if request.headers.get("HX-Request"):
            response["HX-Redirect"] = url
        return response
