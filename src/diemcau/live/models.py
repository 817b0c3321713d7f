"""The live conference's records: media nodes, the programme, floor requests, A/V health, checks.

Records of what happened (programme switches, floor events, A/V reports, technical checks) are
appended, never rewritten; the current state (``Programme``, ``FloorRequest.state``,
``PointLiveState``) is kept by the same transaction that appends.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from diemcau.events.models import Conference
from diemcau.points.models import BridgePoint


class LiveNode(models.Model):
    """A Janus media node (máy chủ truyền hình): the root holds the studio and the floor, edges serve points."""

    class Role(models.TextChoices):
        ROOT = "root", _("Root")
        EDGE = "edge", _("Edge")

    class State(models.TextChoices):
        UNKNOWN = "unknown", _("Not started")
        UP = "up", _("Running")
        DOWN = "down", _("Down")

    name = models.CharField(_("name"), max_length=40, unique=True)
    role = models.CharField(_("role"), max_length=8, choices=Role.choices, default=Role.EDGE)
    base_port = models.PositiveIntegerField(_("base port"))
    capacity = models.PositiveIntegerField(_("viewers it can serve"), default=50)
    # An edge sits at a bridge point of the relay tree; the points below it watch it.
    point = models.ForeignKey(BridgePoint, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="live_nodes", verbose_name=_("at bridge point"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.UNKNOWN)
    state_since = models.DateTimeField(_("since"), null=True, blank=True)
    ws_url = models.CharField(max_length=200, blank=True)
    http_url = models.CharField(max_length=200, blank=True)
    admin_url = models.CharField(max_length=200, blank=True)
    # The node's secrets, written by the runtime that renders its configuration; the web process
    # needs the admin secret to issue tokens. Never sent to a browser.
    api_secret = models.CharField(max_length=100, blank=True)
    admin_secret = models.CharField(max_length=100, blank=True)
    admin_key = models.CharField(max_length=100, blank=True)
    epoch = models.PositiveIntegerField(default=0, help_text="incremented each time the node is (re)provisioned")
    # A node on a media host of its own registers through its agent (manage.py media_node): the
    # private address carries its Admin API and the programme's RTP; ws_url is the public URL
    # browsers are given. Nodes of the runtime's own machine leave these empty.
    agent = models.BooleanField(_("registered by its host's agent"), default=False)
    private_address = models.CharField(_("private address"), max_length=64, blank=True)
    region = models.CharField(_("region"), max_length=40, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    load = models.PositiveIntegerField(_("sessions open"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role", "name"]
        verbose_name = _("media node")
        verbose_name_plural = _("media nodes")

    def __str__(self):
        return self.name

    @property
    def is_root(self) -> bool:
        return self.role == self.Role.ROOT


class Programme(models.Model):
    """What every point sees (chương trình) in one conference: the host, a point with the floor, or both."""

    class Source(models.TextChoices):
        HOST = "host", _("Host studio")
        POINT = "point", _("Point with the floor")
        BOTH = "both", _("Host and point side by side")

    conference = models.OneToOneField(Conference, on_delete=models.CASCADE, related_name="programme")
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.HOST)
    point = models.ForeignKey(BridgePoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("point on air"))
    speaker = models.CharField(_("speaker"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)
    # The conference's lane on the shared nodes (layout.py: its mountpoint ids and ports), given by
    # the day's runtime; a standby reads it to adopt what the active runtime made.
    lane = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")

    def __str__(self):
        return f"{self.conference_id}: {self.source}"


class ProgrammeSwitch(models.Model):
    """One switch of the programme, appended: who chose which source when."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="switches")
    source = models.CharField(max_length=8, choices=Programme.Source.choices)
    point = models.ForeignKey(BridgePoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.source} {self.at}"


