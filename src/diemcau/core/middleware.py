"""Request and response hygiene: forwarding headers only from trusted proxies; headers that keep
pages from being framed, sniffed or fed scripts from elsewhere; the refusal of NUL in requests;
the detour of an account that must change its temporary password."""

import re

from django.http import HttpResponseBadRequest, JsonResponse

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


class RefuseNulMiddleware:
    """Answer 400 to a request whose query or form/JSON body carries NUL (U+0000).

    PostgreSQL refuses NUL in text, so a NUL that reached a query or a row would be a 500 from
    wherever it landed. Text rules (``core.vntext``) refuse it with a field's name where text comes
    in; this is the net under all of them. Multipart bodies (uploads) are left to their views,
    which check sizes before they parse.
    """

    _JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._carries_nul(request):
            from django.utils.translation import gettext as _

            message = _("The request contains a NUL character (U+0000), which is not accepted.")
            if request.path.startswith("/api/") or "json" in request.content_type:
                return JsonResponse({"code": "unsafe_char", "message": message, "detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def _carries_nul(self, request) -> bool:
        if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get("QUERY_STRING", ""):
            return True
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return False
        content_type = request.content_type or ""
        try:
            if content_type == "application/x-www-form-urlencoded":
                return any("\x00" in k or any("\x00" in v for v in values) for k, values in request.POST.lists())
            if "json" in content_type:
                return bool(self._JSON_NUL.search(request.body))
        except Exception:  # a body Django cannot read (too big, broken) is the view's to refuse
            return False
        return False


# Set at sign-in (orgs.signals) while an organiser's temporary password awaits its change.
MUST_CHANGE_PASSWORD = "diemcau_must_change_password"  # noqa: S105 (a session key, not a secret)


class PasswordChangeRequiredMiddleware:
    """Send an account that signed in with a temporary password to change it, before anything else."""

    # What such an account may still reach: the change page itself, signing out, languages, assets.
    ALLOWED = ("/accounts/password/", "/accounts/logout/", "/i18n/", "/jsi18n/", "/static/", "/healthz",
               "/metrics")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (request.session.get(MUST_CHANGE_PASSWORD) and request.user.is_authenticated
                and not request.path_info.startswith(self.ALLOWED)):
            return self._detour(request)
        return self.get_response(request)

    @staticmethod
    def _detour(request):
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
