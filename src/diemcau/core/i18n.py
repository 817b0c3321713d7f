"""Text that must be Vietnamese whatever the interface language (official documents, exports that
officials exchange): a model's choice labels and lazy strings rendered through the ``vi`` catalogue,
so a label is written once, on the model, and never copied as a Vietnamese literal elsewhere."""

from django.utils import translation


def vietnamese(label) -> str:
    """A lazy label (a model choice's, a gettext_lazy string) as Vietnamese text."""
    with translation.override("vi"):
        return str(label)


def vietnamese_choices(choices) -> dict:
    """A model's ``choices`` as ``{value: Vietnamese label}``."""
    with translation.override("vi"):
        return {value: str(label) for value, label in choices}
