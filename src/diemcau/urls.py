from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from diemcau.api import api
from diemcau.core import health, metrics
from diemcau.core import views as core_views
from diemcau.site import views as site_views
from diemcau.site import views_live as site_live

urlpatterns = [
    path("", site_views.home, name="home"),
    path("accounts/login/", site_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", site_views.logout_view, name="logout"),
    path("accounts/", include("diemcau.site.urls_accounts")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("jobs/<int:pk>/", core_views.job_status, name="job-status"),
    path("jobs/<int:pk>/retry/", core_views.job_retry, name="job-retry"),
    path("audit/", site_views.audit_log, name="audit-log"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("orgs/", include("diemcau.orgs.urls")),
    path("events/", include("diemcau.site.urls_conferences")),
    path("points/", include("diemcau.points.urls")),
    path("voice/", include("diemcau.voice.urls")),
    path("attendance/", include("diemcau.attendance.urls")),
    path("live/conference/<int:cid>/watch/", site_live.watch, name="live-watch"),
    path("live/", include("diemcau.live.urls")),
    path("", include("diemcau.reports.urls")),  # documents, at their domain apps' addresses
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
