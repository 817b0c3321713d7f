"""Writing the audit log. Every service that changes state calls :func:`record`."""

import datetime
import decimal

from django.db import models

from .models import AuditEntry


def snapshot(obj: models.Model, fields=None) -> dict:
    """Return a JSON-safe dict of a model instance's concrete fields (or the named ones)."""
    data = {}
    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields and field.attname not in fields:
            continue
        value = field.value_from_object(obj)
        if isinstance(value, datetime.datetime | datetime.date | datetime.time):
            value = value.isoformat()
        elif isinstance(value, decimal.Decimal):
            value = str(value)
        data[field.attname if field.is_relation else field.name] = value
    return data


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Keep only the keys whose values differ, so an entry shows what changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(actor, action: str, obj=None, *, before=None, after=None, unit_path: str = "",
           object_type: str = "", object_id="", object_repr: str = "", ip=None) -> AuditEntry:
    """Append one audit entry; call it inside the transaction that makes the change."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:300]
        unit_path = unit_path or getattr(obj, "path", "") or getattr(getattr(obj, "unit", None), "path", "")
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr[:300],
        unit_path=unit_path or "",
        before=before,
        after=after,
        ip=ip,
    )


def build(actor, action: str, **kwargs) -> AuditEntry:
    """Return an unsaved entry, for bulk_create by imports that change thousands of rows."""
    return AuditEntry(actor=actor if getattr(actor, "is_authenticated", False) else None,
                      action=action, **kwargs)


def record_changes(actor, action: str, obj, before: dict, fields, **kwargs) -> AuditEntry | None:
    """Record what an edit changed of ``fields`` since the snapshot ``before``; nothing if it changed nothing."""
    b, a = changed(before, snapshot(obj, fields))
    return record(actor, action, obj, before=b, after=a, **kwargs) if a else None
