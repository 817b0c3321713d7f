"""Real server processes for tests: free loopback ports, a child's environment on the test
database, a private redis-server, Celery workers. One copy, used by every test that starts a process."""

import os
import shutil
import signal
import socket
import subprocess
import sys
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


# The ASGI server the product runs (``make demo``, systemd, the cluster; chosen in docs/BENCHMARKS.md,
# "ASGI server"): tests that start the real stack start this one.
ASGI_SERVER = "uvicorn"


def asgi_command(port: int) -> list[str]:
    """The command that serves diemcau.asgi on loopback ``port`` with the product's ASGI server."""
    return [sys.executable, "-m", "uvicorn", "diemcau.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--ws", "websockets", "--lifespan", "off",
            "--no-access-log", "--no-proxy-headers", "--log-level", "warning"]


def start_asgi(env: dict, port: int, log, ready_path: str = "/healthz", timeout: float = 60) -> subprocess.Popen:
    """Start :func:`asgi_command` with ``env``, output to ``log``; return once ``ready_path`` answers."""
    import urllib.request

    proc = subprocess.Popen(asgi_command(port), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=5).read()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{ASGI_SERVER} did not start on port {port}; see its log") from None
            time.sleep(0.2)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process (server, worker) that uses this test run's database.

    PostgreSQL or a file SQLite test database (``DIEMCAU_SQLITE_TEST``); an in-memory SQLite
    database cannot be shared with another process, so the test is reported as missing a part.
    """
    from django.db import connection

    db = connection.settings_dict
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="diemcau.settings_test", PYTHONPATH=str(ROOT / "src"),
               CELERY_TASK_ALWAYS_EAGER="1")  # a server runs its jobs inline, unless a worker is asked for
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


@contextmanager
def redis_socket_server(folder: Path) -> Iterator[Path]:
    """A private redis-server on a unix socket in ``folder`` (no TCP port, no persistence); yields the socket."""
    server = shutil.which("redis-server")
    if not server:
        missing("redis-server is not installed")
    sock = folder / "redis.sock"
    proc = subprocess.Popen([server, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                             "--save", "", "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(sock))
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"redis-server did not start on {sock}") from None
            time.sleep(0.05)
    try:
        yield sock
    finally:
        proc.terminate()
        proc.wait(10)


class CeleryWorkers:
    """Real ``celery -A diemcau worker`` processes on the test database and a private broker.

    Each worker is one process group (the main process and its one pool process), so a test can
    kill it as a machine would lose it (:meth:`kill`). ``tests/core/task_kinds.py`` is loaded in
    every worker: the job kinds the tests use. Short lease and visibility timeout, so a killed run
    is noticed in seconds.
    """

    LEASE, VISIBILITY = 2, 5

    def __init__(self, folder: Path, broker_url: str):
        self.folder, self.broker_url = folder, broker_url
        self.gates = folder / "gates"
        self.gates.mkdir(exist_ok=True)
        self.procs: list[subprocess.Popen] = []

    def env(self) -> dict[str, str]:
        return child_env(PYTHONPATH=f"{ROOT / 'src'}:{ROOT}", CELERY_BROKER_URL=self.broker_url,
                         CELERY_TASK_ALWAYS_EAGER="0", CELERY_WORKER_CONCURRENCY="1",
                         CELERY_VISIBILITY_TIMEOUT=str(self.VISIBILITY), DIEMCAU_TASK_LEASE_SECONDS=str(self.LEASE),
                         DIEMCAU_TASK_HEARTBEAT_SECONDS="0.3", DIEMCAU_TEST_GATES=str(self.gates))

    @property
    def running(self) -> subprocess.Popen | None:
        alive = [p for p in self.procs if p.poll() is None]
        return alive[-1] if alive else None

    def start(self) -> subprocess.Popen:
        """Start a worker and return once it takes messages."""
        n = len(self.procs)
        log = self.folder / f"worker-{n}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "diemcau", "worker", "-n", f"test{n}@%h", "-l", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--include", "tests.core.task_kinds"],
            cwd=ROOT, env=self.env(), stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + 120
        while b" ready." not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{log.read_text()}")
            time.sleep(0.05)
        return proc

    def ensure_running(self) -> subprocess.Popen:
        return self.running or self.start()

    def pool_processes(self, proc: subprocess.Popen) -> list[int]:
        """The pids of a worker's pool processes (its children)."""
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the worker's whole process group (main process and pool), as a lost machine."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def log(self, proc: subprocess.Popen) -> str:
        return (self.folder / f"worker-{self.procs.index(proc)}.log").read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
