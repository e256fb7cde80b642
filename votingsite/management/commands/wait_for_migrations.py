"""Waits until the database has every migration this code knows (`migrate --check`'s test,
repeated): the init container of each app pod, so new code never serves an old schema
while the release's migrate Job runs (deploy/k8s)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor


def pending_migrations() -> list[str]:
    """The migrations `migrate` would apply now, as app.name, first to last."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        connection.close()  # a new connection for each look: the server may restart
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


class Command(BaseCommand):
    help = "Waits until every migration of this code is applied; exit 1 after --timeout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=300, help="seconds (300)")
        parser.add_argument("--interval", type=float, default=2, help="between looks (2)")

    def handle(self, *args: Any, timeout: float, interval: float, **options: Any) -> None:
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            try:
                pending = pending_migrations()
            except DatabaseError as exc:
                why = f"the database is unavailable ({exc.__class__.__name__})"
            else:
                if not pending:
                    self.stdout.write("Every migration is applied.")
                    return
                why = f"{len(pending)} migrations are not applied yet, {pending[0]} first"
            if time.monotonic() >= deadline:
                raise CommandError(f"Gave up after {timeout:g} s: {why}.")
            self.stdout.write(f"Waiting: {why}.")
            time.sleep(max(interval, 0.1))
