"""Past audit entries of anonymous items named their author and quoted their text: rewrite them.

The author of an item sent anonymously was recorded as the actor of "voice.opinion.submit", and
every entry about the item carried its text. This keeps the act (action, time, level, status
changes) and drops the person: no actor on the submission, no kiosk point, a neutral label, text
replaced by its length. Nothing to undo: the reverse is a no-op.
"""

from django.db import migrations


def scrub(apps, schema_editor):
    from diemcau.voice.anonymity import scrub_past_entries

    scrub_past_entries(apps.get_model("core", "AuditEntry"), apps.get_model("voice", "Opinion"))


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("voice", "0002_live_points_topics_groups"),
    ]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
