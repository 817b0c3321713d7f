"""Opinions and questions (ý kiến, câu hỏi) of a conference, their votes and their moderation trail."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from diemcau.events.models import Conference, Session
from diemcau.orgs.models import Person, Unit
from diemcau.orgs.scoping import ScopedManager
from diemcau.points.models import BridgePoint

MAX_TEXT = 1000


class Topic(models.Model):
    """A topic (chủ đề) of a conference's opinions; the list is editable and starts from DEFAULT_TOPICS."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="voice_topics")
    key = models.SlugField(_("key"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # A retired topic is no longer offered or suggested; items tagged with it keep it.
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["conference_id", "position", "name"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        constraints = [models.UniqueConstraint(fields=["conference", "key"], name="voice_unique_topic_key")]

    def __str__(self):
        return self.name


class Opinion(models.Model):
    """A participant's question or opinion (câu hỏi / ý kiến), moving up the tree through moderation.

    ``at_unit`` is the level the item has reached: it starts at the author's unit and moves to the
    parent each time a moderator forwards it. The counts are caches of the votes and merged items,
    re-derived by the service that changes them.
    """

    class Kind(models.TextChoices):
        QUESTION = "question", _("Question")
        OPINION = "opinion", _("Opinion")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        ON_AIR = "on_air", _("Being answered")
        REJECTED = "rejected", _("Rejected")
        MERGED = "merged", _("Merged")
        ANSWERED = "answered", _("Answered")

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="opinions")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="opinions", verbose_name=_("session"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.QUESTION)
    text = models.TextField(_("text"), max_length=MAX_TEXT)
    author = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="opinions")
    # The author's unit when they wrote it: for scoping and counts, even if they move later.
    author_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="authored_opinions")
    anonymous = models.BooleanField(_("anonymous"), default=False)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL, related_name="opinions",
                              verbose_name=_("topic"))
    suggested_topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="suggested_for")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    reject_reason = models.CharField(_("reason"), max_length=500, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged_items")
    at_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="opinions_here")
    # The bridge point whose kiosk it was sent from, if any: flooding is also limited per point.
    point = models.ForeignKey(BridgePoint, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="opinions", verbose_name=_("bridge point"))
    # Live: when it went on screen, and the answer it got (text, and/or the time in the recording).
    on_air_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(_("answer"), max_length=MAX_TEXT * 4, blank=True)
    answer_time = models.CharField(_("time in the recording"), max_length=8, blank=True)
    upvotes = models.PositiveIntegerField(default=0)
    agree = models.PositiveIntegerField(default=0)
    disagree = models.PositiveIntegerField(default=0)
    passes = models.PositiveIntegerField(default=0)
    raised_by_people = models.PositiveIntegerField(default=1)
    raised_by_units = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()  # a query needs an active scope or the system (orgs.scoping)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("opinion")
        verbose_name_plural = _("opinions")
        indexes = [
            models.Index(fields=["conference", "status"]),
            models.Index(fields=["author", "created_at"]),
            models.Index(fields=["author_unit", "created_at"]),
            models.Index(fields=["point", "created_at"]),
        ]
        constraints = [
            # One item on screen per conference at a time.
            models.UniqueConstraint(fields=["conference"], condition=models.Q(status="on_air"),
                                    name="voice_one_on_air_per_conference"),
        ]

    def __str__(self):
        return self.text[:80]

    @property
    def path(self) -> str:
        """The tree path audit entries and scope checks use: the level the item has reached."""
        return self.at_unit.path

    @property
    def shown_unit(self):
        """The unit shown beside the item: none when the author asked to stay anonymous."""
        return None if self.anonymous else self.author_unit

    @property
    def shown_level(self):
        """The level shown beside the item: hidden while an anonymous item still sits at the author's unit."""
        if self.anonymous and self.at_unit_id == self.author_unit_id:
            return None
        return self.at_unit

    @property
    def shown_author(self):
        return None if self.anonymous else self.author


class Vote(models.Model):
    """One person's vote on an item (lượt bình chọn); appended once per family, never rewritten.

    Upvotes are one family; agree / disagree / pass on statements another, so a person may both
    upvote an opinion and agree with it, but a second vote in the same family is a no-op.
    """

    class Kind(models.TextChoices):
        UPVOTE = "upvote", _("Upvote")
        AGREE = "agree", _("Agree")
        DISAGREE = "disagree", _("Disagree")
        PASS = "pass", _("Pass")

    FAMILIES = {"upvote": "up", "agree": "stance", "disagree": "stance", "pass": "stance"}

    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="votes")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="opinion_votes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    family = models.CharField(max_length=8, editable=False)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [
            models.UniqueConstraint(fields=["opinion", "person", "family"], name="voice_one_vote_per_family"),
        ]

    def __str__(self):
        return f"{self.kind} #{self.opinion_id}"

    def save(self, *args, **kwargs):
        self.family = self.FAMILIES[self.kind]
        super().save(*args, **kwargs)


