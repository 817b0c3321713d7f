"""Who may call the JSON API: a signed-in person (session + CSRF) everywhere, a device token only where declared.

A device token (``points.devices``) is checked by its middleware before the request reaches the API:
``request.device`` is the token, ``request.user`` its issuer. The API's default,
:data:`person_session`, refuses such a request, so a token reaches only the routes that say
``auth=device_or_session`` (check-ins, headcounts, a point's poll answer); those routes check the
token's point themselves (``points.devices.require_device_point``).
"""

from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth


class DeviceTokenRefused(AuthenticationError):
    """A bearer token was sent but is unknown, revoked or expired (or its issuer is inactive)."""


class PersonSession(SessionAuth):
    """Django's session (with ninja's CSRF check), never a device token."""

    def __call__(self, request):
        if getattr(request, "device_refused", False):
            raise DeviceTokenRefused()
        if getattr(request, "device", None) is not None:
            return None  # a device on a route not declared for devices: 401
        return super().__call__(request)


class DeviceBearer(HttpBearer):
    """``Authorization: Bearer dc1_…``, already verified by the middleware (one look-up per request)."""

    def __call__(self, request):
        if getattr(request, "device_refused", False):
            raise DeviceTokenRefused()
        return super().__call__(request)

    def authenticate(self, request, token):
        return getattr(request, "device", None)


person_session = PersonSession()
device_or_session = [DeviceBearer(), person_session]
