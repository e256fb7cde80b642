# Issue 33, text answers: two kinds of question (word cloud, open answer), their entries
# (a voter's text ballot: Vote.ballot stays empty for them) and the counts kept with each
# ballot's transaction (per term with its most common spelling, per spelling, the poll's
# totals). PollReset records the entries a reset removed; its new column has a default in
# the table, for the web pods of the release before (expand first: they write resets
# without it).
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('polls', '0011_quiz_leaderboard'),
    ]

    operations = [
        migrations.CreateModel(
            name='EntryCounter',
            fields=[
                ('poll', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='entry_counter', serialize=False, to='polls.poll')),
                ('entries', models.IntegerField(default=0)),
                ('distinct_terms', models.IntegerField(default=0)),
                ('pending', models.IntegerField(default=0)),
                ('hidden', models.IntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name='pollreset',
            name='entries_removed',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AlterField(
            model_name='poll',
            name='kind',
            field=models.CharField(choices=[('single', 'Single choice'), ('multiple', 'Multiple choice'), ('ranked', 'Ranked choice'), ('scale', 'Rating scale'), ('wordcloud', 'Word cloud'), ('openanswer', 'Open answer')], default='single', help_text='What a ballot says. Cannot change once the poll has ballots.', max_length=10),
        ),
        migrations.CreateModel(
            name='SpellingCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=32)),
                ('term', models.CharField(max_length=32)),
                ('shown', models.TextField()),
                ('votes', models.IntegerField(default=0)),
                ('poll', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='spelling_counts', to='polls.poll')),
            ],
            options={
                'indexes': [models.Index(fields=['poll', 'term', '-votes'], name='spelling_by_term')],
                'constraints': [models.UniqueConstraint(fields=('poll', 'digest'), name='one_count_per_spelling')],
            },
        ),
        migrations.CreateModel(
            name='TermCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=32)),
                ('key', models.TextField()),
                ('shown', models.TextField(default='')),
                ('votes', models.IntegerField(default=0)),
                ('poll', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='term_counts', to='polls.poll')),
            ],
            options={
                'indexes': [models.Index(fields=['poll', '-votes', 'digest'], name='term_top')],
                'constraints': [models.UniqueConstraint(fields=('poll', 'digest'), name='one_count_per_term')],
            },
        ),
        migrations.CreateModel(
            name='TextEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('voter_key', models.CharField(max_length=64)),
                ('vote_id', models.UUIDField()),
                ('position', models.PositiveSmallIntegerField(default=0)),
                ('shown', models.TextField()),
                ('key', models.TextField()),
                ('digest', models.CharField(max_length=32)),
                ('state', models.CharField(choices=[('shown', 'Shown'), ('pending', 'Pending review'), ('hidden', 'Hidden')], default='shown', max_length=8)),
                ('flagged', models.BooleanField(default=False, help_text='The profanity filter caught it.')),
                ('cast_at', models.DateTimeField()),
                ('stored_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('poll', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='text_entries', to='polls.poll')),
            ],
            options={
                'verbose_name_plural': 'text entries',
                'indexes': [models.Index(fields=['poll', 'voter_key'], name='entry_by_voter'), models.Index(condition=models.Q(('state', 'shown')), fields=['poll', '-id'], name='entry_shown_newest'), models.Index(condition=models.Q(('state', 'shown')), fields=['poll', 'digest', '-id'], name='entry_shown_by_term')],
            },
        ),
    ]
