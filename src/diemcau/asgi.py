"""ASGI entry point: HTTP through Django, websockets through Channels with session auth.

A device's check-ins (``POST /api/attendance/checkins/`` and ``…/batch/`` with a device token) are
answered in front of Django by ``attendance.device_http`` (same token, models, service, replies and
headers, without Django's middleware stack); everything else, and every request that route cannot
answer exactly as Django would, goes to Django. The body limit wraps both.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diemcau.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from diemcau.attendance.device_http import device_checkins  # noqa: E402
from diemcau.core.bodylimit import limit_asgi_bodies  # noqa: E402
from diemcau.core.metrics import count_websockets  # noqa: E402
from diemcau.points.devices import DeviceTokenWebsocketMiddleware  # noqa: E402
from diemcau.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": limit_asgi_bodies(device_checkins(django_asgi_app)),
        "websocket": count_websockets(
            AllowedHostsOriginValidator(AuthMiddlewareStack(DeviceTokenWebsocketMiddleware(URLRouter(websocket_urlpatterns))))),
    }
)
