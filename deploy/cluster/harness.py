#!/usr/bin/env python3
"""The cluster harness: diemcau on several "hosts" of one Linux machine, each a network namespace.

Run as root from the repository root (``make cluster`` / ``make cluster-down``; tests/cluster and
bench/cluster.py drive it through :class:`Cluster`):

    python deploy/cluster/harness.py up [--scenario demo|none]   # tears down leftovers first
    python deploy/cluster/harness.py down                        # every namespace, veth, the bridge
    python deploy/cluster/harness.py status
    python deploy/cluster/harness.py kill HOST                   # every process in HOST's namespace
    python deploy/cluster/harness.py start HOST                  # HOST's services again
    python deploy/cluster/harness.py restart SERVICE [--pause S] # redis | postgres

Hosts (namespace ``dc-<host>``, a veth pair to the bridge ``dcbr0``; the bridge itself is
10.210.0.1, so this machine's browser reaches the proxy; no route out, nothing leaves the machine):

    db          .2    PostgreSQL 15 (a private cluster under var/cluster/db, user postgres) + redis-server
    proxy       .3    nginx from deploy/nginx/diemcau.conf.template (80, and 443 with a self-signed cert)
    app1, app2  .11   the ASGI server (2 worker processes) and the task worker
                .12
    media-root  .21   the day's live runtime (``run_live``: the root Janus, every conference of the day)
    media-edge1 .22   a media host's agent (``python -m diemcau.live.node_agent``): its edge Janus, registered
    media-edge2 .23   with the control plane through nginx and the app hosts
    media-root2 .24   a standby runtime, waiting on the runtime's lease (takes over when .21 dies)
    clients     .100  the load generator and Chromium (kiosks: deploy/cluster/kiosks.py)

The media plane is started on demand (``media [--conference N]``, or :meth:`Cluster.start_media`), not by
``up``: the media hosts are empty until then. ``kill media-edge1`` / ``kill media-root`` are the
faults of issue 13 (bench/cluster_media.py, tests/cluster/test_media_cluster.py).

``DIEMCAU_CLUSTER_SUBNET``, ``DIEMCAU_CLUSTER_BRIDGE`` and ``DIEMCAU_CLUSTER_PREFIX`` (default
``10.210.0``, ``dcbr0``, ``dc-``) give a harness a network of its own, so two can run at once.

Every process binds only its host's address; its pid and log are under ``var/cluster/<host>/``.
App hosts get their configuration only from the environment, written once per ``up`` to
``var/cluster/diemcau.env`` (the names of ``deploy/diemcau.env``). Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUBNET = os.environ.get("DIEMCAU_CLUSTER_SUBNET", "10.210.0")
BRIDGE = os.environ.get("DIEMCAU_CLUSTER_BRIDGE", "dcbr0")
NS_PREFIX = os.environ.get("DIEMCAU_CLUSTER_PREFIX", "dc-")
HOSTS = {"db": 2, "proxy": 3, "app1": 11, "app2": 12, "media-root": 21, "media-edge1": 22,
         "media-edge2": 23, "media-root2": 24, "clients": 100}
MEDIA_EDGES = ("media-edge1", "media-edge2")
RUNTIME_HOSTS = ("media-root", "media-root2")  # the active runtime's host first, then the standby's
ROOT_PORT = 18000  # the root Janus's port block on a runtime host (docs/live-media.md, "A node")
EDGE_PORT = 19000  # an edge Janus's port block on a media host
APP_HOSTS = ("app1", "app2")
APP_PORT = 8000
PG_PORT = 5432
REDIS_PORT = 6379
PG_BIN = Path(os.environ.get("DIEMCAU_CLUSTER_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVICES = {"db": ("postgres", "redis"), "proxy": ("nginx",), "app1": ("asgi", "worker"),
            "app2": ("asgi", "worker"), "media-edge1": ("agent",), "media-edge2": ("agent",),
            "media-root": ("runtime",), "media-root2": ("runtime",)}
# The ASGI server and the task worker of an app host: one function each (asgi_command, worker_command).
ASGI_WORKERS = 2


def address(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


def namespace(host: str) -> str:
    return f"{NS_PREFIX}{host}"


def log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def run(*argv: str, check: bool = True, quiet: bool = False, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    if not quiet and result.returncode != 0:
        log(f"(ignored) {' '.join(argv)}: {result.stderr.strip()}")
    return result


def available() -> str:
    """Why the harness cannot run here ('' when it can): root and ``ip netns`` are needed."""
    if os.geteuid() != 0:
        return "the cluster harness needs root (network namespaces)"
    if shutil.which("ip") is None:
        return "the cluster harness needs iproute2 (ip netns)"
    probe = f"{NS_PREFIX}probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns is not available here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    for tool in ("nginx", "redis-server", "openssl"):
        if shutil.which(tool) is None:
            return f"the cluster harness needs {tool}"
    if not (PG_BIN / "initdb").exists():
        return f"the cluster harness needs PostgreSQL 15 ({PG_BIN}/initdb)"
    return ""


# --- the network ------------------------------------------------------------------------------
def _veth(host: str) -> str:
    """This machine's end of ``host``'s link: the prefix and the host's number (an interface name is at
    most 15 characters; a host's name cut there would give media-edge1 and media-edge2 the same one)."""
    return f"{NS_PREFIX.rstrip('-')}v{HOSTS[host]}"[:15]


