from django.core.management.base import BaseCommand, CommandError

from diemcau.core.acting import system_scope
from diemcau.core.errors import DomainError
from diemcau.demo import orgs as demo


class Command(BaseCommand):
    help = (
        "Load the demo world (the seed's 2023 scenario: Ba Vì and its ~100 institutions) or the national "
        "benchmark world, generated from a seed. Does nothing when the same world is already loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=demo.SEED, help="seed number (default %(default)s)")
        parser.add_argument("--size", choices=demo.SIZES, default="demo",
                            help="demo: ~5,300 people; national: ~43,000 institutions, ~1.6 million people")
        parser.add_argument("--scale", type=float, default=1.0,
                            help="national only: keep this fraction of the district offices (e.g. 0.1)")
        parser.add_argument("--reset", action="store_true", help="first delete what an earlier load made")

    def handle(self, *args, **options):
        with system_scope('demo loader: the synthetic tree and people'):
            return self._handle(*args, **options)

    def _handle(self, *args, seed, size, scale, reset, **options):
        def progress(message):
            if options["verbosity"] > 1 or size == "national":
                self.stdout.write(f"  {message}")

        try:
            report = demo.load(seed, size, scale=scale, reset=reset, progress=progress)
        except DomainError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        if report.skipped:
            self.stdout.write(f"The {size} world (seed {seed}) is already loaded; nothing to do.")
        else:
            units = ", ".join(f"{n} {kind}" for kind, n in sorted(report.units.items()))
            people = ", ".join(f"{n} {cat}" for cat, n in sorted(report.people.items()))
            self.stdout.write(self.style.SUCCESS(
                f"Loaded the {size} world (seed {seed}) in {report.seconds:.1f} s: "
                f"{report.units_total} units ({units}); {report.people_total} people ({people})."
            ))
        if report.accounts:
            self.stdout.write(f"Created accounts: {', '.join(report.accounts)}")
        # The accounts table is printed once, by ``make serve`` (``manage.py demo_accounts``).
