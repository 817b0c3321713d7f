"""Convocations (giấy mời) down the tree: who was convoked, every send, and who confirmed.

A unit issues a convocation for a conference to its child units (the ministry to its departments);
a recipient forwards it down with its own additions (a child convocation quoting its parent's
number). Each addressee is a :class:`Recipient`; each e-mail sent to it (the convocation, a
reminder) is a :class:`Dispatch` row with its status, attempts and last error; "đã nhận" is one
:class:`Confirmation` per recipient. The document itself (PDF, .docx) is ``reports.convocation``'s.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from diemcau.events.models import Conference
from diemcau.orgs.models import Unit


class Convocation(models.Model):
    """A convocation a unit issues for a conference (giấy mời họp), or forwards from its parent's."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="convocations")
    issuer = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("issuing unit"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="forwards",
                               verbose_name=_("forwarded from"))
    number = models.CharField(_("number"), max_length=20, blank=True)
    symbol = models.CharField(_("symbol"), max_length=40)
    place = models.CharField(_("place"), max_length=100)
    issued_on = models.DateField(_("date"))
    additions = models.TextField(_("additional text"), blank=True)
    signer_title = models.CharField(_("signer's title"), max_length=150)
    signer_on_behalf = models.CharField(_("signs for"), max_length=150, blank=True)
    signer_name = models.CharField(_("signer's name"), max_length=150, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conference_id", "issuer__path", "id"]
        verbose_name = _("convocation")
        verbose_name_plural = _("convocations")
        constraints = [models.UniqueConstraint(fields=["conference", "issuer"], name="one_convocation_per_issuer")]

    def __str__(self):
        return f"{self.number_line} · {self.issuer.name}"

    @property
    def number_line(self) -> str:
        return f"Số: {self.number or '…'}/{self.symbol}"


class Recipient(models.Model):
    """A unit a convocation is addressed to (Kính gửi), and the address it goes to."""

    convocation = models.ForeignKey(Convocation, on_delete=models.CASCADE, related_name="recipients")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    email = models.CharField(_("e-mail"), max_length=500, blank=True)  # comma-separated contacts

    class Meta:
        ordering = ["convocation_id", "unit__path"]
        constraints = [models.UniqueConstraint(fields=["convocation", "unit"], name="one_recipient_per_unit")]

    def __str__(self):
        return f"{self.unit.name} ← {self.convocation}"


class Dispatch(models.Model):
    """One e-mail to one recipient (the convocation or a reminder): every send is recorded here."""

    class Kind(models.TextChoices):
        CONVOCATION = "convocation", _("Convocation")
        REMINDER = "reminder", _("Reminder")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        NO_ADDRESS = "no_address", _("No e-mail address")

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="dispatches")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CONVOCATION)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["recipient_id", "created_at", "id"]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.recipient.unit.name}: {self.status}"


class Confirmation(models.Model):
    """A recipient's "đã nhận": once per recipient, through the e-mailed link or the page."""

    class Via(models.TextChoices):
        LINK = "link", _("E-mailed link")
        PAGE = "page", _("Signed-in page")

    recipient = models.OneToOneField(Recipient, on_delete=models.CASCADE, related_name="confirmation")
    confirmed_at = models.DateTimeField()
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    via = models.CharField(max_length=8, choices=Via.choices)

    def __str__(self):
        return f"{self.recipient.unit.name}: {self.confirmed_at:%d/%m/%Y %H:%M}"
