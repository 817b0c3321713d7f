from django.core.management.base import BaseCommand

from diemcau.core import jobs


class Command(BaseCommand):
    help = "Run background jobs queued in Redis (production; the embedded default runs them in threads)."

    def handle(self, *args, **options):
        self.stdout.write("waiting for jobs…")
        jobs.work_forever()
