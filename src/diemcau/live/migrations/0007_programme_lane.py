from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('live', '0006_room_systems'),
    ]

    operations = [
        migrations.AddField(
            model_name='programme',
            name='lane',
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True),
        ),
    ]
