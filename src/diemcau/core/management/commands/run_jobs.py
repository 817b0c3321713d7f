from django.core.management.base import BaseCommand

from diemcau.core import jobs
from diemcau.core.acting import system_scope


class Command(BaseCommand):
    help = ("Run background jobs (production; the embedded default runs them in threads). On start and "
            "periodically, jobs whose worker died are re-queued or failed (see docs/OPERATIONS.md).")

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=2.0,
                            help="seconds between looks at the queue when Redis does not wake the worker")

    def handle(self, *args, **options):
        with system_scope("job worker: each job checks its owner's scope itself"):
            return self._handle(*args, **options)

    def _handle(self, *args, **options):
        self.stdout.write(f"waiting for jobs as {jobs.worker_name()}…")
        self.stdout.flush()
        jobs.work_forever(poll_seconds=options["poll"])
