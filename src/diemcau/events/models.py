"""Conferences, their sessions and agendas: what happens, when, and for whom."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from diemcau.orgs.models import EducationLevel, Unit


class Conference(models.Model):
    """An online or hybrid conference (hội nghị trực tuyến) run by a host unit on one date.

    The host unit's organisers manage it; every unit below the host may take part, through the
    sessions' audiences.
    """

    title = models.CharField(_("title"), max_length=500)
    date = models.DateField(_("date"))
    host_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="hosted_conferences",
                                  verbose_name=_("host unit"))
    # The place written on official documents: "Hà Nội, ngày 15 tháng 8 năm 2023".
    place = models.CharField(_("place"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "title"]
        verbose_name = _("conference")
        verbose_name_plural = _("conferences")

    def __str__(self):
        return self.title


class Session(models.Model):
    """A session (phiên) of a conference: a time window, an audience and an agenda.

    The audience is levels of education (a bitmask of :class:`EducationLevel`) within subtrees;
    with no subtree named, the whole host unit's subtree. Invited institutions are derived from it.
    """

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(_("title"), max_length=300)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    audience_levels = models.PositiveIntegerField(_("audience levels"), default=0)
    audience_units = models.ManyToManyField(Unit, blank=True, related_name="+",
                                            verbose_name=_("audience subtrees"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["conference_id", "starts_at", "id"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    def __str__(self):
        return self.title

    @property
    def level_labels(self) -> list[str]:
        return EducationLevel.labels(self.audience_levels)


class AgendaItem(models.Model):
    """One item of a session's programme: a time, a title and a speaker."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="agenda")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=300)
    speaker = models.CharField(_("speaker"), max_length=200, blank=True)

    class Meta:
        ordering = ["session_id", "starts_at", "id"]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")

    def __str__(self):
        return self.title
