"""The conference and session pages under /events/."""

from django.urls import path

from . import views_conferences as views

# The pages are the site's; their URL names keep the "events" namespace every template links by.
app_name = "events"
urlpatterns = [
    path("", views.conference_list, name="list"),
    path("new/", views.conference_create, name="create"),
    path("<int:pk>/", views.conference_detail, name="conference"),
    path("<int:pk>/edit/", views.conference_edit, name="edit"),
    path("<int:pk>/sessions/new/", views.session_create, name="session-create"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session-edit"),
    path("sessions/<int:pk>/export/", views.session_export, name="session-export"),
    path("sessions/<int:pk>/agenda/", views.agenda_add, name="agenda-add"),
    path("agenda/<int:pk>/delete/", views.agenda_remove, name="agenda-remove"),
]
