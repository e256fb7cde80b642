from django.contrib import admin
from django.urls import include, path

from polls.middleware import admin_login_throttled

from . import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("django_prometheus.urls")),  # /metrics
    path("admin/login/", admin_login_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    path("", include("results.urls")),
    path("", include("polls.urls")),
]

handler404 = "polls.views.not_found"
handler500 = "polls.views.server_error"
