"""The API's validation errors (django-ninja's 422) told in the user's language.

Pydantic names each problem with a stable ``type`` (``missing``, ``int_parsing``...); the message
is ours, so a script gets the same ``{"code", "message", "details"}`` shape as a business error and
a person reading it gets Vietnamese.
"""

from django.utils.translation import gettext as _


def _messages() -> dict[str, str]:
    return {
        "missing": _("This field is required."),
        "int_parsing": _("Enter a whole number."),
        "int_type": _("Enter a whole number."),
        "float_parsing": _("Enter a number."),
        "float_type": _("Enter a number."),
        "bool_parsing": _("Enter true or false."),
        "bool_type": _("Enter true or false."),
        "string_type": _("Enter text."),
        "string_too_short": _("The text is too short."),
        "string_too_long": _("The text is too long."),
        "date_parsing": _("Enter a date (YYYY-MM-DD)."),
        "date_from_datetime_parsing": _("Enter a date (YYYY-MM-DD)."),
        "datetime_parsing": _("Enter a date and time (ISO 8601)."),
        "datetime_from_date_parsing": _("Enter a date and time (ISO 8601)."),
        "uuid_parsing": _("Enter a valid identifier (UUID)."),
        "enum": _("Choose one of the allowed values."),
        "literal_error": _("Choose one of the allowed values."),
        "list_type": _("Enter a list."),
        "dict_type": _("Enter an object."),
        "model_attributes_type": _("Enter an object."),
        "json_invalid": _("The body is not valid JSON."),
        "greater_than": _("The value is too small."),
        "greater_than_equal": _("The value is too small."),
        "less_than": _("The value is too large."),
        "less_than_equal": _("The value is too large."),
        "too_short": _("Too few items."),
        "too_long": _("Too many items."),
        "extra_forbidden": _("This field is not accepted."),
    }


def validation_detail(error: dict) -> dict:
    """One problem of a request: where (``body.name``), its type, and what to do, in words."""
    loc = [str(part) for part in error.get("loc", ())]
    # ninja prefixes the schema's parameter name ("body", "payload"): the field is what follows.
    field = ".".join(loc[2:] if len(loc) > 2 and loc[0] in {"body", "query", "path", "form"} else loc[1:] or loc)
    kind = error.get("type", "")
    return {"field": field, "type": kind, "location": loc[0] if loc else "",
            "message": _messages().get(kind, _("This value is not valid."))}
