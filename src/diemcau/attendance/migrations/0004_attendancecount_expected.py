from django.db import migrations, models


def backfill(apps, schema_editor):
    """The expected counts of the sessions already planned (what ``repair_attendance_counts`` writes).

    Runs the app's own recomputation, so only when there is something to compute: a fresh database
    (whatever the models have become by then) has no assignment and skips it.
    """
    if not apps.get_model("points", "Assignment").objects.exists():
        return
    from diemcau.attendance import counts
    from diemcau.core.acting import system_scope

    with system_scope("migration: the expected attendance counts of existing sessions"):
        counts.repair()


class Migration(migrations.Migration):

    dependencies = [
        ('attendance', '0003_attendance_counts'),
        ('points', '0006_device_tokens'),
    ]

    operations = [
        migrations.AddField(
            model_name='attendancecount',
            name='expected',
            field=models.IntegerField(default=0, db_default=0),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
