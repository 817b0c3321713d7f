from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from diemcau.core import backup
from diemcau.core.acting import system_scope
from diemcau.core.errors import DomainError


class Command(BaseCommand):
    help = ("Restore a backup archive into the configured database and var/ after checking its manifest. "
            "Stop the server first. Refuses a database that holds data unless --force is given.")

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument("--force", action="store_true", help="replace a database that already holds data")

    def handle(self, *args, **options):
        with system_scope('restore: support staff put a whole backup back'):
            return self._handle(*args, **options)

    def _handle(self, *args, **options):
        try:
            result = backup.restore_backup(Path(options["archive"]), force=options["force"])
        except DomainError as exc:
            hint = " (--force)" if exc.code == "restore_not_empty" else ""
            raise CommandError(f"{exc.message} [{exc.code}]{hint}") from None
        for warning in result.warnings:
            self.stderr.write(warning)
        self.stdout.write(f"restored the backup of {result.manifest['created_at']} ({result.manifest['engine']}, "
                          f"{result.members} files)")
