from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttendanceConfig(AppConfig):
    name = "diemcau.attendance"
    label = "attendance"
    verbose_name = _("Attendance")

    def ready(self):
        # Every process that records check-ins (web, API, jobs) tells the live boards about them.
        from . import board, checkin

        checkin.checkin_created.connect(board.announce, dispatch_uid="attendance.board.announce")
