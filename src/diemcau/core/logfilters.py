"""Logging filters, loaded by ``LOGGING`` before the apps are ready (so: no Django imports)."""

import logging


class ExpectedRefusalFilter(logging.Filter):
    """Keep a refusal the product expects to one log line: no traceback below a 500.

    Django logs ``PermissionDenied`` (403) with its traceback on ``django.request``; a clerk who
    clicks a link outside their role is not an error of the program.
    """

    def filter(self, record):
        if getattr(record, "status_code", 500) < 500 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
