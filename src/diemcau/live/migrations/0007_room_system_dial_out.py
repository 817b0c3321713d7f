from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("live", "0006_room_systems"),
    ]

    operations = [
        migrations.AddField(
            model_name="roomsystem",
            name="dial_out",
            field=models.BooleanField(default=False, help_text="At the start of each session (and again when the call drops).",
                                      verbose_name="diemcau calls the hall"),
        ),
        migrations.AddField(
            model_name="roomsystem",
            name="picture_update_info",
            field=models.BooleanField(default=False, help_text="Polycom and Cisco units expect picture_fast_update.",
                                      verbose_name="keyframe requests by SIP INFO"),
        ),
        migrations.AddField(
            model_name="avreport",
            name="jitter_ms",
            field=models.FloatField(blank=True, null=True),
        ),
    ]
