"""The one error type that services raise: a human message and a stable code."""


class DomainError(Exception):
    """A rule of the domain refused an operation.

    ``message`` is shown to the user (already translated); ``code`` is stable for APIs and tests;
    ``details`` carries structured data, e.g. the row/column problems of an import.
    """

    def __init__(self, message, code: str, details=None):
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
        self.details = details or []

    def __str__(self):
        return self.message


class ScopeError(DomainError):
    """The user acted outside the subtree they are allowed to see or change."""

    def __init__(self, message=None, code: str = "out_of_scope"):
        from django.utils.translation import gettext

        super().__init__(message or gettext("You do not have access to this unit."), code)
