from django.core.management.base import BaseCommand

from diemcau.core.acting import system_scope
from diemcau.demo import orgs as demo


class Command(BaseCommand):
    help = "Print the demo accounts (one per role) and their shared password."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=demo.SEED)

    def handle(self, *args, **options):
        with system_scope('demo loader: synthetic accounts'):
            return self._handle(*args, **options)

    def _handle(self, *args, seed, **options):
        self.stdout.write(demo.format_accounts(seed))
