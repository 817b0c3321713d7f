from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('live', '0007_room_system_dial_out'),
    ]

    operations = [
        migrations.AddField(
            model_name='programme',
            name='lane',
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True),
        ),
    ]
