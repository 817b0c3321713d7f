"""Statements PostgreSQL plans once per connection: the hot paths' fixed SQL (a device token's look-up,
a check-in's context and write).

Django's cursors bind parameters on the client: each statement's text carries its values, so
PostgreSQL parses and plans it again every time. For a check-in's context statement (eight joins)
the plan cost more than running it (~3 ms of planning against ~1.5 ms of execution: about 4 of the
7 ms of database CPU a single check-in cost). :func:`cursor` is a Django cursor (logged like any
other: ``CaptureQueriesContext`` and ``count_queries`` still see its statements) whose parameters are
sent apart from the text (server-side binding), so psycopg prepares the statement on its first use
on a connection and PostgreSQL reuses the plan after that. Only cursors made here are prepared:
Django's own cursors bind on the client and psycopg never prepares them.

Use it only for statements whose text is fixed (parameters as ``%s``, arrays for lists), or the
connection's cache of prepared statements (psycopg's, 100 per connection) only churns. Not behind a
transaction-pooling PgBouncer older than 1.21 (the product connects to PostgreSQL directly, through
its own pool). Elsewhere than PostgreSQL, the ordinary cursor.
"""

from contextlib import contextmanager

from django.db import connection

# psycopg prepares a statement once it has run this many times on a connection (0: at its first).
PREPARE_AFTER = 0


_CLASS = []


def _cursor_class():
    """Django's server-binding cursor, which also remembers a prepared statement's text: Django's query log
    (``connection.queries``, ``CaptureQueriesContext``) reads it there, as for any other statement (the
    text with ``$1``… in place of the values)."""
    if not _CLASS:
        from django.db.backends.postgresql.base import ServerBindingCursor

        class PreparedCursor(ServerBindingCursor):
            def _send_query_prepared(self, name, pgq, *, binary=None):
                self._query = pgq
                return super()._send_query_prepared(name, pgq, binary=binary)

        _CLASS.append(PreparedCursor)
    return _CLASS[0]


@contextmanager
def cursor():
    """A cursor whose statements are prepared (PostgreSQL) or the ordinary one (elsewhere)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as c:
            yield c
        return
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django leaves it off; its client-binding cursors never prepare anyway
        raw.prepare_threshold = PREPARE_AFTER
    with connection.wrap_database_errors:
        wrapped = connection._prepare_cursor(_cursor_class()(raw))
    with wrapped as c:
        yield c