class ModerationAction(models.Model):
    """One moderator's action on an item (thao tác kiểm duyệt); append-only, the item's history."""

    class Action(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REJECT = "reject", _("Reject")
        EDIT = "edit", _("Edit")
        MERGE = "merge", _("Merge")
        FORWARD = "forward", _("Forward")
        TAG = "tag", _("Tag")
        ON_AIR = "on_air", _("Put on screen")
        ANSWER = "answer", _("Answer")
        OFF_AIR = "off_air", _("Take off screen")

    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="moderation")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("moderation action")
        verbose_name_plural = _("moderation actions")

    def __str__(self):
        return f"{self.action} #{self.opinion_id}"


class TopicProposal(models.Model):
    """A new topic the system proposes (đề xuất chủ đề) from a cluster of items no topic fits."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        DISMISSED = "dismissed", _("Dismissed")

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="topic_proposals")
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(_("name"), max_length=200)
    terms = models.JSONField(default=list)
    members = models.JSONField(default=list)  # opinion ids of the cluster
    cohesion = models.FloatField(default=0.0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("topic proposal")
        verbose_name_plural = _("topic proposals")

    def __str__(self):
        return self.name


class OpinionGroupsRun(models.Model):
    """One computation of opinion groups (nhóm quan điểm) over a subtree's votes, and its result."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="opinion_group_runs")
    # Whose votes: the people of this unit's subtree (the scope of who asked for it).
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    result = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("opinion groups")
        verbose_name_plural = _("opinion groups")

    def __str__(self):
        return f"groups #{self.pk} ({self.status})"


class AnswerAssignment(models.Model):
    """An item forwarded to the ministry, given to a responsible unit (đơn vị chủ trì trả lời) by a date.

    The unit's moderator writes the answer; publishing it notifies the asker and every voter
    (:class:`AnswerNotice`). One assignment per item; reassigning rewrites the unit and the date.
    """

    class State(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned")
        DRAFTED = "drafted", _("Answer drafted")
        PUBLISHED = "published", _("Answer published")

    opinion = models.OneToOneField(Opinion, on_delete=models.CASCADE, related_name="assignment")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="assigned_opinions",
                             verbose_name=_("responsible unit"))
    due_on = models.DateField(_("due date"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.ASSIGNED)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)
    answer = models.TextField(_("answer"), max_length=MAX_TEXT * 4, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("answer assignment")
        verbose_name_plural = _("answer assignments")

    def __str__(self):
        return f"#{self.opinion_id} → {self.unit_id}"


class AnswerNotice(models.Model):
    """A published answer told to one person (the asker or a voter): shown on their phone, e-mailed once."""

    class Reason(models.TextChoices):
        ASKED = "asked", _("You asked it")
        VOTED = "voted", _("You voted for it")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="answer_notices")
    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="answer_notices")
    reason = models.CharField(max_length=8, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["person", "opinion"], name="voice_one_answer_notice_per_person"),
        ]
        indexes = [models.Index(fields=["person", "created_at"])]

    def __str__(self):
        return f"{self.person_id}: #{self.opinion_id}"


class StoredSummary(models.Model):
    """The summary for policy of one subtree, computed in the background and stored with its time.

    The page reads it (never computes it); :mod:`diemcau.voice.stored` recomputes it, and the
    subtree's opinion groups, at most once every ``VOICE_REFRESH_SECONDS`` while items and votes
    arrive. ``requested_at`` later than ``computed_at`` means a recomputation is on its way.
    """

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="stored_summaries")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conference", "unit"], name="voice_stored_summary_unique")]
        verbose_name = _("stored summary")
        verbose_name_plural = _("stored summaries")

    def __str__(self):
        return f"summary {self.conference_id}/{self.unit_id} ({self.computed_at})"

    @property
    def refreshing(self) -> bool:
        return self.requested_at is not None and (self.computed_at is None or self.requested_at > self.computed_at)


class StoredDuplicates(models.Model):
    """A conference's likely duplicates (trùng lặp), clustered in the background and stored with its time.

    The moderation page reads them (never computes them); :mod:`diemcau.voice.stored` recomputes
    them over the whole conference at most once every ``VOICE_REFRESH_SECONDS`` while items arrive,
    once a moderator has looked. ``clusters``: the pending and approved items that look alike, one
    list of ids per cluster (two or more items); ``opposed``: pairs close enough to merge but of
    opposite polarity ("ý kiến trái chiều").
    """

    conference = models.OneToOneField(Conference, on_delete=models.CASCADE, related_name="stored_duplicates")
    clusters = models.JSONField(null=True, blank=True)
    opposed = models.JSONField(null=True, blank=True)
    items = models.PositiveIntegerField(default=0)  # pending and approved items clustered over
    computed_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("stored duplicates")
        verbose_name_plural = _("stored duplicates")

    def __str__(self):
        return f"duplicates {self.conference_id} ({self.computed_at})"

    @property
    def refreshing(self) -> bool:
        return self.requested_at is not None and (self.computed_at is None or self.requested_at > self.computed_at)
