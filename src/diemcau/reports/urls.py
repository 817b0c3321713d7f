"""The documents keep the addresses they had in their domain apps; each gains a ``pdf/`` beside it."""

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("attendance/sessions/<int:sid>/units/<int:uid>/report/", views.attendance_report,
         name="attendance-report"),
    path("attendance/sessions/<int:sid>/units/<int:uid>/report/pdf/", views.attendance_report_pdf,
         name="attendance-report-pdf"),
    path("attendance/sessions/<int:sid>/units/<int:uid>/report.xlsx", views.attendance_report_xlsx,
         name="attendance-report-xlsx"),
    path("points/conference/<int:cid>/official-list/", views.official_list_page, name="official-list"),
    path("points/conference/<int:cid>/official-list/pdf/", views.official_list_pdf, name="official-list-pdf"),
    path("voice/<int:cid>/summary/print/", views.summary_page, name="summary-print"),
    path("voice/<int:cid>/summary/print/pdf/", views.summary_pdf, name="summary-pdf"),
]
