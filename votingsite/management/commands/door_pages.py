"""The front door's pages for people, in every language of the site: what a phone shows
when the door refuses a page (429: too many connections from its address; 503: a role
away), written as static HTML files the door serves itself (deploy/k8s/base/front-door,
door-pages.conf). The words come from the site's catalogues (compilemessages first).

    python manage.py door_pages DIR

writes DIR/<language>/<page>.html: too-many and unavailable for a page the browser may
load again (it does, by itself, after a few seconds), too-many-form and unavailable-form
for a form sent (a reload would not send it again: they say to go back and resend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

# Seconds before the page loads itself again: the door's Retry-After for each (nginx.conf).
TOO_MANY_RETRY = 10
UNAVAILABLE_RETRY = 5


def pages() -> dict[str, dict[str, Any]]:
    """Each page's context, in the active language."""
    too_many = {
        "code": _("429 · Too many connections"),
        "title": _("Too busy here for a moment"),
        "heading": _("Too many connections from your network"),
        "explain": _(
            "Very many phones are connecting from the same network as yours right now, "
            "more than the site lets in at once from one address."
        ),
    }
    unavailable = {
        "code": _("503 · Unavailable for a moment"),
        "title": _("Busy for a moment"),
        "heading": _("The site cannot take this right now"),
        "explain": _("A part of the site is restarting or busy."),
    }
    return {
        "too-many": {**too_many, "retry": TOO_MANY_RETRY},
        "unavailable": {**unavailable, "retry": UNAVAILABLE_RETRY},
        "too-many-form": {**too_many, "retry": None},
        "unavailable-form": {**unavailable, "retry": None},
    }


def write(directory: Path) -> list[Path]:
    """Writes every page in every language under `directory`; returns the files."""
    written = []
    for language, _name in settings.LANGUAGES:
        (directory / language).mkdir(parents=True, exist_ok=True)
        with translation.override(language):
            for name, context in pages().items():
                html = render_to_string("door/refused.html", {**context, "language": language})
                path = directory / language / f"{name}.html"
                path.write_text(html, encoding="utf-8")
                written.append(path)
    return written


class Command(BaseCommand):
    help = "Writes the front door's refusal pages (429, 503) in every language into DIR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, directory: Path, **options: Any) -> None:
        written = write(directory)
        if options["verbosity"] > 1:
            self.stdout.write(f"{len(written)} pages in {directory}")
