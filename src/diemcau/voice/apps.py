from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceConfig(AppConfig):
    name = "diemcau.voice"
    label = "voice"
    verbose_name = _("Opinions")

    def ready(self):
        # Models (ours and the events app's) can be imported only once the app registry is ready.
        from django.db.models.signals import post_save

        from diemcau.events.models import Conference

        from .signals import seed_topics_of_new_conference

        post_save.connect(seed_topics_of_new_conference, sender=Conference, dispatch_uid="voice.seed_topics")
