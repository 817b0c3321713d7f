"""Run the same work in several threads at once, to test rules under concurrent requests."""

import threading

from django.db import connections


def race(n, work) -> list[Exception]:
    """Start ``work(i)`` in ``n`` threads released together; return the exceptions they raised."""
    barrier, errors = threading.Barrier(n), []

    def run(i):
        try:
            barrier.wait()
            work(i)
        except Exception as exc:  # collected and returned to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
