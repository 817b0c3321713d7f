"""The documents keep the addresses they had in their domain apps; each gains a ``pdf/`` beside it."""

from django.urls import path

from . import views
from . import views_convocations as conv

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
    path("convocations/conference/<int:cid>/", conv.conference_convocations, name="convocations"),
    path("convocations/conference/<int:cid>/issue/", conv.convocation_issue, name="convocation-issue"),
    path("convocations/<int:pk>/", conv.convocation_page, name="convocation"),
    path("convocations/<int:pk>/pdf/", conv.convocation_pdf, name="convocation-pdf"),
    path("convocations/<int:pk>/docx/", conv.convocation_docx_file, name="convocation-docx"),
    path("convocations/<int:pk>/ics/", conv.convocation_ics, name="convocation-ics"),
    path("convocations/<int:pk>/send/", conv.convocation_send, name="convocation-send"),
    path("convocations/<int:pk>/remind/", conv.convocation_remind, name="convocation-remind"),
    path("convocations/<int:pk>/resend/", conv.convocation_resend, name="convocation-resend"),
    path("convocations/recipients/<int:rid>/confirm/", conv.recipient_confirm, name="convocation-confirm-page"),
    path("convocations/recipients/<int:rid>/forward/", conv.convocation_forward, name="convocation-forward"),
    path("convocations/confirm/<str:token>/", conv.confirm_link, name="convocation-confirm"),
]
