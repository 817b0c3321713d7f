"""The worlds diemcau runs on: the seed's 2023 demo and the national benchmark, from a seed number.

``demo``: the ministry, the 63 departments of 2023, Sở GD&ĐT Hà Nội with Phòng GD&ĐT Ba Vì and
its ~100 institutions (the real communes of Ba Vì in 2023), ~4,900 managers, teachers and staff,
two more Hà Nội districts with a few schools each, and a handful of universities and
teacher-training colleges under the ministry. ``national``: the same ministry, departments,
Ba Vì and universities, plus ~700 district offices, ~43,000 institutions and ~1.6 million people.

Everything is generated from ``(seed, unit code)``, never from database ids or the order of
generation: the same seed gives the same names, codes and phones, and Ba Vì is the same in both
sizes. People are synthetic; place names are real (2023 for Ba Vì, Hà Nội's districts and the
provinces; today's communes from ``vietnam-provinces`` stand in for the rest of the country).

Loading streams one department at a time: unit ids are reserved first so every path is written
in the insert itself, people go in chunks of plain rows (COPY on PostgreSQL), and one audit entry
summarises the load.

This module loads, resets and gives the demo accounts; the parts live beside it:
:mod:`~diemcau.demo.org_reference` (the 2023 map, kinds of institution, names),
:mod:`~diemcau.demo.org_tree` (the tree and its people as plain records) and
:mod:`~diemcau.demo.org_writer` (the rows written by COPY, executemany or bulk_create).
"""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry
from diemcau.orgs import services
from diemcau.orgs.admin_data import MINISTRY_CODE, MINISTRY_NAME, MINISTRY_SHORT_NAME
from diemcau.orgs.models import Person, Role, Unit
from diemcau.orgs.scoping import SYSTEM

from .org_reference import _FAMILY, _FAMILY_CUM, GIVEN_F, GIVEN_M, HANOI, MIDDLE_F, MIDDLE_M, PROVINCES_2023, _nfc
from .org_tree import (
    BA_VI_CODE,
    DEPARTMENT_CODES,
    UNIVERSITY_CODES,
    Node,
    _rng,
    ba_vi,
    department_code,
    department_subtree,
    departments,
    universities,
)
from .org_writer import TreeWriter, resolve_write_method

SEED = 2023
SIZES = ("demo", "national")
DEMO_PASSWORD = "diemcau2023"  # noqa: S105 (public on purpose: printed by `make demo`, demo data only)


# --- demo accounts ----------------------------------------------------------------------------
# username, role, unit code (None: unscoped), what the account is for (Vietnamese, shown to users)
ACCOUNTS = _nfc([
    ("bo", Role.NATIONAL_ORGANISER, None, "Ban tổ chức toàn quốc (Văn phòng Bộ GD&ĐT)"),
    ("hanoi", Role.UNIT_ORGANISER, department_code(HANOI), "Ban tổ chức Sở GD&ĐT Hà Nội"),
    ("bavi", Role.UNIT_ORGANISER, BA_VI_CODE, "Ban tổ chức Phòng GD&ĐT Ba Vì"),
    ("hieutruong", Role.PRINCIPAL, "school", "Hiệu trưởng Trường Tiểu học Tây Đằng A"),
    ("giaovien", Role.PARTICIPANT, "school", "Giáo viên Trường Tiểu học Tây Đằng A"),
    ("dieuphoi", Role.DIRECTOR, None, "Điều phối chương trình trực tiếp"),
    ("kiemduyet", Role.MODERATOR, BA_VI_CODE, "Kiểm duyệt ý kiến cấp Phòng GD&ĐT Ba Vì"),
    ("phantich", Role.ANALYST, None, "Phân tích ý kiến, tổng hợp cho Bộ"),
    # Points do not exist yet: the operator is scoped to the office that will host Ba Vì's point.
    ("kythuat", Role.POINT_OPERATOR, BA_VI_CODE, "Kỹ thuật điểm cầu Phòng GD&ĐT Ba Vì"),
])


def _account_school_code(seed: int = SEED) -> str:
    return next(n.code for n in ba_vi(seed).children if n.name == "Trường Tiểu học Tây Đằng A")


def demo_accounts(seed: int = SEED) -> list[dict]:
    """The demo's accounts, one per role, all with :data:`DEMO_PASSWORD` (no database needed)."""
    school = _account_school_code(seed)
    names = {department_code(HANOI): "Sở Giáo dục và Đào tạo Hà Nội",
             BA_VI_CODE: "Phòng Giáo dục và Đào tạo huyện Ba Vì", school: "Trường Tiểu học Tây Đằng A"}
    rows = []
    for username, role, unit, description in ACCOUNTS:
        unit = school if unit == "school" else unit
        rows.append({"username": username, "password": DEMO_PASSWORD, "role": str(role),
                     "role_label": str(Role(role).label), "unit_code": unit or "",
                     "unit_name": names.get(unit, ""), "description": description})
    return rows


