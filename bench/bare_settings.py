"""Settings of the intake reference: Django with one view, no apps, no middleware.

Served by gunicorn with the voting role's settings (bench/bare_wsgi.py), it is the
ceiling for a Django view on this machine: what the framework and server cost alone.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import re_path

SECRET_KEY = "bench-only-bare-reference"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.bare_settings"
USE_TZ = True


def accept(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"status": "queued"}', status=202, content_type="application/json")


urlpatterns = [re_path(r"", accept)]
