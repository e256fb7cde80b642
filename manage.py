#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "votingsite.settings")
    # A developer's tool: debug unless DJANGO_DEBUG says otherwise (production's env sets
    # 0). The served processes (wsgi, asgi, celery) default to debug off.
    os.environ.setdefault("DJANGO_DEBUG", "1")
    # Django's own manage.py: imported once the settings module is named.
    from django.core.exceptions import ImproperlyConfigured  # noqa: PLC0415
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # a missing setting is an operator error, not a crash
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
