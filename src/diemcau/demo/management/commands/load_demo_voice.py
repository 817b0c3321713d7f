from django.core.management.base import BaseCommand, CommandError

from diemcau.core.acting import system_scope
from diemcau.core.errors import DomainError
from diemcau.demo import after_day
from diemcau.demo import voice as demo


class Command(BaseCommand):
    help = (
        "Load Ba Vì's opinions and questions on the demo conference: sent, voted on, moderated up to the "
        "ministry, one on screen, opinion groups computed. Does nothing when the conference has items."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=demo.SEED)

    def handle(self, *args, **options):
        with system_scope('demo loader: synthetic opinions'):
            return self._handle(*args, **options)

    def _handle(self, *args, **options):
        try:
            report = demo.load(options["seed"])
        except DomainError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        if report.skipped:
            self.stdout.write("The demo conference already has opinions; nothing to do.")
        else:
            self.stdout.write(self.style.SUCCESS("Loaded the demo opinions."))
        self.stdout.write(
            f"{report.items} items: {report.approved} approved or answered, {report.rejected} rejected, "
            f"{report.merged} merged; {report.at_ministry} reached the ministry; {report.votes} votes; "
            f"{report.groups} opinion-group results; {report.proposals} topic proposals."
        )
        if report.on_air:
            self.stdout.write(f"On screen: {report.on_air}")
        self.stdout.write(after_day.describe(after_day.load()))  # the poll, the recording, the answer
