"""Waiting in a test for something another thread or process makes true, with a bound."""

import time


def wait_for(check, timeout: float, what: str, every: float = 0.1) -> None:
    """Return once ``check()`` is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what} ({timeout} s)")
