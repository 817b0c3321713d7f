"""The organisation tree, people, accounts' roles and official administrative areas."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from diemcau.core.models import StagedImport
from diemcau.core.vntext import fold

from .scoping import ScopedManager

# Each tree level adds one fixed-width, digits-only segment (the unit's id) to the path. Digits
# sort the same under every database collation, so a subtree is one index range scan:
# path >= P AND path < next(P).
PATH_STEP = 9


def path_segment(pk: int) -> str:
    return str(pk).zfill(PATH_STEP)


def path_upper_bound(path: str) -> str:
    """The smallest path greater than every path in the subtree rooted at ``path``."""
    head, last = path[:-PATH_STEP], path[-PATH_STEP:]
    return head + str(int(last) + 1).zfill(PATH_STEP)


class EducationLevel:
    """Levels of education (cấp học) an institution serves, stored as bits of one integer."""

    PRESCHOOL = 1
    PRIMARY = 2
    LOWER_SECONDARY = 4
    UPPER_SECONDARY = 8
    CONTINUING = 16
    SPECIALISED = 32
    UNIVERSITY = 64
    TEACHER_COLLEGE = 128

    CHOICES = [
        (PRESCHOOL, "preschool", _("Preschool")),
        (PRIMARY, "primary", _("Primary")),
        (LOWER_SECONDARY, "lower_secondary", _("Lower secondary")),
        (UPPER_SECONDARY, "upper_secondary", _("Upper secondary")),
        (CONTINUING, "continuing", _("Continuing education")),
        (SPECIALISED, "specialised", _("Specialised school")),
        (UNIVERSITY, "university", _("University")),
        (TEACHER_COLLEGE, "teacher_college", _("Teacher-training college")),
    ]
    # Words an official writes in a spreadsheet, folded (no diacritics), for each level.
    ALIASES = {
        PRESCHOOL: ["mam non", "mn", "preschool", "nha tre", "mau giao"],
        PRIMARY: ["tieu hoc", "th", "primary"],
        LOWER_SECONDARY: ["trung hoc co so", "thcs", "lower secondary"],
        UPPER_SECONDARY: ["trung hoc pho thong", "thpt", "upper secondary"],
        CONTINUING: ["giao duc thuong xuyen", "gdtx", "gdnn-gdtx", "continuing", "continuing education"],
        SPECIALISED: ["chuyen biet", "truong chuyen biet", "specialised", "specialised school"],
        UNIVERSITY: ["dai hoc", "dh", "co so giao duc dai hoc", "university"],
        TEACHER_COLLEGE: ["cao dang su pham", "cdsp", "teacher-training college", "teacher college"],
    }
    ALL = sum(c[0] for c in CHOICES)

    @classmethod
    def labels(cls, mask: int) -> list[str]:
        return [str(label) for bit, _key, label in cls.CHOICES if mask & bit]

    @classmethod
    def keys(cls, mask: int) -> list[str]:
        return [key for bit, key, _label in cls.CHOICES if mask & bit]

    @classmethod
    def parse_one(cls, word: str) -> int | None:
        folded = fold(word)
        for bit, key, label in cls.CHOICES:
            if folded in (key.replace("_", " "), fold(str(label))) or folded in cls.ALIASES[bit]:
                return bit
        return None


class AdminArea(models.Model):
    """An official administrative area: a province (tỉnh/thành phố) or a commune (xã/phường)."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        COMMUNE = "commune", _("Commune")

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    division_type = models.CharField(max_length=64)
    level = models.CharField(max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    name_search = models.CharField(max_length=200, db_index=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("administrative area")
        verbose_name_plural = _("administrative areas")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.name_search = fold(self.name)
        super().save(*args, **kwargs)


class Unit(models.Model):
    """A unit of the sector's tree (đơn vị): ministry, department, district office, institution...

    Any depth; the kinds below are the usual ones, and a locality may add its own as "other" with
    a label of its choice.
    """

    class Kind(models.TextChoices):
        MINISTRY = "ministry", _("Ministry")
        DEPARTMENT = "department", _("Department of Education and Training")
        DISTRICT_OFFICE = "district_office", _("District Office of Education and Training")
        INSTITUTION = "institution", _("Educational institution")
        OTHER = "other", _("Other unit")

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=300, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    kind_label = models.CharField(_("kind label"), max_length=100, blank=True)
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=255)
    name_search = models.CharField(max_length=255, db_index=True, editable=False)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    admin_area = models.ForeignKey(
        AdminArea, null=True, blank=True, on_delete=models.SET_NULL, related_name="units"
    )
    commune = models.CharField(_("commune"), max_length=150, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    levels = models.PositiveIntegerField(_("levels of education"), default=0)
    managers_count = models.PositiveIntegerField(_("managers"), default=0)
    teachers_count = models.PositiveIntegerField(_("teachers"), default=0)
    staff_count = models.PositiveIntegerField(_("staff"), default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()  # a query needs an active scope or the system (orgs.scoping)

    class Meta:
        ordering = ["path"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        indexes = [models.Index(fields=["kind", "path"])]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.refresh_search_key()
        super().save(*args, **kwargs)

    def refresh_search_key(self):
        """Recompute ``name_search``; bulk writes (imports) call it since they bypass save()."""
        self.name_search = fold(f"{self.name} {self.short_name} {self.code}")

    @property
    def kind_display(self) -> str:
        return self.kind_label or self.get_kind_display()

    @property
    def level_labels(self) -> list[str]:
        return EducationLevel.labels(self.levels)

    @property
    def people_total(self) -> int:
        return self.managers_count + self.teachers_count + self.staff_count

    def subtree_bounds(self) -> tuple[str, str]:
        return self.path, path_upper_bound(self.path)

    def is_within(self, other: "Unit") -> bool:
        """True when this unit is ``other`` or lies below it."""
        return self.path.startswith(other.path)

    def ancestor_ids(self) -> list[int]:
        return [int(self.path[i : i + PATH_STEP]) for i in range(0, len(self.path), PATH_STEP)]


class Person(models.Model):
    """A person of the sector (cán bộ quản lý, giáo viên, nhân viên) belonging to one unit."""

    class Category(models.TextChoices):
        MANAGEMENT = "management", _("Management board")
        TEACHER = "teacher", _("Teacher")
        STAFF = "staff", _("Staff")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="people")
    code = models.CharField(_("personal code"), max_length=32, unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    name_search = models.CharField(max_length=150, editable=False)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    position = models.CharField(_("position"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()  # a query needs an active scope or the system (orgs.scoping)

    class Meta:
        ordering = ["unit_id", "category", "full_name"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [models.Index(fields=["unit", "category"])]

    def __str__(self):
        return self.full_name

    def save(self, *args, **kwargs):
        self.refresh_search_key()
        super().save(*args, **kwargs)

    def refresh_search_key(self):
        """Recompute ``name_search``; bulk writes (imports) call it since they bypass save()."""
        self.name_search = fold(self.full_name)


class Role(models.TextChoices):
    NATIONAL_ORGANISER = "national_organiser", _("National organiser")
    UNIT_ORGANISER = "unit_organiser", _("Unit organiser")
    POINT_OPERATOR = "point_operator", _("Point operator")
    PRINCIPAL = "principal", _("Principal")
    PARTICIPANT = "participant", _("Participant")
    DIRECTOR = "director", _("Director")
    MODERATOR = "moderator", _("Opinion moderator")
    ANALYST = "analyst", _("Analyst")


class RoleAssignment(models.Model):
    """A role that an account holds, over a unit's subtree (or a point) where the role is scoped."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=32, choices=Role.choices)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments")
    # The bridge point a point operator runs; a foreign key once the points module exists.
    point_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "unit"], name="unique_role_per_unit"),
        ]

    def __str__(self):
        where = f" @ {self.unit}" if self.unit_id else ""
        return f"{self.user} — {self.get_role_display()}{where}"


class LoginFailure(models.Model):
    """A failed login, kept to lock out password guessing."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"{self.username} @ {self.ip} {self.at:%d/%m/%Y %H:%M}"


class PasswordReset(models.Model):
    """A temporary password set by an organiser (đặt lại mật khẩu): kept until its owner changes it.

    Appended, never rewritten except for ``changed_at``; while one is open the account must change
    its password before doing anything else.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_resets")
    reset_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["user", "changed_at"])]

    def __str__(self):
        return f"{self.user} {self.at:%d/%m/%Y %H:%M}"


class ImportBatch(StagedImport):
    """One uploaded import file (lô nhập dữ liệu), kept from its preview to its confirmation.

    Keeping the bytes makes confirmation idempotent (a batch is applied once) and leaves a trail
    of what was imported, by whom and when.
    """

    class Kind(models.TextChoices):
        UNITS = "units", _("Units")
        PEOPLE = "people", _("People")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_batches")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    sha256 = models.CharField(max_length=64, db_index=True)

    class Meta(StagedImport.Meta):
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self):
        return f"{self.get_kind_display()}: {self.filename}"
