"""Official administrative data: today's provinces and communes, and the top of a real tree.

The source is the ``vietnam-provinces`` package (34 provinces and their communes since the 2025
reform). :func:`load` copies it into :class:`AdminArea` and, with ``tree=True``, creates the
ministry and one department per province, linked to its area. Running it again changes only what
the package changed; it never deletes an area, because units may still point at it.

The bulk helpers at the end (:func:`reserve_unit_ids`, :func:`new_unit`) write units whose ids,
and so whose paths, are known before the insert; the demo loader uses them too.
"""

import json
from dataclasses import dataclass, field
from decimal import Decimal

import vietnam_provinces
from django.db import connection, transaction
from django.utils import timezone

from diemcau.core import audit
from diemcau.core.vntext import fold, nfc
from diemcau.orgs.scoping import SYSTEM

from .models import AdminArea, Unit, path_segment

MINISTRY_CODE = "BGDDT"
MINISTRY_NAME = "Bộ Giáo dục và Đào tạo"
MINISTRY_SHORT_NAME = "Bộ GD&ĐT"
# Provinces whose bare name would mislead without "thành phố": Hồ Chí Minh is also a person's
# name, and Huế was long a city inside Thừa Thiên Huế province.
_KEEP_CITY_PREFIX = {"ho_chi_minh": "Thành phố Hồ Chí Minh", "hue": "thành phố Huế"}
_SHORT_CITY = {"ho_chi_minh": "TP. Hồ Chí Minh", "hue": "Huế"}
_PREFIXES = ("Thành phố ", "Tỉnh ")
BATCH_SIZE = 1000


@dataclass
class LoadCounts:
    """How many rows of one kind a load created, updated and left as they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class AdminDataReport:
    """What one run of :func:`load` did."""

    source: str
    provinces: LoadCounts = field(default_factory=LoadCounts)
    communes: LoadCounts = field(default_factory=LoadCounts)
    departments: LoadCounts | None = None
    ministry_created: bool = False
    # Units that hold a department's code but were not made by this loader (no link to that
    # province, e.g. the 2023 demo's SGD44 is Quảng Bình, today's is Quảng Trị): left alone.
    departments_skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = {
            "source": self.source,
            "provinces": self.provinces.as_dict(),
            "communes": self.communes.as_dict(),
        }
        if self.departments is not None:
            data["departments"] = self.departments.as_dict()
            data["ministry_created"] = self.ministry_created
            data["departments_skipped"] = self.departments_skipped
        return data


# --- the package's data -----------------------------------------------------------------------
def source_label() -> str:
    return f"vietnam-provinces {vietnam_provinces.__version__} ({vietnam_provinces.__data_version__})"


def official_divisions() -> list[dict]:
    """The package's provinces, each with its communes under ``wards``, names in NFC."""
    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as f:
        provinces = json.load(f)
    for p in provinces:
        p["name"] = nfc(p["name"])
        for w in p["wards"]:
            w["name"] = nfc(w["name"])
    return provinces


def province_code(code: int) -> str:
    return f"{int(code):02d}"


def commune_code(code: int) -> str:
    # Official commune codes have five digits, provinces two: the two never collide.
    return f"{int(code):05d}"


def department_code(code: int) -> str:
    return f"SGD{province_code(code)}"


def department_names(province: dict) -> tuple[str, str]:
    """The department's full and short name for a province of the package."""
    name = province["name"]
    place = _KEEP_CITY_PREFIX.get(province.get("codename", ""))
    if place is None:
        place = name
        for prefix in _PREFIXES:
            if place.startswith(prefix):
                place = place[len(prefix):]
                break
    short = _SHORT_CITY.get(province.get("codename", ""), place)
    return f"Sở Giáo dục và Đào tạo {place}", f"Sở GD&ĐT {short}"


# --- loading ----------------------------------------------------------------------------------
def load(actor=SYSTEM, *, tree: bool = False) -> AdminDataReport:
    """Copy the official provinces and communes into AdminArea; with ``tree``, the departments too.

    Idempotent: a second run creates nothing and updates only names the package changed.
    One audit entry summarises the whole run.
    """
    provinces = official_divisions()
    report = AdminDataReport(source=source_label())
    with transaction.atomic():
        province_ids = _load_areas(
            [(province_code(p["code"]), p["name"], p["division_type"], None) for p in provinces],
            AdminArea.Level.PROVINCE, report.provinces,
        )
        _load_areas(
            [
                (commune_code(w["code"]), w["name"], w["division_type"],
                 province_ids[province_code(p["code"])])
                for p in provinces for w in p["wards"]
            ],
            AdminArea.Level.COMMUNE, report.communes,
        )
        if tree:
            _load_departments(provinces, province_ids, report)
        audit.record(
            None if actor is SYSTEM else actor, "admin_data.loaded",
            object_type="orgs.adminarea", object_repr=report.source, after=report.as_dict(),
        )
    return report


