"""Submitting a form to a service, as every create/edit page does it."""

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages

from .errors import DomainError

T = TypeVar("T")


def submit(request, form, save: Callable[[dict], T], success: str = "", *, field: str | None = None) -> T | None:
    """For a posted, valid ``form``: ``save(cleaned_data)``, flash ``success`` and return what it returned.

    A refusal (:class:`DomainError`) goes on the form (on ``field``, else the whole form) and, like a
    page that is only shown or a form with errors, answers ``None``: the caller renders the page.
    ``save`` must return something (the object it created or changed).
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        saved = save(form.cleaned_data)
    except DomainError as exc:
        form.add_error(field, exc.message)
        return None
    if success:
        messages.success(request, success)
    return saved


def attempt(request, action: Callable[[], object], success: str = "") -> bool:
    """Run ``action()`` for a button that posts no form: a refusal is flashed as an error, else ``success``.

    True when the action went through.
    """
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.message)
        return False
    if success:
        messages.success(request, success)
    return True
