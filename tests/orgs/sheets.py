"""Sheets for the import tests: workbooks and CSV files built from rows, and plans read from them."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from openpyxl import Workbook

from diemcau.core.models import AuditEntry
from diemcau.orgs import columns, import_plan, importing
from diemcau.orgs.models import ImportBatch, Person, Unit

UNITS, PEOPLE = ImportBatch.Kind.UNITS, ImportBatch.Kind.PEOPLE
UNIT_HEAD = columns.headers(UNITS)
PEOPLE_HEAD = columns.headers(PEOPLE)



def xlsx(rows, *, title=None) -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv(rows, *, bom=False) -> bytes:
    text = "\n".join(",".join(_quote(v) for v in row) for row in rows) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def _quote(value) -> str:
    value = "" if value is None else str(value)
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def unit_row(code, name, kind="Cơ sở giáo dục", parent="PGD_BAVI", **extra):
    cells = {"code": code, "name": name, "kind": kind, "parent_code": parent, "short_name": "", "levels": "",
             "commune": "", "address": "", "latitude": "", "longitude": "", "managers_count": "",
             "teachers_count": "", "staff_count": "", **extra}
    return [cells[c.key] for c in columns.UNIT_COLUMNS]


def person_row(code, name, unit="TH_TAYDANG_A", category="Giáo viên", position="", phone="", email=""):
    return [code, name, unit, category, position, phone, email]


def plan(user, kind, data, filename="file.xlsx"):
    sheet = importing.read_sheet(kind, data, filename)
    return (import_plan.plan_units if kind == UNITS else import_plan.plan_people)(user, sheet)


def state():
    """Everything an import could touch, to show that a refused one wrote nothing."""
    return (
        list(Unit.objects.order_by("pk").values_list("pk", "code", "name", "path", "parent_id", "kind",
                                                      "teachers_count")),
        list(Person.objects.order_by("pk").values_list("pk", "code", "full_name", "unit_id", "phone")),
        AuditEntry.objects.count(),
    )


def only_problem(p, row, letter, label):
    """The plan has problems, one of them at ``row`` in column ``letter`` (``label``), said so in words."""
    assert p.problems, "expected problems"
    found = [x for x in p.problems if x["row"] == row and x["column"] == f"{letter} ({label})"]
    assert found, p.problems
    message = found[0]["message"]
    assert str(row) in message and f"{letter} ({label})" in message
    return found[0]


def apply(user, p):
    with transaction.atomic():
        return importing.apply_plan(user, p)


def upload(data, name="don-vi.csv"):
    """An uploaded file as a view receives it."""
    return SimpleUploadedFile(name, data)
