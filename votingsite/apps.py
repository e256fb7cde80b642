from django.apps import AppConfig

from . import database


class SiteConfig(AppConfig):
    """The site itself: process-wide set-up that belongs to no app."""

    name = "votingsite"
    verbose_name = "Live votes"

    def ready(self) -> None:
        database.install()
