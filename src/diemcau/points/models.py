"""Halls, bridge points, the assignment of institutions to points, and the planner's proposals."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from diemcau.core.models import StagedImport
from diemcau.events.models import Conference, Session
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import ScopedManager


class Hall(models.Model):
    """A hall (hội trường) a unit owns, where people gather; reused conference after conference.

    Coordinates left empty fall back to the owning unit's.
    """

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="halls", verbose_name=_("unit"))
    name = models.CharField(_("hall name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    capacity = models.PositiveIntegerField(_("seats"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["unit__path", "name"]
        verbose_name = _("hall")
        verbose_name_plural = _("halls")
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="unique_hall_name_per_unit")]

    def __str__(self):
        return f"{self.name} – {self.unit.name}"

    @property
    def lat(self) -> float | None:
        value = self.latitude if self.latitude is not None else self.unit.latitude
        return float(value) if value is not None else None

    @property
    def lon(self) -> float | None:
        value = self.longitude if self.longitude is not None else self.unit.longitude
        return float(value) if value is not None else None

    @property
    def full_address(self) -> str:
        return self.address or self.unit.address


class BridgePoint(models.Model):
    """A bridge point (điểm cầu) of one conference: a hall, its people, its link and its readiness.

    Points form a relay tree: the host point (điểm cầu chính, at the host unit) is the root;
    every other point relays from a parent point, to any depth.
    """

    class Readiness(models.TextChoices):
        PLANNED = "planned", _("Planned")
        EQUIPPED = "equipped", _("Equipped")
        CHECKED = "checked", _("Checked")
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")

    class CheckResult(models.TextChoices):
        NONE = "", _("Not checked")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="points")
    hall = models.ForeignKey(Hall, on_delete=models.PROTECT, related_name="points", verbose_name=_("hall"))
    name = models.CharField(_("name"), max_length=300)
    is_host = models.BooleanField(_("host point"), default=False)
    relay_parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="relay_children", verbose_name=_("relay parent"))
    sessions = models.ManyToManyField(Session, blank=True, related_name="points", verbose_name=_("sessions served"))
    contact_name = models.CharField(_("technical contact"), max_length=150, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    # The equipment checklist.
    has_camera = models.BooleanField(_("camera"), default=False)
    has_microphone = models.BooleanField(_("microphone"), default=False)
    has_speakers = models.BooleanField(_("speakers"), default=False)
    has_display = models.BooleanField(_("screen or projector"), default=False)
    has_computer = models.BooleanField(_("computer"), default=False)
    bandwidth_mbps = models.DecimalField(_("measured bandwidth (Mbit/s)"), max_digits=7, decimal_places=1,
                                         null=True, blank=True)
    readiness = models.CharField(_("readiness"), max_length=16, choices=Readiness.choices,
                                 default=Readiness.PLANNED)
    # The technical check's outcome; the check itself is run by the live module.
    check_result = models.CharField(_("technical check"), max_length=8, choices=CheckResult.choices,
                                    default=CheckResult.NONE, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    check_note = models.CharField(_("check note"), max_length=500, blank=True)
    # The organiser's wish that the planner keep this point open (as it keeps the points that relay).
    keep = models.BooleanField(_("keep this point open when planning"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    EQUIPMENT_FIELDS = ("has_camera", "has_microphone", "has_speakers", "has_display", "has_computer")

    objects = ScopedManager()  # a query needs an active scope or the system (orgs.scoping)

    class Meta:
        ordering = ["conference_id", "hall__unit__path", "name"]
        verbose_name = _("bridge point")
        verbose_name_plural = _("bridge points")
        constraints = [
            models.UniqueConstraint(fields=["conference", "hall"], name="unique_point_per_hall"),
            models.UniqueConstraint(fields=["conference"], condition=models.Q(is_host=True),
                                    name="one_host_point_per_conference"),
        ]

    def __str__(self):
        return self.name

    @property
    def host_unit(self) -> Unit:
        return self.hall.unit

    @property
    def capacity(self) -> int:
        return self.hall.capacity

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_name and self.contact_phone)

    @property
    def equipment_complete(self) -> bool:
        return all(getattr(self, f) for f in self.EQUIPMENT_FIELDS) and bool(self.bandwidth_mbps)

    def equipment_list(self) -> list[tuple[str, bool]]:
        return [(self._meta.get_field(f).verbose_name, getattr(self, f)) for f in self.EQUIPMENT_FIELDS]


class Assignment(models.Model):
    """An institution sent to one bridge point for one session (phân công điểm cầu).

    ``seats`` is the delegation's size when it was assigned: what the point's seats must hold.
    """

    class Method(models.TextChoices):
        MANUAL = "manual", _("By hand")
        IMPORT = "import", _("Imported list")
        PLANNER = "planner", _("Planner")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="assignments")
    institution = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="point_assignments")
    point = models.ForeignKey(BridgePoint, on_delete=models.PROTECT, related_name="assignments")
    seats = models.PositiveIntegerField(_("seats"), default=0)
    method = models.CharField(_("method"), max_length=16, choices=Method.choices, default=Method.MANUAL)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    assigned_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session_id", "point_id", "institution__path"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(fields=["session", "institution"], name="one_point_per_institution_and_session"),
        ]
        indexes = [models.Index(fields=["session", "point"])]

    def __str__(self):
        return f"{self.institution} → {self.point}"


class RoadDistance(models.Model):
    """A road distance in km from an institution to a hall, imported to replace great-circle ones."""

    hall = models.ForeignKey(Hall, on_delete=models.CASCADE, related_name="road_distances")
    institution = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    km = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hall", "institution"], name="unique_road_distance")]

    def __str__(self):
        return f"{self.institution} → {self.hall}: {self.km} km"


class Proposal(models.Model):
    """A plan the planner proposed (phương án) for one session within one unit's subtree.

    Stored so it can be reviewed, compared with the current assignment and applied in one step.
    ``result`` holds the open halls with their loads, institution → hall, and the plan's figures.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        APPLIED = "applied", _("Applied")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="proposals")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", verbose_name=_("planned for"))
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    result = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("planner proposal")
        verbose_name_plural = _("planner proposals")

    def __str__(self):
        return f"#{self.pk} {self.unit} · {self.session}"


