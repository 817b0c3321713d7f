from django.urls import path

from . import views, views_checkin, views_reports

app_name = "attendance"
urlpatterns = [
    path("sessions/<int:sid>/", views.session_points, name="session-points"),
    path("sessions/<int:sid>/institutions/<int:uid>/delegation/", views.delegation, name="delegation"),
    path("sessions/<int:sid>/institutions/<int:uid>/badges/", views.school_badges, name="badges"),
    path("sessions/<int:sid>/points/<int:pk>/roll-call/", views.roll_call, name="roll-call"),
    path("sessions/<int:sid>/points/<int:pk>/roll-call/people/", views.roll_call_people, name="roll-call-people"),
    path("sessions/<int:sid>/points/<int:pk>/roll-call/counts/", views.roll_call_counts, name="roll-call-counts"),
    path("sessions/<int:sid>/points/<int:pk>/roll-call/check-in/", views.roll_call_check_in, name="roll-call-check-in"),
    path("sessions/<int:sid>/points/<int:pk>/roll-call/delegation/", views.roll_call_delegation,
         name="roll-call-delegation"),
    path("sessions/<int:sid>/points/<int:pk>/roll-call/headcount/", views.roll_call_headcount,
         name="roll-call-headcount"),
    # offline / self check-in
    path("sessions/<int:sid>/points/<int:pk>/roll-call/data.json", views_checkin.roll_call_data,
         name="roll-call-data"),
    path("sessions/<int:sid>/points/<int:pk>/poster/", views_checkin.point_poster, name="point-poster"),
    path("c/<str:token>/", views_checkin.self_check_in, name="self-check-in"),
    path("rollcall-sw.js", views_checkin.service_worker, name="rollcall-sw"),
    # the live board and the reports (views_reports.py)
    path("sessions/<int:sid>/board/", views_reports.board_start, name="board-start"),
    path("sessions/<int:sid>/units/<int:uid>/board/", views_reports.board, name="board"),
    path("sessions/<int:sid>/units/<int:uid>/board/live/", views_reports.board_live, name="board-live"),
    path("sessions/<int:sid>/points/<int:pk>/people/", views_reports.point_people, name="point-people"),
    path("sessions/<int:sid>/points/<int:pk>/people.xlsx", views_reports.point_people_xlsx,
         name="point-people-xlsx"),
]
