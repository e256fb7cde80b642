# The kinds' own columns move into Poll.options (a JSON object the poll's kind checks):
# a new kind adds options without a migration. Backwards puts them back in their columns.
#
# The columns leave Django's state but stay in the table for one release (expand, then
# contract): web pods of the release before keep reading them while the new ones start
# (the migrate Job runs before the rollout, docs/kubernetes.md). The two text columns, and
# `options` for rows those pods write, get a default in the table. A later release drops
# the columns.

from django.db import migrations, models

# The columns that held a kind's options, and their "not set" value.
COLUMNS = {
    "min_picks": None,
    "max_picks": None,
    "max_ranks": None,
    "scale_min": None,
    "scale_max": None,
    "scale_min_label": "",
    "scale_max_label": "",
}


def columns_to_options(apps, schema_editor):
    Poll = apps.get_model("polls", "Poll")
    for poll in Poll.objects.only("pk", *COLUMNS).iterator(chunk_size=500):
        options = {
            name: getattr(poll, name)
            for name, unset in COLUMNS.items()
            if getattr(poll, name) != unset
        }
        if options:
            Poll.objects.filter(pk=poll.pk).update(options=options)


def options_to_columns(apps, schema_editor):
    Poll = apps.get_model("polls", "Poll")
    for poll in Poll.objects.exclude(options={}).only("pk", "options").iterator(chunk_size=500):
        Poll.objects.filter(pk=poll.pk).update(
            **{name: poll.options.get(name, unset) for name, unset in COLUMNS.items()}
        )


class Migration(migrations.Migration):

    dependencies = [
        ("polls", "0006_session_code_digits"),
    ]

    operations = [
        migrations.AddField(
            model_name="poll",
            name="options",
            field=models.JSONField(
                blank=True, default=dict, help_text="The options of the poll's kind."
            ),
        ),
        migrations.RunPython(columns_to_options, options_to_columns),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE polls_poll ALTER COLUMN scale_min_label SET DEFAULT '',"
                    " ALTER COLUMN scale_max_label SET DEFAULT '',"
                    " ALTER COLUMN options SET DEFAULT '{}'::jsonb",
                    reverse_sql="ALTER TABLE polls_poll ALTER COLUMN scale_min_label DROP DEFAULT,"
                    " ALTER COLUMN scale_max_label DROP DEFAULT, ALTER COLUMN options DROP DEFAULT",
                )
            ],
            state_operations=[
                migrations.RemoveField(model_name="poll", name=name) for name in COLUMNS
            ],
        ),
    ]
