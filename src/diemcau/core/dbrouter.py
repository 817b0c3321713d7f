"""Reads that may come from the PostgreSQL streaming replica, and the router that sends them there.

With ``DATABASE_REPLICA_URL`` set, settings declare a ``replica`` database alias. Code that computes
what a board shows or what a report prints wraps its reads in :func:`reading_replica`; inside it the
router sends reads to ``replica``; writes always go to ``default`` (the primary), and so does every
read outside it and every read when no replica is configured. A replica lags the primary by a
fraction of a second; that is why only boards and reports read from it, never a check or a form.

The choice is a context variable, so it follows the request's thread and an asyncio task (a
consumer's ``database_sync_to_async`` call copies the context into its thread).
"""

import contextvars
import functools
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

REPLICA = "replica"
_reading_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("diemcau_reading_replica", default=False)


def replica_configured() -> bool:
    """Whether this installation has a replica alias (``DATABASE_REPLICA_URL``)."""
    return REPLICA in connections.settings


@contextmanager
def _replica_reads() -> Iterator[None]:
    token = _reading_replica.set(True)
    try:
        yield
    finally:
        _reading_replica.reset(token)


def reading_replica(func=None):
    """Send the reads inside to the replica, when one is configured: ``with reading_replica():``.

    Also a decorator (``@reading_replica``) for a function whose reads may all lag a little.
    """
    if func is None:
        return _replica_reads()

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _replica_reads():
            return func(*args, **kwargs)

    return wrapper


def read_alias() -> str:
    """The alias a read goes to here and now."""
    if _reading_replica.get() and replica_configured() and not connections["default"].in_atomic_block:
        return REPLICA
    return "default"


class ReplicaRouter:
    """``DATABASE_ROUTERS``: reads to the replica inside :func:`reading_replica`, writes to the primary.

    A read inside a transaction on the primary stays there (it must see what the transaction wrote,
    and may be taking row locks for it).
    """

    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: their rows are the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"  # the replica follows the primary's schema by streaming
