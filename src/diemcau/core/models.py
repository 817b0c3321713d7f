"""Records every module shares: the audit log and background jobs."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One change made by someone (nhật ký thao tác): who, what, when, before and after.

    Appended by services, never edited.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    # The unit's tree path, so an organiser's log view can be scoped to their subtree.
    unit_path = models.CharField(max_length=255, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self):
        return f"{self.at:%d/%m/%Y %H:%M} {self.action} {self.object_repr}"


class Job(models.Model):
    """A long piece of work (import, generation, planning) run in the background with progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=64)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The lease of the run in progress: the worker renews it while it works; once it has expired
    # the run is taken for dead (the worker was killed) and the job is re-queued or failed.
    worker = models.CharField(max_length=120, blank=True)  # host:pid of the run holding the lease
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "lease_until"], name="core_job_status_lease")]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, int(100 * self.progress / self.total))

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def can_retry(self) -> bool:
        """Whether its owner may run it again: it failed because its run was cut off or crashed."""
        return self.status == self.Status.FAILED and (self.result or {}).get("code") in ("worker_lost",
                                                                                          "internal_error")


class StagedImport(models.Model):
    """An uploaded file kept from its preview to its confirmation (abstract: each import adds its target).

    Keeping the bytes makes confirming idempotent (applied once) and leaves a trail of what was
    imported, by whom and when.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Being checked")
        INVALID = "invalid", _("Has problems")
        READY = "ready", _("Ready to apply")
        APPLYING = "applying", _("Being applied")
        APPLIED = "applied", _("Applied")
        FAILED = "failed", _("Not applied")

    filename = models.CharField(max_length=255)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # What the preview found: counts, sample rows, problems by row and column.
    summary = models.JSONField(default=dict, blank=True)
    # A digest of the previewed changes; applying refuses a plan that no longer matches it.
    fingerprint = models.CharField(max_length=64, blank=True)
    # What applying did, or why it was refused.
    result = models.JSONField(default=dict, blank=True)
    # The background job that checks or applies a big file (None when the request did it).
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_busy(self) -> bool:
        """True while a background job is checking or applying the file."""
        return self.status in (self.Status.PENDING, self.Status.APPLYING)
