"""Editing a record's own fields, as every ``update_*`` service does it."""

from django.utils.translation import gettext as _

from .errors import DomainError


def set_fields(obj, fields: dict, allowed) -> None:
    """Set ``fields`` on ``obj``; a name outside ``allowed`` is refused (``bad_field``)."""
    for name, value in fields.items():
        if name not in allowed:
            raise DomainError(_("Field %(f)s cannot be changed here.") % {"f": name}, "bad_field")
        setattr(obj, name, value)