def network_up() -> None:
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    for host in HOSTS:
        ns, veth = namespace(host), _veth(host)
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "link", "set", veth, "master", BRIDGE)
        run("ip", "link", "set", veth, "up")
        run("ip", "-n", ns, "addr", "add", f"{address(host)}/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")


def network_down() -> None:
    listed = run("ip", "netns", "list", check=False, quiet=True).stdout.split("\n")
    for line in listed:
        ns = line.split(" ")[0]
        if ns.startswith(NS_PREFIX):
            run("ip", "netns", "del", ns, check=False)
    for host in HOSTS:
        if Path(f"/sys/class/net/{_veth(host)}").exists():
            run("ip", "link", "del", _veth(host), check=False, quiet=True)
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        run("ip", "link", "del", BRIDGE, check=False)


def namespace_pids(host: str) -> list[int]:
    out = run("ip", "netns", "pids", namespace(host), check=False, quiet=True).stdout
    return [int(p) for p in out.split()]


# --- waiting ------------------------------------------------------------------------------------
def wait_for(what: str, ready, timeout: float = 120.0, proc: subprocess.Popen | None = None,
             log_path: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc is not None and proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path and log_path.exists() else ""
            raise RuntimeError(f"{what} exited ({proc.returncode}):\n{tail}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.2)


def tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def redis_ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def http_ok(host: str, port: int, path: str, host_header: str) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=3)
    try:
        conn.request("GET", path, headers={"Host": host_header})
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


# --- the cluster --------------------------------------------------------------------------------
class Cluster:
    """The harness's state lives in ``var`` (default var/cluster): env, pids, logs, data."""

    def __init__(self, var: Path | None = None, python: str | None = None, cpus: dict | None = None):
        self.var = Path(var or os.environ.get("DIEMCAU_CLUSTER_VAR") or ROOT / "var" / "cluster")
        self.python = python or os.environ.get("DIEMCAU_CLUSTER_PYTHON") or sys.executable
        self.cpus = dict(cpus or {})  # host -> "0" / "1" / "0-1": taskset for that host's processes

    # -- paths and environment
    def dir(self, host: str) -> Path:
        path = self.var / host
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def env_file(self) -> Path:
        return self.var / "diemcau.env"

    @property
    def url(self) -> str:
        return f"http://{address('proxy')}/"

    def app_env(self, host: str = "app1") -> dict:
        """What an app host's processes see: a bare environment plus var/cluster/diemcau.env."""
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(self.dir(host)),
               "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1",
               "DJANGO_SETTINGS_MODULE": "diemcau.settings", "DIEMCAU_VAR": str(self.dir(host) / "var")}
        for line in self.env_file.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                env[name.strip()] = value.strip()
        return env

    def write_env(self, scenario: str) -> None:
        """var/cluster/diemcau.env: the configuration every app host shares (mode 0600)."""
        old = {}
        if self.env_file.exists():  # a host started again keeps the secrets of this `up`
            old = dict(line.split("=", 1) for line in self.env_file.read_text().splitlines() if "=" in line
                       and not line.startswith("#"))
        pg_password = old.get("DIEMCAU_CLUSTER_PG_PASSWORD") or secrets.token_hex(16)
        proxy = address("proxy")
        values = {
            "DJANGO_SECRET_KEY": old.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
            "DATABASE_URL": f"postgres://diemcau:{pg_password}@{address('db')}:{PG_PORT}/diemcau",
            "REDIS_URL": f"redis://{address('db')}:{REDIS_PORT}/0",
            "DIEMCAU_PUBLIC_URL": f"http://{proxy}",
            "DJANGO_ALLOWED_HOSTS": f"{proxy},{SUBNET}.1",
            "DJANGO_CSRF_TRUSTED_ORIGINS": f"http://{proxy},https://{proxy}",
            "DIEMCAU_TRUSTED_PROXIES": proxy,
            "DIEMCAU_TLS": "0",  # the harness speaks plain 80; 443 is there for a browser to try
            "DIEMCAU_DB_POOL": "8",
            "DIEMCAU_LOG_LEVEL": "WARNING",
            "DIEMCAU_FAST_HASHER": "1",  # the loaders make thousands of accounts; a harness, not production
            "DIEMCAU_DEMO_DAY": "today",
            "DIEMCAU_CHECKIN_MARGIN_BEFORE_MINUTES": "720",
            "DIEMCAU_CHECKIN_MARGIN_AFTER_MINUTES": "720",
            # A killed task worker's job is taken for dead after 8 s without a heartbeat (60 s in
            # production) and sent again by beat within 2 s, so the fault tests see it re-run in time;
            # its unacknowledged message comes back after 30 s (300 s in production).
            "DIEMCAU_TASK_LEASE_SECONDS": "8",
            "DIEMCAU_TASK_HEARTBEAT_SECONDS": "1",
            "DIEMCAU_TASK_RECOVER_SECONDS": "2",
            "CELERY_VISIBILITY_TIMEOUT": "30",
            # The media hosts' agents present it to register their nodes (issue 13's media plane).
            "DIEMCAU_MEDIA_NODE_KEY": old.get("DIEMCAU_MEDIA_NODE_KEY") or secrets.token_urlsafe(32),
            # The low and audio-only renditions of the programme (a kiosk forced to audio only hears it).
            "DIEMCAU_LIVE_RENDITIONS": "1",
            "DIEMCAU_CLUSTER_PG_PASSWORD": pg_password,
            "DIEMCAU_CLUSTER_SCENARIO": scenario,
        }
        self.var.mkdir(parents=True, exist_ok=True)
        body = "# Written by deploy/cluster/harness.py at `up`: the environment of every app host.\n"
        body += "".join(f"{k}={v}\n" for k, v in values.items())
        self.env_file.write_text(body)
        self.env_file.chmod(0o600)

    # -- processes
    def spawn(self, host: str, name: str, argv: list[str], env: dict | None = None,
              user: str | None = None, cwd: Path | None = None) -> subprocess.Popen:
        """Start ``argv`` in ``host``'s namespace; pid in var/cluster/<host>/<name>.pid, log beside it."""
        prefix = ["ip", "netns", "exec", namespace(host)]
        if host in self.cpus:
            prefix += ["taskset", "-c", str(self.cpus[host])]
        if user:
            prefix += as_user(user)
        log_path = self.dir(host) / f"{name}.log"
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(prefix + argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env if env is not None else self.app_env(host),
                                    cwd=str(cwd or ROOT), start_new_session=True)
        (self.dir(host) / f"{name}.pid").write_text(f"{proc.pid}\n")
        return proc

    def pid(self, host: str, name: str) -> int | None:
        path = self.var / host / f"{name}.pid"
        try:
            pid = int(path.read_text())
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            return None
        return None if state in ("Z", "X") else pid  # a killed process not yet reaped is gone

    def manage(self, host: str, *args: str, timeout: float = 1800, capture: bool = False) -> str:
        """``manage.py ARGS`` in ``host``'s namespace with the app environment; its output when asked."""
        argv = ["ip", "netns", "exec", namespace(host), self.python, str(ROOT / "manage.py"), *args]
        result = subprocess.run(argv, env=self.app_env(host), cwd=str(ROOT), capture_output=True, text=True,
                                timeout=timeout)
        with open(self.dir(host) / "manage.log", "a") as out:
            out.write(f"$ manage.py {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} on {host} failed:\n{result.stderr[-3000:]}")
        return result.stdout if capture else ""

    def python_in(self, host: str, script: Path, *args: str, timeout: float = 1800) -> str:
        """Run a Python script in ``host``'s namespace with the app environment; its stdout."""
        argv = ["ip", "netns", "exec", namespace(host), self.python, str(script), *args]
        result = subprocess.run(argv, env=self.app_env(host), cwd=str(ROOT), stdout=subprocess.PIPE, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{script.name} on {host} failed (exit {result.returncode})")
        return result.stdout

    # -- services: one start function each
    def start_postgres(self) -> None:
        data = self.var / "db" / "pgdata"
        log_path = self.dir("db") / "postgres.log"
        proc = self.spawn("db", "postgres", [
            str(PG_BIN / "postgres"), "-D", str(data), "-c", f"listen_addresses={address('db')}",
            "-c", f"port={PG_PORT}", "-c", f"unix_socket_directories={self.var / 'db' / 'run'}",
            "-c", "max_connections=200", "-c", "shared_buffers=256MB", "-c", "logging_collector=off",
        ], env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, user="postgres", cwd=self.var / "db")
        wait_for("postgres", lambda: tcp_open(address("db"), PG_PORT), 60, proc, log_path)
        wait_for("postgres accepting", lambda: run(
            str(PG_BIN / "pg_isready"), "-h", address("db"), "-p", str(PG_PORT), "-q", check=False,
            quiet=True).returncode == 0, 60, proc, log_path)

    def start_redis(self) -> None:
        data = self.dir("db") / "redis"
        data.mkdir(exist_ok=True)
        log_path = self.dir("db") / "redis.log"
        # AOF on: the task broker's queue survives a restart, as a production Redis should keep it.
        proc = self.spawn("db", "redis", [
            "redis-server", "--bind", address("db"), "--port", str(REDIS_PORT), "--protected-mode", "no",
            "--daemonize", "no", "--dir", str(data), "--save", "", "--appendonly", "yes",
            "--appendfsync", "everysec", "--logfile", "",
        ], env={"PATH": "/usr/bin:/bin"})
        wait_for("redis", lambda: redis_ping(address("db"), REDIS_PORT), 30, proc, log_path)

    def asgi_command(self, host: str) -> list[str]:
        """The ASGI server of an app host (part 2 of issue 12 may switch it: only here)."""
        return [self.python, "-m", "uvicorn", "diemcau.asgi:application", "--host", address(host),
                "--port", str(APP_PORT), "--workers", str(ASGI_WORKERS), "--loop", "uvloop", "--http",
                "httptools", "--ws", "websockets", "--no-access-log", "--no-proxy-headers",
                "--timeout-graceful-shutdown", "5"]

    def worker_command(self, host: str) -> list[str]:
        """The Celery worker of an app host; the first app host also runs beat (the periodic recovery of
        stranded jobs), as one host does in production (``deploy/systemd/diemcau-worker.service``)."""
        beat = ["-B", "--schedule", str(self.var / host / "celerybeat-schedule")] if host == APP_HOSTS[0] else []
        return [self.python, "-m", "celery", "-A", "diemcau", "worker", "-l", "WARNING", "-n", f"worker@{host}",
                *beat]

    def start_asgi(self, host: str, wait: bool = True) -> subprocess.Popen:
        proc = self.spawn(host, "asgi", self.asgi_command(host))
        if wait:
            self.wait_asgi(host, proc)
        return proc

    def wait_asgi(self, host: str, proc: subprocess.Popen | None = None) -> None:
        wait_for(f"the ASGI server on {host}",
                 lambda: http_ok(address(host), APP_PORT, "/healthz", address("proxy")), 300, proc,
                 self.dir(host) / "asgi.log")

    def start_worker(self, host: str) -> None:
        """The task worker, restarted when it exits, as systemd's ``Restart=always`` does in production
        (a worker that loses Redis for too long exits). ``kill_service`` ends the loop too."""
        loop = 'while :; do "$@"; echo "task worker exited ($?); starting it again in 1 s"; sleep 1; done'
        self.spawn(host, "worker", ["sh", "-c", loop, "worker", *self.worker_command(host)])

    def start_nginx(self) -> None:
        conf = self.render_nginx()
        log_path = self.dir("proxy") / "nginx.log"
        proc = self.spawn("proxy", "nginx", ["nginx", "-c", str(conf), "-g", "daemon off;"],
                          env={"PATH": "/usr/sbin:/usr/bin:/bin"})
        wait_for("nginx", lambda: tcp_open(address("proxy"), 80), 30, proc, log_path)

    # -- the media plane (issue 13): agents on the edge hosts, the runtime and its standby
    def agent_command(self, host: str) -> list[str]:
        """A media host's agent: its edge Janus on the host's address, registered through nginx; the
        Admin API open to the host itself, the app hosts (tokens) and the runtime hosts."""
        admin_from = ",".join(address(h) for h in (*APP_HOSTS, *RUNTIME_HOSTS))
        return [self.python, "-m", "diemcau.live.node_agent", "--name", host, "--address", address(host),
                "--control", self.url.rstrip("/"), "--base-port", str(EDGE_PORT), "--capacity", "50",
                "--region", "harness", "--admin-from", admin_from]

    def runtime_command(self, host: str) -> list[str]:
        """The day's live runtime (``run_live`` with no conference: every conference of today, each in its
        lane): its root Janus on the host's address, the edges left to the agents (``--edges 0``)."""
        admin_from = ",".join(address(h) for h in APP_HOSTS)
        return [self.python, str(ROOT / "manage.py"), "run_live", "--edges", "0",
                "--root-port", str(ROOT_PORT), "--address", address(host), "--admin-from", admin_from]

    def start_agent(self, host: str, wait: bool = True) -> None:
        """The agent of ``host`` (``wait``: until a heartbeat of this agent arrived: one sent before a kill
        of the host is not taken for it)."""
        since = time.time()
        proc = self.spawn(host, "agent", self.agent_command(host))
        if wait:
            wait_for(f"the agent of {host} registered", lambda: self.node_fresh(host, since), 60, proc,
                     self.dir(host) / "agent.log")

    def node_fresh(self, name: str, since: float | None = None) -> bool:
        """Whether the node ``name`` is registered and its heartbeats arrive (one after ``since``, epoch
        seconds, if given)."""
        after = f"to_timestamp({since})" if since is not None else "now() - interval '6 seconds'"
        try:
            out = self.psql(None, f"SELECT count(*) FROM live_livenode WHERE name = '{name}' "
                                  f"AND heartbeat_at > {after}")
        except RuntimeError:
            return False
        return out.strip() == "1"

    def start_runtime(self, host: str, wait: bool = True) -> None:
        """``run_live`` on ``host``: the active runtime if it gets the lease, else a standby (``wait``:
        until it says which)."""
        proc = self.spawn(host, "runtime", self.runtime_command(host))
        log_path = self.dir(host) / "runtime.log"

        def said() -> bool:
            text = log_path.read_text(errors="replace") if log_path.exists() else ""
            return "holds the lease" in text or "waiting as a standby" in text
        if wait:
            wait_for(f"the runtime on {host}", said, 120, proc, log_path)

    def runtime_host(self) -> str | None:
        """Which runtime host's root Janus the control plane knows as the root (the active runtime's)."""
        try:
            url = self.psql(None, "SELECT ws_url FROM live_livenode WHERE role = 'root'").strip()
        except RuntimeError:
            return None
        return next((h for h in RUNTIME_HOSTS if f"//{address(h)}:" in url), None)

    def start_media(self, conference: int | None = None, standby: bool = True) -> None:
        """The media plane: an agent on each edge host, the day's runtime on media-root (it adopts the
        edges and serves every conference of today), and a standby on media-root2 waiting on the lease.
        ``conference`` (one of today's): also wait until the runtime serves it (its lane is set)."""
        started = time.monotonic()
        for host in MEDIA_EDGES:  # all at once: the runtime adopts the edges whenever they register
            self.start_agent(host, wait=False)
        self.start_runtime(RUNTIME_HOSTS[0])
        wait_for("the edges up and provisioned by the runtime", lambda: self.psql(None, (
            "SELECT count(*) FROM live_livenode WHERE state = 'up' AND (agent OR role = 'root')")).strip()
            == str(len(MEDIA_EDGES) + 1), 150, None)
        if conference is not None:
            wait_for(f"the runtime serving conference {conference}", lambda: self.psql(None, (
                f"SELECT count(*) FROM live_programme WHERE conference_id = {int(conference)} "
                "AND lane IS NOT NULL")).strip() == "1", 60, None)
        if standby:
            self.start_runtime(RUNTIME_HOSTS[1])
        log(f"media plane: runtime on {RUNTIME_HOSTS[0]}, agents on {', '.join(MEDIA_EDGES)}"
            f"{', standby on ' + RUNTIME_HOSTS[1] if standby else ''} ({time.monotonic() - started:.0f} s)")

    def stop_media(self) -> None:
        """Every process of the media hosts killed (their namespaces stay; ``start_media`` again)."""
        for host in (*RUNTIME_HOSTS, *MEDIA_EDGES):
            self.kill_host(host)

    def start_service(self, host: str, service: str) -> None:
        starts = {"postgres": self.start_postgres, "redis": self.start_redis, "nginx": self.start_nginx,
                  "asgi": lambda: self.start_asgi(host), "worker": lambda: self.start_worker(host),
                  "agent": lambda: self.start_agent(host), "runtime": lambda: self.start_runtime(host)}
        starts[service]()

    def start_host(self, host: str) -> None:
        services = SERVICES.get(host, ())
        if host in APP_HOSTS:  # the worker first: it starts while the ASGI server imports
            services = ("worker", "asgi")
        for service in services:
            self.start_service(host, service)

    def kill_host(self, host: str) -> list[int]:
        """SIGKILL every process in ``host``'s namespace (a power cut, as the peers see it)."""
        pids = namespace_pids(host)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while namespace_pids(host) and time.monotonic() < deadline:
            time.sleep(0.05)
        return pids

    def kill_service(self, host: str, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one service's process group (e.g. an app host's task worker)."""
        pid = self.pid(host, name)
        if pid is not None:
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass

    def stop_service(self, service: str) -> None:
        """Stop redis or postgres cleanly (a restart's first half)."""
        pid = self.pid("db", service)
        if pid is None:
            return
        # postgres: SIGINT = fast shutdown (connections cut, clean); redis: SIGTERM (AOF flushed).
        os.kill(pid, signal.SIGINT if service == "postgres" else signal.SIGTERM)
        deadline = time.monotonic() + 60
        while self.pid("db", service) is not None and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)

    def restart(self, service: str, pause: float = 0.0) -> None:
        if service not in ("redis", "postgres"):
            raise SystemExit(f"restart takes redis or postgres, not {service}")
        self.stop_service(service)
        time.sleep(pause)
        self.start_service("db", service)

    # -- PostgreSQL's cluster and database
    def init_postgres(self) -> None:
        db = self.dir("db")
        for sub in ("pgdata", "run"):
            shutil.rmtree(db / sub, ignore_errors=True)
        (db / "run").mkdir()
        password_file = db / "pwfile"
        password_file.write_text(self.app_env()["DIEMCAU_CLUSTER_PG_PASSWORD"] + "\n")
        shutil.chown(db, "postgres", "postgres")
        for path in (db / "run", password_file):
            shutil.chown(path, "postgres", "postgres")
        run(*as_user("postgres"), str(PG_BIN / "initdb"),
            "-D", str(db / "pgdata"), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=peer",
            "--auth-host=scram-sha-256", f"--pwfile={password_file}", cwd=str(db))
        with open(db / "pgdata" / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 scram-sha-256\n")
        password_file.unlink()

    def create_database(self) -> None:
        password = self.app_env()["DIEMCAU_CLUSTER_PG_PASSWORD"]
        admin = f"postgres://postgres:{password}@{address('db')}:{PG_PORT}/postgres"
        self.psql(admin, f"CREATE ROLE diemcau LOGIN PASSWORD '{password}'")
        self.psql(admin, "CREATE DATABASE diemcau OWNER diemcau")

    def psql(self, url: str | None, sql: str) -> str:
        """One SQL statement through psql over the bridge; its rows as text (tab-separated)."""
        url = url or self.app_env()["DATABASE_URL"]
        return run("psql", url, "-v", "ON_ERROR_STOP=1", "-tAq", "-F", "\t", "-c", sql).stdout

    # -- nginx
    def render_nginx(self) -> Path:
        proxy = self.dir("proxy")
        template = (ROOT / "deploy" / "nginx" / "diemcau.conf.template").read_text()
        site = render_template(template, {
            "SERVER_NAME": address("proxy"),
            "LISTEN_HTTP": f"{address('proxy')}:80",
            "LISTEN_HTTPS": f"{address('proxy')}:443",
            "UPSTREAMS": "".join(f"    server {address(h)}:{APP_PORT} max_fails=1 fail_timeout=5s;\n"
                                 for h in APP_HOSTS),
            "STATIC_ROOT": str(self.var / "static") + "/",
            "TLS_CERTIFICATE": str(proxy / "tls.crt"),
            "TLS_CERTIFICATE_KEY": str(proxy / "tls.key"),
            "PLAIN_HTTP": "serve",
        })
        (proxy / "diemcau.conf").write_text(site)
        main = proxy / "nginx.conf"
        main.write_text(
            "# Written by deploy/cluster/harness.py: the harness's own nginx (the site is diemcau.conf).\n"
            "user root;\nworker_processes 1;\n"
            f"pid {proxy / 'nginx.pid'};\nerror_log {proxy / 'error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            "    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            "    log_format upstream '$remote_addr [$time_local] \"$request\" $status $upstream_addr '\n"
            "                        '$upstream_status $request_time';\n"
            f"    access_log {proxy / 'access.log'} upstream;\n"
            f"    client_body_temp_path {proxy / 'tmp-body'};\n    proxy_temp_path {proxy / 'tmp-proxy'};\n"
            f"    fastcgi_temp_path {proxy / 'tmp'};\n    uwsgi_temp_path {proxy / 'tmp'};\n"
            f"    scgi_temp_path {proxy / 'tmp'};\n"
            "    # The harness only: which app host answered (tests check retries land on the other one).\n"
            "    add_header X-Diemcau-Upstream $upstream_addr always;\n"
            f"    include {proxy / 'diemcau.conf'};\n"
            "}\n")
        return main

    def make_certificate(self) -> None:
        proxy = self.dir("proxy")
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
            f"/CN={address('proxy')}", "-addext", f"subjectAltName=IP:{address('proxy')}",
            "-keyout", str(proxy / "tls.key"), "-out", str(proxy / "tls.crt"))
        (proxy / "tls.key").chmod(0o600)

    def collectstatic(self) -> None:
        """Static files for nginx: collectstatic into var/cluster/static (no database needed)."""
        env = self.app_env("proxy")
        build = self.var / "static-build"
        env["DIEMCAU_VAR"] = str(build)
        subprocess.run([self.python, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v", "0"], env=env,
                       cwd=str(ROOT), check=True)
        shutil.rmtree(self.var / "static", ignore_errors=True)
        shutil.move(str(build / "static"), str(self.var / "static"))
        shutil.rmtree(build, ignore_errors=True)

    # -- the whole cluster
    def up(self, scenario: str = "demo") -> None:
        started = time.monotonic()
        self.down(quiet=True)
        shutil.rmtree(self.var, ignore_errors=True)  # an earlier run's data, pids and logs
        self.var.mkdir(parents=True, exist_ok=True)
        self.write_env(scenario)
        network_up()
        log(f"network: bridge {BRIDGE} {SUBNET}.1/24, {len(HOSTS)} namespaces")
        self.init_postgres()
        self.start_postgres()
        self.start_redis()
        self.create_database()
        log(f"db: PostgreSQL and Redis on {address('db')}")
        self.manage("app1", "migrate", "--noinput", "-v", "0")
        log(f"migrated from app1 ({time.monotonic() - started:.0f} s)")
        self.collectstatic()
        self.make_certificate()
        if scenario == "demo":
            self.load_demo()
        for host in APP_HOSTS:
            self.start_worker(host)
        servers = {host: self.start_asgi(host, wait=False) for host in APP_HOSTS}
        for host, proc in servers.items():
            self.wait_asgi(host, proc)
        log(f"app hosts serving ({time.monotonic() - started:.0f} s)")
        self.start_nginx()
        log(f"up in {time.monotonic() - started:.0f} s: {self.url}")

    def load_demo(self) -> None:
        log("loading the demo scenario (load_demo --size demo, load_demo_events, load_demo_voice)")
        self.manage("app1", "load_demo", "--size", "demo")
        self.manage("app1", "load_demo_events")
        self.manage("app1", "load_demo_voice")

    def down(self, quiet: bool = False) -> None:
        for host in HOSTS:
            if Path(f"/run/netns/{namespace(host)}").exists():
                self.kill_host(host)
        self._kill_pidfiles()
        network_down()
        if not quiet:
            log("down: namespaces, veths, the bridge and every process removed")

    def _kill_pidfiles(self) -> None:
        """Processes of an earlier run whose namespace is already gone (a run cut short)."""
        if not self.var.exists():
            return
        for pidfile in self.var.glob("*/*.pid"):
            if pidfile.name == "nginx.pid":
                continue
            try:
                pid = int(pidfile.read_text())
                cmdline = _cmdline(pid)
                if str(ROOT) in cmdline or "postgres" in cmdline or "redis-server" in cmdline:
                    os.killpg(pid, signal.SIGKILL)
            except (ValueError, OSError):
                pass
            pidfile.unlink(missing_ok=True)

    def status(self) -> dict:
        hosts = {}
        for host in HOSTS:
            exists = Path(f"/run/netns/{namespace(host)}").exists()
            services = {name: self.pid(host, name) for name in SERVICES.get(host, ())}
            hosts[host] = {"address": address(host), "namespace": exists,
                           "processes": len(namespace_pids(host)) if exists else 0, "services": services}
        return {"url": self.url, "bridge": Path(f"/sys/class/net/{BRIDGE}").exists(), "hosts": hosts}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def as_user(user: str) -> list[str]:
    """Run as ``user`` (PostgreSQL refuses root), allowed to traverse folders closed to it: var/ is
    mode 0700 (every diemcau start makes it so), and the harness keeps PostgreSQL's data under it."""
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--inh-caps=+dac_read_search",
            "--ambient-caps=+dac_read_search"]


def render_template(template: str, values: dict) -> str:
    """``@@NAME@@`` placeholders (nginx uses ``$`` itself), comment lines left as they are; a
    placeholder without a value is an error."""
    lines = []
    for line in template.splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            for name, value in values.items():
                line = line.replace(f"@@{name}@@", value)
            if "@@" in line:
                raise ValueError(f"the nginx template has no value for @@{line.split('@@')[1]}@@")
        lines.append(line)
    return "".join(lines)


def accounts_text(cluster: Cluster) -> str:
    return cluster.manage("app1", "demo_accounts", capture=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="diemcau on network namespaces (docs/OPERATIONS.md)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up")
    up.add_argument("--scenario", choices=["demo", "none"], default="demo")
    sub.add_parser("down")
    sub.add_parser("status")
    for name in ("kill", "start"):
        sub.add_parser(name).add_argument("host", choices=list(HOSTS))
    media = sub.add_parser("media", help="start the media plane (agents, the day's runtime, standby)")
    media.add_argument("--conference", type=int, help="also wait until the day's runtime serves it")
    media.add_argument("--no-standby", action="store_true")
    restart = sub.add_parser("restart")
    restart.add_argument("service", choices=["redis", "postgres"])
    restart.add_argument("--pause", type=float, default=0.0, help="seconds the service stays down")
    args = parser.parse_args(argv)
    reason = available()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    cluster = Cluster()
    if args.command == "up":
        try:
            cluster.up(args.scenario)
        except Exception:
            log("up failed; var/cluster/<host>/*.log say why (`down` cleans up)")
            raise
        print(f"\ndiemcau (cluster) is running at {cluster.url}  (https://{address('proxy')}/ with a "
              f"self-signed certificate)")
        if args.scenario == "demo":
            print(accounts_text(cluster))
        print("Stop it with: make cluster-down")
    elif args.command == "down":
        cluster.down()
    elif args.command == "status":
        print(json.dumps(cluster.status(), indent=2))
    elif args.command == "kill":
        print(f"killed {len(cluster.kill_host(args.host))} processes on {args.host}")
    elif args.command == "start":
        cluster.start_host(args.host)
    elif args.command == "media":
        cluster.start_media(args.conference, standby=not args.no_standby)
    elif args.command == "restart":
        cluster.restart(args.service, args.pause)
    return 0


if __name__ == "__main__":
    sys.exit(main())
