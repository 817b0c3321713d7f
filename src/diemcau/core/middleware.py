"""Response headers that keep pages from being framed, sniffed or fed scripts from elsewhere; the
refusal of NUL in requests."""

import re

from django.http import HttpResponseBadRequest, JsonResponse


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
