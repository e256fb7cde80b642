"""collectstatic, with the scripts' translations written first (django-statici18n's
compilejsi18n): one catalogue per language, .jsi18n/polls/jsi18n/<language>/djangojs.js,
collected, hashed and compressed with every other static file. So wherever static files
are collected (the image, scripts/run, the benchmark) the pages' catalogue exists and
matches the compiled translations (compilemessages first)."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.management.commands.collectstatic import (
    Command as CollectStatic,
)
from django.core.management import call_command


class Command(CollectStatic):
    help = CollectStatic.help + " The scripts' translations are written first (compilejsi18n)."

    def handle(self, **options: Any) -> str | None:
        call_command("compilejsi18n", verbosity=0)
        return super().handle(**options)
