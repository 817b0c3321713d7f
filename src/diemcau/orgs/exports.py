"""Exports of units and people as .xlsx, the empty templates to fill in, and a batch's problems as a workbook.
"""

import decimal

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.excel import build_workbook
from diemcau.core.vntext import people_order
from diemcau.orgs.scoping import scope_for

from . import services
from .columns import COLUMNS, PEOPLE_COLUMNS, UNIT_COLUMNS, headers, person_cells, unit_cells
from .import_plan import actor_scope
from .models import EducationLevel, ImportBatch, Person, Unit

# --- exports and templates --------------------------------------------------------------------
EXPORT_MAX_ROWS = 100_000


def _heading(unit: Unit | None, title: str) -> list[str]:
    """The administrative heading: the unit, the title, the date (dd/mm/yyyy)."""
    lines = [unit.name.upper()] if unit is not None else []
    lines += [title, _("Date: %(date)s") % {"date": timezone.localdate().strftime("%d/%m/%Y")}]
    return lines


def _widths(kind: str) -> list[int]:
    return [max(12, min(40, len(c.label) + 6)) if c.key not in ("name", "full_name", "address") else 40
            for c in COLUMNS[kind]]


def export_units(user, unit: Unit) -> bytes:
    """The units of ``unit``'s subtree that the user may see, in the import's column layout."""
    qs = scope_for(user).filter(services.subtree(unit)).annotate(parent_code=F("parent__code")).order_by("path")
    if qs.count() > EXPORT_MAX_ROWS:
        raise DomainError(_("The list has more than %(n)d rows: export a smaller part of the tree.")
                          % {"n": EXPORT_MAX_ROWS}, "too_many_rows")
    keys = [c.key for c in UNIT_COLUMNS]
    rows = ([cells[k] for k in keys] for cells in (unit_cells(u, u.parent_code) for u in qs.iterator(2000)))
    return build_workbook(_("Units"), headers(ImportBatch.Kind.UNITS), rows,
                          heading=_heading(unit, _("LIST OF UNITS")), widths=_widths(ImportBatch.Kind.UNITS))


def export_people(user, unit: Unit, q: str = "", category: str = "") -> bytes:
    """The people of ``unit``'s subtree matching the list's filters, in the import's column layout.

    Only those who may see the people's contacts there export the list (organisers of the subtree,
    the head of the institution); each export is written to the audit log with its row count.
    """
    if not services.can_see_contacts(user, unit):
        raise ScopeError(_("Only the organisers of this unit and the head of the institution may export "
                           "its list of people."), "export_not_allowed")
    qs = services.search_people(user, q, within=unit).select_related("unit")
    if category in Person.Category.values:
        qs = qs.filter(category=category)
    qs = qs.order_by("unit__path", "category", *people_order())
    total = qs.count()
    if total > EXPORT_MAX_ROWS:
        raise DomainError(_("The list has more than %(n)d rows: export a smaller part of the tree.")
                          % {"n": EXPORT_MAX_ROWS}, "too_many_rows")
    keys = [c.key for c in PEOPLE_COLUMNS]
    rows = ([cells[k] for k in keys] for cells in (person_cells(p, p.unit.code) for p in qs.iterator(2000)))
    content = build_workbook(_("People"), headers(ImportBatch.Kind.PEOPLE), rows,
                             heading=_heading(unit, _("LIST OF MANAGERS, TEACHERS AND STAFF")),
                             widths=_widths(ImportBatch.Kind.PEOPLE))
    filters = {k: v for k, v in (("q", q), ("category", category)) if v}
    services.record_personal_export(user, "orgs.people", unit, rows=total, filters=filters, contacts=True)
    return content


def template_workbook(user, kind: str) -> bytes:
    """An empty sheet of ``kind`` to fill in: the headers and one example row."""
    scope = actor_scope(user)
    root = scope.roots("write" if kind == ImportBatch.Kind.UNITS else "people").order_by("depth").first() \
        if scope is not None else None
    above = root.code if root is not None else "PGD_BAVI"
    if kind == ImportBatch.Kind.UNITS:
        example = Unit(code="TH_VIDU_01", name="Trường Tiểu học Ví Dụ", kind=Unit.Kind.INSTITUTION,
                       short_name="TH Ví Dụ", levels=EducationLevel.PRIMARY, commune="Xã Tây Đằng",
                       address="Thôn 1, xã Tây Đằng", latitude=decimal.Decimal("21.200000"),
                       longitude=decimal.Decimal("105.420000"), managers_count=3, teachers_count=30,
                       staff_count=5)
        cells = unit_cells(example, above)
        title = _("LIST OF UNITS")
    else:
        example = Person(code="GV0001", full_name="Nguyễn Thị Hoa", category=Person.Category.TEACHER,
                         position="Giáo viên chủ nhiệm", phone="0912345678", email="hoa.nt@example.edu.vn")
        cells = person_cells(example, above)
        title = _("LIST OF MANAGERS, TEACHERS AND STAFF")
    heading = [title, _("Columns marked * are required. The row under the header is an example: replace "
                        "it with your data or delete it.")]
    return build_workbook(title, headers(kind), [[cells[c.key] for c in COLUMNS[kind]]], heading=heading,
                          widths=_widths(kind))


def problems_workbook(batch: ImportBatch) -> bytes:
    """The problems a batch's preview (or its refused application) found, by row and column."""
    problems = batch.summary.get("problems") or batch.result.get("problems") or []
    rows = ([p.get("row"), p.get("column", ""), p.get("problem") or p.get("message", "")] for p in problems)
    return build_workbook(_("Problems"), [_("Row"), _("Column"), _("Problem")], rows,
                          heading=[batch.filename], widths=[8, 30, 90])
