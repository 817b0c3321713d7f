from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from diemcau.api import api
from diemcau.core import errorpages, health, metrics
from diemcau.core import views as core_views
from diemcau.site import views as site_views
from diemcau.site import views_live as site_live
from diemcau.site import views_participant as site_participant
from diemcau.site import views_recordings as site_recordings

urlpatterns = [
    path("", site_views.home, name="home"),
    path("accounts/login/", site_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", site_views.logout_view, name="logout"),
    path("accounts/", include("diemcau.site.urls_accounts")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("jobs/<int:pk>/", core_views.job_status, name="job-status"),
    path("jobs/<int:pk>/retry/", core_views.job_retry, name="job-retry"),
    path("me/sessions/<int:sid>/badge/", site_participant.my_badge, name="my-badge"),
    path("audit/", site_views.audit_log, name="audit-log"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("orgs/", include("diemcau.orgs.urls")),
    path("events/", include("diemcau.site.urls_conferences")),
    path("points/", include("diemcau.points.urls")),
    path("voice/", include("diemcau.voice.urls")),
    path("attendance/", include("diemcau.attendance.urls")),
    path("live/conference/<int:cid>/watch/", site_live.watch, name="live-watch"),
    path("live/conference/<int:cid>/recordings/", site_recordings.recordings, name="recordings"),
    path("live/recordings/<int:pk>/", site_recordings.watch_recording, name="recording"),
    path("live/recordings/<int:pk>/<str:name>", site_recordings.recording_file, name="recording-file"),
    path("live/", include("diemcau.live.urls")),
    path("", include("diemcau.reports.urls")),  # documents, at their domain apps' addresses
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]

# The error pages in the site's layout and language (core/errorpages.py); 405 and DomainError by its middleware.
handler403 = errorpages.forbidden
handler404 = errorpages.not_found
handler500 = errorpages.server_error
