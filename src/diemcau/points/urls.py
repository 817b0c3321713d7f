from django.urls import path

from . import views, views_devices, views_rehearsals

app_name = "points"
urlpatterns = [
    path("conference/<int:cid>/", views.points_tree, name="tree"),
    path("conference/<int:cid>/new/", views.point_create, name="create"),
    path("conference/<int:cid>/readiness/", views_rehearsals.readiness_board, name="readiness-board"),
    path("conference/<int:cid>/rehearsals/", views_rehearsals.rehearsal_slots, name="rehearsals"),
    path("rehearsals/<int:pk>/delete/", views_rehearsals.rehearsal_delete, name="rehearsal-delete"),
    path("<int:pk>/", views.point_detail, name="point"),
    path("<int:pk>/edit/", views.point_edit, name="edit"),
    path("<int:pk>/devices/", views_devices.device_issue, name="device-issue"),
    path("<int:pk>/devices/<int:token_id>/revoke/", views_devices.device_revoke, name="device-revoke"),
    path("<int:pk>/devices/<int:token_id>/rotate/", views_devices.device_rotate, name="device-rotate"),
    path("<int:pk>/readiness/", views.point_readiness, name="readiness"),
    path("<int:pk>/check/", views.point_check, name="check"),
    path("<int:pk>/relay/", views.point_relay, name="relay"),
    path("<int:pk>/delete/", views.point_delete, name="delete"),
    path("halls/", views.hall_list, name="halls"),
    path("halls/<int:pk>/edit/", views.hall_edit, name="hall-edit"),
    path("sessions/<int:sid>/assign/", views.assign, name="assign"),
    path("sessions/<int:sid>/plan/", views.planner, name="planner"),
    path("sessions/<int:sid>/plan/distances/", views.distances_import, name="distances"),
    path("sessions/<int:sid>/import/", views.import_upload, name="import"),
    path("sessions/<int:sid>/import/template/", views.import_template, name="import-template"),
    path("imports/<int:pk>/", views.import_preview, name="import-preview"),
    path("imports/<int:pk>/status/", views.import_status, name="import-status"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import-confirm"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal"),
    path("proposals/<int:pk>/apply/", views.proposal_apply, name="proposal-apply"),
]
