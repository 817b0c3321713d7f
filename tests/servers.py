"""Real server processes for tests: free loopback ports, a child's environment on the test
database, a private redis-server. One copy, used by every test that starts a process."""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.environment import missing

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process (server, worker) that uses this test run's database.

    PostgreSQL or a file SQLite test database (``DIEMCAU_SQLITE_TEST``); an in-memory SQLite
    database cannot be shared with another process, so the test is reported as missing a part.
    """
    from django.db import connection

    db = connection.settings_dict
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="diemcau.settings_test", PYTHONPATH=str(ROOT / "src"),
               DIEMCAU_JOBS="thread")
    if db["ENGINE"].endswith("postgresql"):
        env["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
                               f"{db['PORT'] or 5432}/{db['NAME']}")
    elif "memory" in str(db["NAME"]) or not str(db["NAME"]):
        missing("needs PostgreSQL or a file SQLite test database (DIEMCAU_SQLITE_TEST)")
    else:
        env.pop("DATABASE_URL", None)
        env["DIEMCAU_SQLITE"] = str(db["NAME"])
    env.update(extra)
    return env


@contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server on a free loopback port, without persistence; yields its URL."""
    server = shutil.which("redis-server")
    if not server:
        missing("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