class AssignmentImport(StagedImport):
    """An uploaded assignment list (danh sách phân công), kept from its preview to its confirmation.

    Keeping the bytes makes confirming idempotent (applied once) and leaves a trail of what was
    imported, by whom, for which session and unit.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=StagedImport.Status.choices,
                              default=StagedImport.Status.INVALID)

    class Meta(StagedImport.Meta):
        pass

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"


class RehearsalSlot(models.Model):
    """A rehearsal (chạy thử) of one bridge point, booked before the conference's day.

    Organisers book slots for the points of their subtree (by hand, or spread evenly over a window);
    the point's technical check is due by its own deadline (``points.rehearsals.check_deadline``).
    """

    point = models.ForeignKey(BridgePoint, on_delete=models.CASCADE, related_name="rehearsals")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "point_id"]
        verbose_name = _("rehearsal slot")
        verbose_name_plural = _("rehearsal slots")
        indexes = [models.Index(fields=["point", "starts_at"])]

    def __str__(self):
        return f"{self.point} · {self.starts_at:%d/%m/%Y %H:%M}"


class DeviceToken(models.Model):
    """An API token of one device (kiosk, scanner, script) at one bridge point (mã thiết bị).

    Only the SHA-256 of the secret is kept; the secret is shown once, when issued
    (``points.devices``). It expires, can be revoked, and acts for the organiser who issued it, at
    its point only.
    """

    point = models.ForeignKey(BridgePoint, on_delete=models.CASCADE, related_name="device_tokens")
    name = models.CharField(_("device name"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # Rotated: the token that replaces this one (which then works only for the overlap); rotates once.
    replaced_by = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="replaces")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("device token")
        verbose_name_plural = _("device tokens")
        indexes = [models.Index(fields=["point", "created_at"])]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
