from django.core.management.base import BaseCommand, CommandError

from diemcau.core.acting import system_scope
from diemcau.core.errors import DomainError
from diemcau.demo import convocations, in_progress
from diemcau.demo import events as demo


class Command(BaseCommand):
    help = (
        "Load the seed's conference (15/08/2023) on the demo tree: sessions, agenda, the host point, "
        "Hà Nội's points and Ba Vì's 14 points chosen by the planner. Does nothing when it exists."
    )

    def handle(self, *args, **options):
        with system_scope('demo loader: synthetic conferences'):
            return self._handle(*args, **options)

    def _handle(self, *args, **options):
        try:
            report = demo.load()
            convocations.load(demo.loaded())  # the convocation forwarded to Ba Vì, its receipt, rehearsals
        except DomainError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        if report.skipped:
            self.stdout.write("The demo conference is already loaded; nothing to do.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Loaded the demo conference #{report.conference_id}."))
        self.stdout.write(
            f"{report.points} bridge points. Ba Vì: {report.bavi_points} points, {report.bavi_institutions} "
            f"institutions, {report.bavi_people} people in {report.bavi_seats} seats; total travel "
            f"{report.travel_person_km:,.0f} person-km ({report.average_km} km per person, {report.method})."
        )
        for name, used, capacity in report.loads:
            self.stdout.write(f"  {used:>4}/{capacity:<4} {name}")
        # The conference under way, so every board has something to show (idempotent).
        morning = demo.loaded().sessions.order_by("starts_at").first()
        under_way = in_progress.start(morning)
        if under_way.skipped:
            self.stdout.write(f"Not started: {under_way.skipped}.")
        else:
            self.stdout.write(f"Under way: {under_way.checkins} new check-ins"
                              + (f", a floor request from {under_way.floor_request}." if under_way.floor_request
                                 else "."))
