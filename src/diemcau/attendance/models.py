"""Delegations (who each institution sends to a session) and check-ins (who actually came)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from diemcau.events.models import Session
from diemcau.orgs.models import Person, Unit
from diemcau.points.models import BridgePoint


class Delegation(models.Model):
    """The delegation (đoàn tham dự) an institution sends to one session, and the rule it must meet.

    The rule is one of: named people only; a composition (at least N of the management board,
    teachers, staff); or all staff. Under any rule the principal may name the people who go.
    """

    class Rule(models.TextChoices):
        NAMED = "named", _("Named people")
        COMPOSITION = "composition", _("Composition rule")
        ALL_STAFF = "all_staff", _("All staff")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="delegations")
    institution = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="delegations")
    rule = models.CharField(_("rule"), max_length=16, choices=Rule.choices, default=Rule.NAMED)
    # The management board here is the principal or a vice-principal (category "management").
    min_management = models.PositiveIntegerField(_("at least, management board"), default=0)
    min_teachers = models.PositiveIntegerField(_("at least, teachers"), default=0)
    min_staff = models.PositiveIntegerField(_("at least, staff"), default=0)
    named_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session_id", "institution__path"]
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        constraints = [
            models.UniqueConstraint(fields=["session", "institution"], name="one_delegation_per_institution"),
        ]

    def __str__(self):
        return f"{self.institution} · {self.session}"

    def minimums(self) -> dict[str, int]:
        return {Person.Category.MANAGEMENT: self.min_management, Person.Category.TEACHER: self.min_teachers,
                Person.Category.STAFF: self.min_staff}


class DelegationMember(models.Model):
    """One person named in a delegation (thành viên đoàn)."""

    delegation = models.ForeignKey(Delegation, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="delegations")

    class Meta:
        verbose_name = _("delegation member")
        verbose_name_plural = _("delegation members")
        constraints = [
            models.UniqueConstraint(fields=["delegation", "person"], name="unique_delegation_member"),
        ]

    def __str__(self):
        return str(self.person)


class CheckIn(models.Model):
    """One check-in (điểm danh) at a bridge point: appended, never updated.

    A row is either one person (``person`` set, ``count`` 1) or a headcount of one category at a
    point (``person`` empty, ``count`` n). The same person twice, or at two points, is kept and
    flagged; roll-ups count distinct people, so nobody is counted twice. ``client_id`` is made by
    the client, so a retried upload is a no-op. The row is its own audit trail: who recorded it,
    from which device, when it was scanned and when it arrived.
    """

    class Method(models.TextChoices):
        QR_SELF = "qr_self", _("Participant scanned the point's QR")
        QR_SCAN = "qr_scan", _("Operator scanned a personal QR")
        ROLL_CALL = "roll_call", _("Roll call")
        HEADCOUNT = "headcount", _("Headcount")
        VIDEO = "video", _("Joined the video")

    # Not indexed alone: every composite index below and the unique constraint start with it.
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="checkins", db_index=False)
    point = models.ForeignKey(BridgePoint, on_delete=models.PROTECT, related_name="checkins")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="checkins")
    # The person's institution at the time, kept so roll-ups are one range scan on its path.
    institution = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=16, choices=Method.choices)
    category = models.CharField(max_length=16, choices=Person.Category.choices)
    count = models.PositiveIntegerField(default=1)
    device = models.CharField(max_length=100, blank=True)
    scanned_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    client_id = models.UUIDField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    duplicate_person = models.BooleanField(default=False)
    other_point = models.BooleanField(default=False)
    # The device's scan time was not plausible (before the window, in the future, too old): the row
    # holds the server's time instead, and the claimed one is kept here for whoever investigates.
    scan_time_clamped = models.BooleanField(default=False)
    claimed_scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session_id", "received_at", "id"]
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        constraints = [
            models.UniqueConstraint(fields=["session", "client_id"], name="unique_checkin_client_id"),
        ]
        indexes = [
            models.Index(fields=["session", "person"]),
            models.Index(fields=["session", "point", "method"]),
            models.Index(fields=["session", "institution"]),
        ]

    def __str__(self):
        who = self.person or f"{self.count} × {self.get_category_display()}"
        return f"{who} @ {self.point_id} ({self.get_method_display()})"


class AttendanceCount(models.Model):
    """A running count (số có mặt) of one session at one unit, for one category: what roll-ups sum.

    ``people``: people whose first check-in of the session is at this institution and category,
    added by the check-in's own statement; ``heads``: the latest headcounts at points hosted by this
    unit, added as the difference from the headcount they supersede; ``expected``: the people an assigned
    institution is expected to send (its delegation's rule, else its seats under category ""), rewritten
    when its assignment or delegation changes. Derived from the check-ins, assignments and delegations,
    never the record itself: ``manage.py repair_attendance_counts`` recomputes them.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=16, choices=Person.Category.choices)
    people = models.IntegerField(default=0)
    heads = models.IntegerField(default=0)
    # People expected from this institution in this category (category "" = seats, not by category).
    expected = models.IntegerField(default=0, db_default=0)  # the raw upserts of present counts omit it

    class Meta:
        verbose_name = _("attendance count")
        verbose_name_plural = _("attendance counts")
        constraints = [
            models.UniqueConstraint(fields=["session", "unit", "category"], name="one_count_per_unit_and_category"),
        ]

    def __str__(self):
        return f"{self.unit_id} · {self.category}: {self.people} + {self.heads} / {self.expected}"


class AttendanceArrival(models.Model):
    """People of one institution arriving in one minute of a session (each person once, at the minute of
    their first check-in): what the board's arrivals chart sums instead of scanning the check-ins.

    Raised by a trigger on the check-ins' insert (migration ``0006``: PostgreSQL once per statement,
    SQLite per row), so every way a check-in is written counts, in its own transaction. Derived, never the
    record: ``manage.py repair_attendance_counts`` recomputes these with the counts.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()  # the first check-in's scanned_at, truncated to the minute (UTC)
    people = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("arrivals per minute")
        verbose_name_plural = _("arrivals per minute")
        constraints = [
            models.UniqueConstraint(fields=["session", "unit", "minute"], name="one_arrival_count_per_minute"),
        ]

    def __str__(self):
        return f"{self.unit_id} · {self.minute:%H:%M}: {self.people}"
