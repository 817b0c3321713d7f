"""Websocket routes of every app, gathered in one list for the ASGI router."""

from django.urls import path

from diemcau.attendance.consumers import BoardConsumer
from diemcau.core.consumers import JobProgressConsumer

websocket_urlpatterns = [
    path("ws/jobs/<int:job_id>/", JobProgressConsumer.as_asgi()),
    path("ws/attendance/sessions/<int:sid>/units/<int:uid>/board/", BoardConsumer.as_asgi()),
]
