"""Run the same work in several threads at once, to test rules under concurrent requests."""

import contextvars
import threading

from django.db import connections


def race(n, work) -> list[Exception]:
    """Start ``work(i)`` in ``n`` threads released together; return the exceptions they raised."""
    barrier, errors = threading.Barrier(n), []

    def run(i, context):
        try:
            barrier.wait()
            context.run(work, i)  # the caller's active scope, as each request would have its own
        except Exception as exc:  # collected and returned to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, contextvars.copy_context())) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
