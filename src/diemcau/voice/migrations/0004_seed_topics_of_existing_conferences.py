"""Conferences made before topics were seeded at creation get the default list now.

Until then the list was created the first time a page was read (a GET that wrote). New conferences
get it when they are created (``signals.seed_topics_of_new_conference``).
"""

from django.db import migrations


def seed(apps, schema_editor):
    from diemcau.voice.topics import DEFAULT_TOPICS

    Conference = apps.get_model("events", "Conference")
    Topic = apps.get_model("voice", "Topic")
    for conference in Conference.objects.filter(voice_topics__isnull=True).iterator():
        Topic.objects.bulk_create(
            [Topic(conference=conference, key=t.key, name=t.name, keywords=list(t.keywords), position=i)
             for i, t in enumerate(DEFAULT_TOPICS)],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
        ("voice", "0003_scrub_anonymous_audit_entries"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
