# The kinds' own columns move into Poll.options (a JSON object the poll's kind checks):
# a new kind adds options without a migration. Backwards puts them back in their columns.

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
        migrations.RemoveField(model_name="poll", name="min_picks"),
        migrations.RemoveField(model_name="poll", name="max_picks"),
        migrations.RemoveField(model_name="poll", name="max_ranks"),
        migrations.RemoveField(model_name="poll", name="scale_min"),
        migrations.RemoveField(model_name="poll", name="scale_max"),
        migrations.RemoveField(model_name="poll", name="scale_min_label"),
        migrations.RemoveField(model_name="poll", name="scale_max_label"),
    ]
