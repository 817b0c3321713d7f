"""Websocket routes of every app, gathered in one list for the ASGI router.

Each consumer runs under ``scoped`` (``orgs.scoping.WebsocketScopeMiddleware``): its user's scope
is active, built afresh at every use (a socket lives for hours; nothing is cached on its user).
"""

from django.urls import path

from diemcau.attendance import consumers as attendance
from diemcau.core.consumers import JobProgressConsumer
from diemcau.live import consumers as live
from diemcau.live import poll_consumers as live_polls
from diemcau.orgs.scoping import WebsocketScopeMiddleware as scoped
from diemcau.voice import consumers as voice

websocket_urlpatterns = [
    path("ws/jobs/<int:job_id>/", scoped(JobProgressConsumer.as_asgi())),
    path("ws/live/kiosk/<int:point_id>/", scoped(live.KioskConsumer.as_asgi())),
    path("ws/live/director/<int:conference_id>/", scoped(live.DirectorConsumer.as_asgi())),
    path("ws/live/board/<int:conference_id>/", scoped(live.SiteBoardConsumer.as_asgi())),
    path("ws/live/polls/<int:conference_id>/<str:view>/", scoped(live_polls.PollConsumer.as_asgi())),
    path("ws/voice/<int:conference_id>/<str:page>/", scoped(voice.VoicePageConsumer.as_asgi())),
    path("ws/attendance/sessions/<int:sid>/units/<int:uid>/board/",
         scoped(attendance.AttendanceBoardConsumer.as_asgi())),
]
