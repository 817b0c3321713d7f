"""The JSON API for devices and scripts, typed and published as OpenAPI at /api/openapi.json.

Each app contributes a router from its own ``api.py``. Requests authenticate with the session
(browsers, kiosks signed in); the routes a device calls (check-ins, headcounts, a point's poll answer)
also take a device token, ``Authorization: Bearer dc1_…`` (``core.apiauth``, ``points.devices``).
Errors carry the services' stable codes.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from diemcau.core.apiauth import DeviceTokenRefused, person_session
from diemcau.core.apierrors import validation_detail
from diemcau.core.errors import DomainError, ScopeError

api = NinjaAPI(
    title="diemcau API",
    version="1",
    description="Bridge-point conferences: units, people, and (as modules land) points, check-ins, live.",
    auth=person_session,
)


@api.exception_handler(ScopeError)
def _scope_error(request, exc):
    # Outside the caller's scope looks the same as absent: no hint that the object exists.
    return api.create_response(request, {"code": "not_found", "message": _("Not found.")}, status=404)


@api.exception_handler(DomainError)
def _domain_error(request, exc):
    return api.create_response(request, {"code": exc.code, "message": exc.message, "details": exc.details},
                               status=400)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"code": "not_found", "message": _("Not found.")}, status=404)


@api.exception_handler(DeviceTokenRefused)
def _device_refused(request, exc):
    return api.create_response(request, {"code": "device_token_refused",
                                         "message": _("This device token is not valid: it expired or was revoked.")},
                               status=401)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(request, {"code": "unauthenticated", "message": _("Sign in first.")},
                               status=401)


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    details = [validation_detail(e) for e in exc.errors]
    fields = ", ".join(d["field"] for d in details if d["field"])
    message = (_("The request is not valid: %(fields)s.") % {"fields": fields} if fields
               else _("The request is not valid."))
    return api.create_response(request, {"code": "invalid", "message": message, "details": details},
                               status=422)


api.add_router("/orgs/", "diemcau.orgs.api.router")
api.add_router("/attendance/", "diemcau.attendance.api.router")
api.add_router("/voice/", "diemcau.voice.api.router")
api.add_router("/live/", "diemcau.live.api.router")
api.add_router("/points/", "diemcau.points.api.router")