class FloorRequest(models.Model):
    """A point's request for the floor (xin phát biểu), and where it stands."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Waiting")
        GRANTED = "granted", _("Has the floor")
        REVOKED = "revoked", _("Floor taken back")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    OPEN = (State.REQUESTED, State.GRANTED)

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="floor_requests")
    point = models.ForeignKey(BridgePoint, on_delete=models.CASCADE, related_name="floor_requests")
    who = models.CharField(_("who speaks"), max_length=200)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    since = models.DateTimeField(_("since"), auto_now_add=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.REQUESTED)
    granted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Drawn at random on the grant; the runtime forwards only this id (and kicks any other), and only
    # the point's own kiosk hears it, while the grant lasts. Below 2**53 so JavaScript holds it exactly.
    publisher_id = models.BigIntegerField(null=True, blank=True, unique=True)

    class Meta:
        ordering = ["since", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["point"], condition=models.Q(state__in=["requested", "granted"]),
                                    name="one_open_floor_request_per_point"),
        ]

    def __str__(self):
        return f"{self.point} – {self.who}"


class FloorEvent(models.Model):
    """One step of a floor request (requested, granted, revoked, withdrawn, muted), appended."""

    request = models.ForeignKey(FloorRequest, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.action} {self.at}"


class AVReport(models.Model):
    """A kiosk's WebRTC statistics at one moment (appended every few seconds)."""

    point = models.ForeignKey(BridgePoint, on_delete=models.CASCADE, related_name="av_reports")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    phase = models.CharField(max_length=12, blank=True)
    bitrate_in_kbps = models.FloatField(default=0)
    bitrate_out_kbps = models.FloatField(default=0)
    loss_pct = models.FloatField(default=0)
    rtt_ms = models.FloatField(null=True, blank=True)
    jitter_ms = models.FloatField(null=True, blank=True)
    fps = models.FloatField(default=0)
    frames_decoded = models.PositiveBigIntegerField(default=0)
    freezes = models.PositiveIntegerField(default=0)
    audio_level = models.FloatField(default=0)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.point_id} {self.at}"


class PointLiveState(models.Model):
    """A point's live state now, kept with each report and connection change."""

    class Health(models.TextChoices):
        OK = "ok", _("Good")
        DEGRADED = "degraded", _("Degraded")
        LOST = "lost", _("Lost")

    point = models.OneToOneField(BridgePoint, on_delete=models.CASCADE, related_name="live_state")
    connections = models.PositiveIntegerField(default=0)  # open kiosk websockets
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_report = models.ForeignKey(AVReport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_report_at = models.DateTimeField(null=True, blank=True)
    refused_reports = models.PositiveIntegerField(default=0)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.OK)
    gaps = models.PositiveIntegerField(default=0)  # drops seen since the kiosk first connected

    def __str__(self):
        return f"{self.point_id}: {self.health}"


class LiveAlarm(models.Model):
    """An alarm on the site board: a point degraded or dropped, a node went down."""

    class Kind(models.TextChoices):
        DEGRADED = "degraded", _("Degraded")
        LOST = "lost", _("Connection lost")
        NODE_DOWN = "node_down", _("Media node down")

    conference = models.ForeignKey(Conference, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    point = models.ForeignKey(BridgePoint, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    node = models.ForeignKey(LiveNode, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    detail = models.CharField(max_length=300, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]

    def __str__(self):
        return f"{self.kind} {self.raised_at}"


class TechnicalCheck(models.Model):
    """A technical check (kiểm tra kỹ thuật) run from a point's kiosk, with its figures."""

    point = models.ForeignKey(BridgePoint, on_delete=models.CASCADE, related_name="technical_checks")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    camera_ok = models.BooleanField(default=False)
    microphone_ok = models.BooleanField(default=False)
    mic_level = models.FloatField(default=0)
    speakers_ok = models.BooleanField(default=False)
    bandwidth_kbps = models.FloatField(null=True, blank=True)
    rtt_ms = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.point_id} {self.at}"


class LiveToken(models.Model):
    """A Janus token diemcau issued to one person for one point (or to watch alone)."""

    class Purpose(models.TextChoices):
        KIOSK = "kiosk", _("Bridge-point kiosk")
        STUDIO = "studio", _("Host studio")
        DIRECTOR = "director", _("Director console")
        VIEWER = "viewer", _("Viewer")
        CHECK = "check", _("Technical check")

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="+")
    point = models.ForeignKey(BridgePoint, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    plugins = models.JSONField(default=list)
    nodes = models.JSONField(default=list)  # names of the nodes the token is valid on
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The studio's credential: the random id it publishes as in the root's room (kept on renewal).
    publisher_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="live_token_user_open")]

    def __str__(self):
        return f"{self.purpose} {self.user_id}"


