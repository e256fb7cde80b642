"""WSGI entry point of the voting role (gunicorn votingsite.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "votingsite.settings")

application = get_wsgi_application()
