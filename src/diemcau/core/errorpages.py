"""The error pages (403, 404, 405, 500) in the site's layout, in the user's language, with a way back.

An API path (``/api/``) gets the API's shape instead: ``{"code", "message"}``. A refusal the
product expects (``PermissionDenied``, ``Http404``, a ``DomainError``) is answered, and logged as
one line without a traceback (``core.logfilters``); only a 500 carries one.
"""

import logging

from django.core.exceptions import DisallowedHost
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _

from .errors import DomainError, ScopeError

log = logging.getLogger(__name__)


def _texts() -> dict[int, tuple[str, str]]:
    return {
        400: (_("The request was refused"), _("What was sent cannot be accepted.")),
        403: (_("You do not have access to this page"),
              _("Your account's role does not cover this page or this unit. If you need it, ask the "
                "organiser of your unit to grant you the role.")),
        404: (_("Page not found"),
              _("The address may be mistyped, or the item was removed or lies outside your units.")),
        405: (_("This action is not available here"),
              _("The page was opened in a way it does not accept (for example a link to a form's "
                "action). Go back and use the page's buttons.")),
        500: (_("Something went wrong on our side"),
              _("The error has been recorded. Try again in a moment; if it happens again, tell "
                "your unit's organiser the time shown below.")),
    }


def _codes() -> dict[int, str]:
    return {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            500: "server_error"}


def wants_json(request) -> bool:
    """An API call or a script asking for JSON gets JSON, a person gets a page."""
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def error_response(request, status: int, message: str | None = None, code: str | None = None):
    """The error answer for ``status``: the layout's page for a person, the API's shape for JSON."""
    title, explanation = _texts()[status]
    if wants_json(request):
        return JsonResponse({"code": code or _codes()[status], "message": message or title}, status=status)
    context = {"status": status, "title": title, "message": message, "explanation": explanation,
               "back": _safe_back(request)}
    try:
        body = loader.render_to_string("core/error.html", context, request=request)
    except DatabaseError:  # the database is down: core.health answers 503 and logs the outage once
        body = loader.render_to_string("core/error_plain.html", context)
    except Exception:  # the layout itself failed (a 500 from a template tag): a plain page, still Vietnamese
        log.exception("error page %s could not be rendered in the layout", status)
        body = loader.render_to_string("core/error_plain.html", context)
    return HttpResponse(body, status=status)


def _safe_back(request) -> str:
    """Where "back" leads: the previous page of this site, else the home page."""
    referer = request.headers.get("Referer", "")
    try:
        host = request.get_host()
    except DisallowedHost:
        return "/"
    if referer.split("/")[2:3] == [host] and referer != request.build_absolute_uri():
        return referer
    return "/"


def forbidden(request, exception=None):
    """``handler403``."""
    return error_response(request, 403)


def not_found(request, exception=None):
    """``handler404``."""
    return error_response(request, 404)


def server_error(request):
    """``handler500``."""
    return error_response(request, 500)


def domain_error(request, exc: DomainError):
    """A service refused what a page asked: its own Vietnamese message, 400 (404 outside one's scope)."""
    if isinstance(exc, ScopeError):
        return error_response(request, 404)
    return error_response(request, 400, message=exc.message, code=exc.code)


class ErrorPageMiddleware:
    """Turn what views leave bare into the site's pages.

    - a ``DomainError`` that reached no view's own ``except`` (a 400 page with its message, not a 500);
    - the empty 405 of ``require_http_methods`` / ``require_POST`` (a page, ``Allow`` kept).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.content and not getattr(response, "streaming", False):
            allow = response.get("Allow")
            response = error_response(request, 405)
            if allow:
                response["Allow"] = allow
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return domain_error(request, exception)
        return None