def format_accounts(seed: int = SEED) -> str:
    """The demo accounts as a plain-text table for the terminal, roles named in Vietnamese."""
    with translation.override("vi"):
        rows = [("Tài khoản", "Mật khẩu", "Vai trò", "Phạm vi", "Dùng để")]
        rows += [(a["username"], a["password"], a["role_label"], a["unit_code"] or "(toàn quốc)",
                  a["description"]) for a in demo_accounts(seed)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ensure_accounts(seed: int = SEED) -> list[str]:
    """Create the demo accounts that are missing (existing ones keep their password); return the new."""
    User = get_user_model()
    created = []
    school_code = _account_school_code(seed)
    for spec in demo_accounts(seed):
        if User.objects.filter(username=spec["username"]).exists():
            continue
        unit = Unit.objects.get(code=spec["unit_code"]) if spec["unit_code"] else None
        person = None
        if spec["username"] == "hieutruong":
            person = Person.objects.get(code=f"{school_code}-0001")
        elif spec["username"] == "giaovien":
            person = Person.objects.filter(unit__code=school_code, category=Person.Category.TEACHER) \
                .order_by("code").first()
        full_name = person.full_name if person else _account_name(seed, spec["username"])
        user = services.create_account(SYSTEM, spec["username"], DEMO_PASSWORD, role=spec["role"], unit=unit,
                                       full_name=full_name)
        if person is not None:
            Person.objects.filter(pk=person.pk).update(user=user)
        created.append(spec["username"])
    return created


def _account_name(seed: int, username: str) -> str:
    rng = _rng(seed, "account", username)
    family = rng.choices(_FAMILY, cum_weights=_FAMILY_CUM)[0]
    if rng.random() < 0.5:
        return f"{family} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
    return f"{family} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"


# --- loading ----------------------------------------------------------------------------------
@dataclass
class LoadReport:
    """What one run of :func:`load` did, with the time each part took."""

    seed: int
    size: str
    scale: float
    skipped: bool = False
    units: Counter = field(default_factory=Counter)
    people: Counter = field(default_factory=Counter)
    accounts: list[str] = field(default_factory=list)
    units_seconds: float = 0.0
    people_seconds: float = 0.0
    commit_seconds: float = 0.0
    seconds: float = 0.0
    write_method: str = ""

    @property
    def units_total(self) -> int:
        return sum(self.units.values())

    @property
    def people_total(self) -> int:
        return sum(self.people.values())

    def as_dict(self) -> dict:
        return {"seed": self.seed, "size": self.size, "scale": self.scale, "units": dict(self.units),
                "people": dict(self.people), "units_total": self.units_total,
                "people_total": self.people_total, "accounts": self.accounts,
                "units_seconds": round(self.units_seconds, 3), "people_seconds": round(self.people_seconds, 3),
                "commit_seconds": round(self.commit_seconds, 3), "seconds": round(self.seconds, 3),
                "write_method": self.write_method}


def loaded() -> dict | None:
    """The parameters of the demo in the database (seed, size, scale), or None if there is none."""
    if not Unit.objects.filter(code=BA_VI_CODE).exists():
        return None
    entry = AuditEntry.objects.filter(action="demo.loaded").order_by("-at", "-id").first()
    if entry is None or not entry.after:
        return {"seed": None, "size": None, "scale": None}
    return {k: entry.after.get(k) for k in ("seed", "size", "scale", "ministry_created")}


def load(seed: int = SEED, size: str = "demo", *, scale: float = 1.0, reset: bool = False,
         accounts: bool = True, write_method: str = "auto",
         progress: Callable[[str], None] | None = None) -> LoadReport:
    """Load the demo or national world; a no-op when the same world is already loaded.

    ``scale`` (national only) keeps that fraction of the district offices, for quick runs;
    Ba Vì is always kept. ``reset`` first removes what an earlier load made.
    """
    if size not in SIZES:
        raise DomainError(_("Unknown size %(size)s: use demo or national.") % {"size": size}, "bad_size")
    if not 0 < scale <= 1:
        raise DomainError(_("The scale must lie between 0 and 1."), "bad_scale")
    if size == "demo":
        scale = 1.0
    report = LoadReport(seed=seed, size=size, scale=scale)
    started = time.perf_counter()
    if reset:
        reset_demo()
    current = loaded()
    if current is not None:
        if (current["seed"], current["size"], current["scale"]) != (seed, size, scale):
            raise DomainError(
                _("Another demo is loaded (seed %(seed)s, size %(size)s). Run again with --reset to replace it.")
                % {"seed": current["seed"], "size": current["size"]},
                "demo_loaded",
            )
        report.skipped = True
        if accounts:
            with transaction.atomic():
                report.accounts = ensure_accounts(seed)
        report.seconds = time.perf_counter() - started
        return report
    taken = list(Unit.objects.filter(code__in=[*DEPARTMENT_CODES, *UNIVERSITY_CODES])
                 .values_list("code", flat=True)[:5])
    if taken:
        raise DomainError(
            _("The tree already has units with the demo's codes (%(codes)s), e.g. from load_admin_data "
              "--tree. Load the demo into an empty database.") % {"codes": ", ".join(taken)},
            "codes_taken",
        )
    method = resolve_write_method(write_method)
    report.write_method = method
    with transaction.atomic():
        writer = TreeWriter(seed, report, method)
        ministry = Unit.objects.filter(code=MINISTRY_CODE).first()
        ministry_created = ministry is None
        if ministry_created:
            ministry = writer.units(None, [Node(code=MINISTRY_CODE, name=MINISTRY_NAME,
                                                short_name=MINISTRY_SHORT_NAME, kind=Unit.Kind.MINISTRY,
                                                address="35 Đại Cồ Việt, Hai Bà Trưng, Hà Nội",
                                                lat=21.0065, lon=105.8470)])[0]
        department_units = writer.units(ministry, departments())
        for province, department in zip(PROVINCES_2023, department_units, strict=True):
            generating = time.perf_counter()
            offices = department_subtree(seed, size, province, scale)
            report.units_seconds += time.perf_counter() - generating
            writer.units(department, offices)
            if progress:
                progress(f"{department.short_name}: {report.units_total} units, {report.people_total} people")
        writer.units(ministry, universities(seed))
        flushing = time.perf_counter()
        writer.flush()
        report.people_seconds += time.perf_counter() - flushing
        # Bulk rows carry no audit entry each: one summary entry records the whole load.
        audit.record(None, "demo.loaded", object_type="orgs.unit", object_id=ministry.pk,
                     object_repr=f"demo {size} seed {seed}", unit_path=ministry.path,
                     after={**report.as_dict(), "ministry_created": ministry_created})
        if accounts:
            report.accounts = ensure_accounts(seed)
        committing = time.perf_counter()
    # PostgreSQL checks the deferred foreign keys of every row here, not at each insert.
    report.commit_seconds = time.perf_counter() - committing
    if connection.vendor == "postgresql":
        # Until autovacuum passes, the planner would plan the first queries on a 1.6-million-row
        # table from the statistics of an empty one.
        with connection.cursor() as cursor:
            quote = connection.ops.quote_name
            cursor.execute(f"ANALYZE {quote(Unit._meta.db_table)}, {quote(Person._meta.db_table)}")
    report.seconds = time.perf_counter() - started
    return report


# --- reset ------------------------------------------------------------------------------------
def reset_demo() -> dict:
    """Delete what the demo loader made: its accounts, people and units, deepest units first.

    The ministry goes too when the demo created it and nothing else hangs below it.
    """
    User = get_user_model()
    state = loaded() or {}
    counts = Counter()
    with transaction.atomic():
        usernames = [a[0] for a in ACCOUNTS]
        counts["accounts"] = User.objects.filter(username__in=usernames).count()
        User.objects.filter(username__in=usernames).delete()
        tops = list(Unit.objects.filter(code__in=[*DEPARTMENT_CODES, *UNIVERSITY_CODES]))
        for top in tops:
            # One DELETE per subtree while nothing else refers to people; Django collects the
            # dependants instead once another module does.
            counts["people"] += services.people_in(top).delete()[0]
        ranges = [top.subtree_bounds() for top in tops]
        if ranges:
            from django.db.models import Max, Q

            within = Q()
            for low, high in ranges:
                within |= Q(path__gte=low, path__lt=high)
            deepest = Unit.objects.filter(within).aggregate(d=Max("depth"))["d"] or 0
            for depth in range(deepest, 0, -1):
                _n, by_model = Unit.objects.filter(within, depth=depth).delete()
                counts["units"] += by_model.get(Unit._meta.label, 0)
        ministry = Unit.objects.filter(code=MINISTRY_CODE).first()
        if ministry is not None and state.get("ministry_created") and not ministry.children.exists():
            ministry.delete()
            counts["units"] += 1
        if counts["units"] or counts["accounts"]:
            audit.record(None, "demo.reset", object_type="orgs.unit", object_repr="demo", after=dict(counts))
    return dict(counts)
