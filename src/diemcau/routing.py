"""Websocket routes of every app, gathered in one list for the ASGI router."""

from django.urls import path

from diemcau.attendance import consumers as attendance
from diemcau.core.consumers import JobProgressConsumer
from diemcau.live import consumers as live
from diemcau.voice import consumers as voice

websocket_urlpatterns = [
    path("ws/jobs/<int:job_id>/", JobProgressConsumer.as_asgi()),
    path("ws/live/kiosk/<int:point_id>/", live.KioskConsumer.as_asgi()),
    path("ws/live/director/<int:conference_id>/", live.DirectorConsumer.as_asgi()),
    path("ws/live/board/<int:conference_id>/", live.SiteBoardConsumer.as_asgi()),
    path("ws/voice/<int:conference_id>/<str:page>/", voice.VoicePageConsumer.as_asgi()),
    path("ws/attendance/sessions/<int:sid>/units/<int:uid>/board/", attendance.AttendanceBoardConsumer.as_asgi()),
]