def _load_areas(rows, level: str, counts: LoadCounts) -> dict[str, int]:
    """Insert new areas and update changed ones; return code → id for the whole level."""
    existing = {a.code: a for a in AdminArea.objects.filter(code__in=[r[0] for r in rows])}
    new, changed = [], []
    for code, name, division_type, parent_id in rows:
        area = existing.get(code)
        if area is None:
            new.append(AdminArea(code=code, name=name, name_search=fold(name), division_type=division_type,
                                 level=level, parent_id=parent_id))
            continue
        wanted = (name, division_type, level, parent_id)
        if (area.name, area.division_type, area.level, area.parent_id) == wanted:
            counts.unchanged += 1
            continue
        area.name, area.division_type, area.level, area.parent_id = wanted
        area.name_search = fold(name)
        changed.append(area)
    AdminArea.objects.bulk_create(new, batch_size=BATCH_SIZE)
    AdminArea.objects.bulk_update(changed, ["name", "name_search", "division_type", "level", "parent"],
                                  batch_size=BATCH_SIZE)
    counts.created += len(new)
    counts.updated += len(changed)
    return dict(AdminArea.objects.filter(level=level).values_list("code", "id"))


def _load_departments(provinces: list[dict], province_ids: dict[str, int], report: AdminDataReport):
    counts = report.departments = LoadCounts()
    ministry = Unit.objects.filter(code=MINISTRY_CODE).first()
    if ministry is None:
        ministry = new_unit(reserve_unit_ids(1)[0], None, code=MINISTRY_CODE, name=MINISTRY_NAME,
                            short_name=MINISTRY_SHORT_NAME, kind=Unit.Kind.MINISTRY)
        ministry.save(force_insert=True)
        report.ministry_created = True
    codes = [department_code(p["code"]) for p in provinces]
    existing = {u.code: u for u in Unit.objects.filter(code__in=codes)}
    wanted = []
    for p in provinces:
        name, short = department_names(p)
        wanted.append((department_code(p["code"]), name, short, province_ids[province_code(p["code"])]))
    missing = [w for w in wanted if w[0] not in existing]
    ids = reserve_unit_ids(len(missing))
    Unit.objects.bulk_create(
        [
            new_unit(pk, ministry, code=code, name=name, short_name=short, kind=Unit.Kind.DEPARTMENT,
                     admin_area_id=area_id)
            for pk, (code, name, short, area_id) in zip(ids, missing, strict=True)
        ],
        batch_size=BATCH_SIZE,
    )
    counts.created = len(missing)
    changed, now = [], timezone.now()
    for code, name, short, area_id in wanted:
        unit = existing.get(code)
        if unit is None:
            continue
        if unit.admin_area_id != area_id:
            report.departments_skipped.append(code)
            continue
        if (unit.name, unit.short_name, unit.admin_area_id) == (name, short, area_id):
            counts.unchanged += 1
            continue
        unit.name, unit.short_name, unit.admin_area_id = name, short, area_id
        unit.name_search = unit_search_key(name, short, code)
        unit.updated_at = now  # bulk_update skips auto_now
        changed.append(unit)
    Unit.objects.bulk_update(changed, ["name", "short_name", "admin_area", "name_search", "updated_at"])
    counts.updated = len(changed)


# --- bulk writing of the tree (shared with the demo loader) ----------------------------------
def reserve_unit_ids(n: int) -> list[int]:
    """Take ``n`` fresh unit ids before inserting, so each path is known at insert time.

    PostgreSQL hands them out from the table's own sequence, safe beside concurrent writers.
    SQLite has no sequence to draw from: call this inside the loading transaction, whose
    IMMEDIATE lock keeps other writers out until the reserved rows are inserted.
    """
    if n <= 0:
        return []
    table = Unit._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
            )
            return sorted(row[0] for row in cursor.fetchall())
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            # AUTOINCREMENT never reuses the id of a deleted row; neither do we.
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            top = max(top, row[0] if row else 0)
    return list(range(top + 1, top + 1 + n))


def unit_search_key(name: str, short_name: str, code: str) -> str:
    """The search key Unit.save() would compute; bulk inserts bypass save()."""
    return fold(f"{name} {short_name} {code}")


def new_unit(pk: int, parent, *, code: str, name: str, kind: str, short_name: str = "",
             latitude: float | None = None, longitude: float | None = None, **fields) -> Unit:
    """An unsaved Unit with its id, path and depth set under ``parent`` (a Unit, or None for a root)."""
    return Unit(
        id=pk,
        parent_id=parent.pk if parent is not None else None,
        path=(parent.path if parent is not None else "") + path_segment(pk),
        depth=parent.depth + 1 if parent is not None else 0,
        code=code, name=name, short_name=short_name, kind=kind,
        name_search=unit_search_key(name, short_name, code),
        latitude=None if latitude is None else Decimal(f"{latitude:.6f}"),
        longitude=None if longitude is None else Decimal(f"{longitude:.6f}"),
        **fields,
    )
