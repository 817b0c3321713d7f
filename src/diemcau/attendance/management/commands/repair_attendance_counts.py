from django.core.management.base import BaseCommand

from diemcau.attendance import counts
from diemcau.core.acting import system_scope


class Command(BaseCommand):
    help = ("Recompute the running attendance counts and arrivals per minute (present from the check-ins, the "
            "append-only record; "
            "expected from the assignments and delegations), report "
            "where they differed and write the recomputed values (--check: report only). Exit status 1 "
            "with --check when any differs.")

    def add_arguments(self, parser):
        parser.add_argument("--session", type=int, action="append", dest="sessions",
                            help="only this session (repeatable; default: every session with check-ins)")
        parser.add_argument("--check", action="store_true", help="report the differences, change nothing")

    def handle(self, *args, **options):
        with system_scope("repair_attendance_counts: support staff recompute derived counts"):
            sessions = options["sessions"]
            found = counts.differences(sessions) if options["check"] else counts.repair(sessions)
        for d in found:
            self.stdout.write(str(d))
        verb = "found" if options["check"] else "repaired"
        self.stdout.write(f"{len(found)} differences {verb}")
        if options["check"] and found:
            raise SystemExit(1)
