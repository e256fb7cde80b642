from typing import Any

from django.core.management.base import BaseCommand

from polls.organising import seed_demo_poll


class Command(BaseCommand):
    help = "Create the demo poll 'cats-vs-dogs' (Cats or dogs?), open. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        poll, created = seed_demo_poll()
        verb = "Created" if created else "Kept"
        self.stdout.write(self.style.SUCCESS(f"{verb} demo poll '{poll.slug}': {poll.question}"))
