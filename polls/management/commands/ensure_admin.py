import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' with a generated password (written to --password-file) "
        "unless it exists. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="the user's name (default: admin)")
        parser.add_argument(
            "--password-file",
            required=True,
            type=Path,
            help="where the generated password is written (mode 0600), and read on a rerun",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username, path = options["username"], options["password_file"]
        if user_model.objects.filter(username=username).exists() and path.exists():
            self.stdout.write(f"Admin user '{username}' exists; its password is in {path}.")
            return
        password = secrets.token_urlsafe(12)
        user, _ = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        path.write_text(password)
        path.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Admin user '{username}' ready; password in {path}."))
