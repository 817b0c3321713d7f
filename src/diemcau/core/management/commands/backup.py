from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from diemcau.core import backup
from diemcau.core.acting import system_scope
from diemcau.core.errors import DomainError


class Command(BaseCommand):
    help = ("Write one backup archive (mode 0600): the database (consistent while the server runs), the keys "
            "under var/, uploaded media and a manifest of sha256 sums. Keep archives secret: they hold the keys.")

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(Path(settings.VAR_DIR) / "backups"),
                            help="folder for the archive (default: var/backups)")

    def handle(self, *args, **options):
        with system_scope('backup: support staff copy the whole database'):
            return self._handle(*args, **options)

    def _handle(self, *args, **options):
        try:
            path = backup.create_backup(Path(options["output"]))
        except DomainError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from None
        self.stdout.write(str(path))