class Poll(models.Model):
    """A quick question (thăm dò nhanh) the director asks during the session: single choice or a 1–5 scale.

    Asked to every participant (answered on their phone) or to the points (each kiosk answers for its
    hall). Votes are appended (:class:`PollVote`); the totals by province and level of education are
    kept in :class:`PollCount` by the vote's own transaction.
    """

    class Kind(models.TextChoices):
        CHOICE = "choice", _("Single choice")
        SCALE = "scale", _("Scale from 1 to 5")

    class Audience(models.TextChoices):
        PEOPLE = "people", _("Every participant")
        POINTS = "points", _("Bridge points")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="polls")
    session = models.ForeignKey("events.Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    question = models.CharField(_("question"), max_length=300)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.CHOICE)
    audience = models.CharField(_("asked to"), max_length=8, choices=Audience.choices, default=Audience.PEOPLE)
    choices = models.JSONField(default=list)  # the options' labels; a scale's are "1".."5"
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    on_kiosks = models.BooleanField(_("results shown on kiosks"), default=False)
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        verbose_name = _("poll")
        verbose_name_plural = _("polls")
        constraints = [
            models.UniqueConstraint(fields=["conference"], condition=models.Q(state="open"),
                                    name="live_one_open_poll_per_conference"),
        ]

    def __str__(self):
        return self.question


class PollVote(models.Model):
    """One answer to a poll, appended once: by a participant, or by a point's kiosk for its hall."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    person = models.ForeignKey("orgs.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    point = models.ForeignKey(BridgePoint, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    choice = models.PositiveSmallIntegerField()
    client_id = models.UUIDField()  # a retry with the same id is the same vote
    area_id = models.PositiveIntegerField(default=0)  # the province's unit (0: above the provinces)
    levels = models.PositiveIntegerField(default=0)   # the voter's institution's levels of education
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "client_id"], name="live_poll_vote_client_id"),
            models.UniqueConstraint(fields=["poll", "person"], condition=models.Q(person__isnull=False),
                                    name="live_one_poll_vote_per_person"),
            models.UniqueConstraint(fields=["poll", "point"], condition=models.Q(point__isnull=False),
                                    name="live_one_poll_vote_per_point"),
        ]

    def __str__(self):
        return f"{self.poll_id}: {self.choice}"


class PollCount(models.Model):
    """Votes for one option of a poll from one province and one set of levels, kept by each vote."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="counts")
    choice = models.PositiveSmallIntegerField()
    area_id = models.PositiveIntegerField(default=0)
    levels = models.PositiveIntegerField(default=0)
    votes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "choice", "area_id", "levels"], name="live_poll_count_key"),
        ]

    def __str__(self):
        return f"{self.poll_id}/{self.choice}: {self.votes}"


class Recording(models.Model):
    """The programme of one session recorded from the root (bản ghi phiên), kept as HLS VOD."""

    class State(models.TextChoices):
        RECORDING = "recording", _("Recording")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    session = models.ForeignKey("events.Session", on_delete=models.CASCADE, related_name="recordings")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECORDING)
    folder = models.CharField(max_length=300)  # under var/recordings/
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")

    def __str__(self):
        return f"{self.session_id} {self.started_at}"


class RoomSystem(models.Model):
    """A hall's own video equipment (Polycom, Cisco, Yealink…) joining as its bridge point over SIP.

    Kamailio checks the hall's digest with ``ha1`` = MD5(username:realm:password), which is all digest
    authentication needs: the password itself is never stored (``live/sip.py`` sets it).
    """

    point = models.OneToOneField(BridgePoint, on_delete=models.CASCADE, related_name="room_system",
                                 verbose_name=_("bridge point"))
    sip_username = models.CharField(_("SIP username"), max_length=64, unique=True)
    realm = models.CharField(_("SIP realm"), max_length=64)
    ha1 = models.CharField(max_length=32)
    address = models.CharField(_("address of the room system"), max_length=200, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    dial_out = models.BooleanField(_("diemcau calls the hall"), default=False,
                                   help_text=_("At the start of each session (and again when the call drops)."))
    picture_update_info = models.BooleanField(_("keyframe requests by SIP INFO"), default=False,
                                              help_text=_("Polycom and Cisco units expect picture_fast_update."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("room system")
        verbose_name_plural = _("room systems")

    def __str__(self):
        return self.sip_username
