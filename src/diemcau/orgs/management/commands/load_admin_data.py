from django.core.management.base import BaseCommand

from diemcau.core.acting import system_scope
from diemcau.orgs import admin_data


class Command(BaseCommand):
    help = (
        "Load today's official provinces and communes (vietnam-provinces) into the administrative areas; "
        "with --tree, also the ministry and one department per province. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tree", action="store_true",
            help="also create the ministry (BGDDT) and one department (SGD<code>) per province",
        )

    def handle(self, *args, **options):
        with system_scope('loader: official administrative data'):
            return self._handle(*args, **options)

    def _handle(self, *args, tree=False, **options):
        report = admin_data.load(tree=tree)
        self.stdout.write(f"Source: {report.source}")
        rows = [("provinces", report.provinces), ("communes", report.communes)]
        if report.departments is not None:
            rows.append(("departments", report.departments))
        for label, counts in rows:
            self.stdout.write(
                f"  {label:<12} created {counts.created:>5}  updated {counts.updated:>5}"
                f"  unchanged {counts.unchanged:>5}"
            )
        if report.ministry_created:
            self.stdout.write(f"  created the ministry {admin_data.MINISTRY_CODE}")
        if report.departments_skipped:
            self.stdout.write(self.style.WARNING(
                "  left alone (these codes belong to units not made from the official list): "
                + ", ".join(report.departments_skipped)
            ))
