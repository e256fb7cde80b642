# Issue 34, moderation: who moderated a text entry last and when (nullable: the web pods
# and workers of the release before write entries without them), a moderator's decision
# per word-cloud term (TermDecision), the "moderate_entries" permission, and an index for
# the moderator's queue (entries pending or hidden, newest first).
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('polls', '0012_text_answers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='TermDecision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=32)),
                ('key', models.TextField()),
                ('decision', models.CharField(choices=[('shown', 'Approved'), ('hidden', 'Hidden')], max_length=8)),
                ('decided_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'permissions': [('moderate_entries', 'Can moderate audience text')],
            },
        ),
        migrations.AddField(
            model_name='textentry',
            name='moderated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='textentry',
            name='moderated_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='textentry',
            index=models.Index(condition=models.Q(('state', 'shown'), _negated=True), fields=['poll', 'state', '-id'], name='entry_moderation'),
        ),
        migrations.AddField(
            model_name='termdecision',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='termdecision',
            name='poll',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='term_decisions', to='polls.poll'),
        ),
        migrations.AddConstraint(
            model_name='termdecision',
            constraint=models.UniqueConstraint(fields=('poll', 'digest'), name='one_decision_per_term'),
        ),
    ]
