from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from polls.middleware import login_throttled

from . import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("django_prometheus.urls")),  # /metrics
    path("admin/login/", login_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    # Voters' log-in and log-out (Django's own views), throttled like the admin's log-in;
    # `next` brings the voter back to the poll (settings.LOGIN_URL).
    path(
        "accounts/login/",
        login_throttled(auth_views.LoginView.as_view(template_name="registration/login.html")),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The language switcher posts here (Django's set_language: works without JavaScript);
    # the scripts' words come from the catalogue for the request's language.
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("results.urls")),
    path("", include("polls.urls")),
]

handler400 = "polls.views.bad_request"
handler403 = "polls.views.permission_denied"
handler404 = "polls.views.not_found"
handler500 = "polls.views.server_error"
