from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttendanceConfig(AppConfig):
    name = "diemcau.attendance"
    label = "attendance"
    verbose_name = _("Attendance")

    def ready(self):
        from diemcau.points.assignment import assignments_changed

        from .counts import refresh_expected

        def assignments_moved(sender, session_id, institution_ids, **kwargs):
            refresh_expected(session_id, institution_ids)  # in the assignments' own transaction

        assignments_changed.connect(assignments_moved, dispatch_uid="attendance.expected_counts", weak=False)
