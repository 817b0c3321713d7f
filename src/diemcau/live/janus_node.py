"""Janus nodes: render a node's configuration from ``deploy/janus/`` and run it as a child process.

A node is one Janus process with its own folder (``var/janus/<name>/`` by default) and its own block
of ports, so that a root and several edges can run on one machine::

    base_port + 0            HTTP Janus API          (http://<bind_ip>:<port>/janus)
    base_port + 1            WebSockets Janus API    (ws://<bind_ip>:<port>, subprotocol janus-protocol)
    base_port + 2            HTTP Admin API          (http://<admin_bind_ip>:<port>/admin)
    base_port + 100 .. +599  ICE/RTP of PeerConnections           (core ``rtp_port_range``)
    base_port + 600 .. +999  RTP of Streaming mountpoints asked for with port 0

The folder holds ``conf/`` (the rendered ``*.jcfg``, readable by the owner only: they carry the
secrets), ``janus.log`` (Janus's stdout and stderr, appended across restarts) and ``node.json``
(ports and URLs, no secrets, for tools that need to find the node).

Secrets of a node:

- ``api_secret``: diemcau's own access to the Janus API (rooms, mountpoints, forwarders);
- ``admin_secret``: the Admin API, where diemcau adds and removes the tokens browsers use;
- ``admin_key``: required by the VideoRoom and Streaming plugins to create rooms and mountpoints
  and (``lock_rtp_forward``) to add or stop RTP forwarders.

Tokens live in Janus's memory only: after a restart every token must be issued again, and every
room and mountpoint created again (none are ``permanent``).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

import httpx

from diemcau import paths

PROJECT_DIR = paths.PROJECT_DIR
TEMPLATES_DIR = PROJECT_DIR / "deploy" / "janus"
JANUS_BINARY = "/usr/bin/janus"

# Debian installs the modules under the multiarch lib folder; the first match is the one janus uses.
_JANUS_LIB_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/janus",
    "/usr/lib/aarch64-linux-gnu/janus",
    "/usr/lib/janus",
)

# Plugins a node may load. Only those whose rooms diemcau locks with an admin key, plus EchoTest
# (no rooms: a point's technical check sends itself its own picture), which keeps its defaults.
PLUGIN_PACKAGES = {
    "videoroom": "janus.plugin.videoroom",
    "streaming": "janus.plugin.streaming",
    "echotest": "janus.plugin.echotest",
}
TRANSPORTS = ("http", "websockets")

_CONFIG_FILES = {
    "janus.jcfg": "janus.jcfg.tmpl",
    "janus.transport.http.jcfg": "janus.transport.http.jcfg.tmpl",
    "janus.transport.websockets.jcfg": "janus.transport.websockets.jcfg.tmpl",
}
_PLUGIN_CONFIG_FILES = {
    "videoroom": ("janus.plugin.videoroom.jcfg", "janus.plugin.videoroom.jcfg.tmpl"),
    "streaming": ("janus.plugin.streaming.jcfg", "janus.plugin.streaming.jcfg.tmpl"),
}


LOOPBACK_ICE = (
    "Janus 1.1.2 cannot keep ICE on loopback: janus_ice_setup_local skips IFF_LOOPBACK interfaces, so "
    "ice_enforce_list 'lo' (or -E lo, or 127.0.0.1) matches nothing and libnice then gathers on every "
    "non-loopback address, IPv6 included. Name the media interface (e.g. 'eth0') or leave it unset."
)


class JanusNodeError(RuntimeError):
    """A node could not be rendered, started or stopped; the message says why."""


@dataclass(frozen=True)
class NodePorts:
    """The ports one node listens on; see the module docstring for the layout."""

    http: int
    ws: int
    admin: int
    rtp_min: int
    rtp_max: int
    streaming_min: int
    streaming_max: int

    @classmethod
    def from_base(cls, base_port: int) -> NodePorts:
        """Lay out a node's ports in the 1000-port block that starts at ``base_port``."""
        if not 1024 <= base_port <= 65535 - 1000:
            raise JanusNodeError(f"base_port {base_port} leaves no room for a 1000-port block")
        return cls(
            http=base_port,
            ws=base_port + 1,
            admin=base_port + 2,
            rtp_min=base_port + 100,
            rtp_max=base_port + 599,
            streaming_min=base_port + 600,
            streaming_max=base_port + 999,
        )


def default_var_dir() -> Path:
    """The folder nodes live under: ``$DIEMCAU_VAR/janus`` or ``var/janus`` in the checkout."""
    return paths.var_dir() / "janus"  # diemcau.paths: deploy scripts render nodes without Django set up


def janus_lib_dir() -> Path:
    """The folder holding Janus's plugins/, transports/, events/ and loggers/ folders."""
    for candidate in _JANUS_LIB_CANDIDATES:
        if Path(candidate, "plugins").is_dir():
            return Path(candidate)
    raise JanusNodeError(f"no Janus modules found in any of {', '.join(_JANUS_LIB_CANDIDATES)}")


def _modules_except(folder: Path, wanted: set[str]) -> str:
    """Comma-separated ``*.so`` file names in ``folder`` that are not in ``wanted``."""
    # Janus loads every *.so it finds and matches the disable list by exact file name, so the list is
    # built from what is installed: a plugin added by a package upgrade stays off until asked for.
    if not folder.is_dir():
        return ""
    names = (p.name for p in folder.iterdir() if p.name.endswith(".so") and p.name not in wanted)
    return ",".join(sorted(names))


def _names_loopback(enforce_list: str) -> bool:
    """Whether an ICE enforce list names a loopback interface or address."""
    items = [item.strip() for item in enforce_list.split(",")]
    return any(item == "lo" or item.startswith(("lo:", "127.", "::1")) for item in items)


def _set_parent_death_signal() -> None:
    """Ask Linux to SIGTERM this child when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class JanusNode:
    """One Janus process: its rendered configuration, its folder, and its life (start, stop, kill).

    :param name: the node's name (``root``, ``edge-1``, ...); names the folder and the server.
    :param base_port: first port of the node's 1000-port block (see the module docstring).
    :param folder: where conf/, janus.log and node.json go; default ``var/janus/<name>``.
    :param api_secret, admin_secret, admin_key: the node's secrets; random ones if not given.
    :param ice_enforce_list: interfaces or address prefixes ICE may gather on, comma-separated
        (e.g. ``"eth0"``); None lets Janus use every non-loopback IPv4 address. Loopback values are
        refused: Janus 1.1.2 cannot gather on loopback (see ``LOOPBACK_ICE``).
    :param bind_ip: address the Janus API (HTTP and WebSockets) listens on.
    :param admin_bind_ip: address the Admin API listens on; loopback, or a media host's private address.
    :param admin_acl: address prefixes allowed to use the Admin API (comma-separated); default: loopback
        when it listens there, else its own address (a media host's agent adds the control plane's).
    :param plugins: short names of the plugins to load (keys of ``PLUGIN_PACKAGES``).
    :param die_with_parent: the kernel stops Janus when the thread that started it ends (dev, tests);
        start the node from a thread that lives as long as the node, or pass False.
    """

    def __init__(
        self,
        name: str,
        base_port: int,
        *,
        folder: Path | str | None = None,
        api_secret: str | None = None,
        admin_secret: str | None = None,
        admin_key: str | None = None,
        ice_enforce_list: str | None = None,
        bind_ip: str = "127.0.0.1",
        admin_bind_ip: str = "127.0.0.1",
        admin_acl: str | None = None,
        plugins: tuple[str, ...] = ("videoroom", "streaming"),
        session_timeout: int = 60,
        debug_level: int = 4,
        die_with_parent: bool = True,
        templates_dir: Path | str = TEMPLATES_DIR,
        janus_binary: str = JANUS_BINARY,
    ) -> None:
        if ice_enforce_list is not None and _names_loopback(ice_enforce_list):
            raise JanusNodeError(LOOPBACK_ICE)
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise JanusNodeError(f"node name {name!r} must be letters, digits, '-' or '_'")
        unknown = set(plugins) - set(PLUGIN_PACKAGES)
        if unknown:
            raise JanusNodeError(f"unknown plugins {sorted(unknown)}; known: {sorted(PLUGIN_PACKAGES)}")
        self.name = name
        self.ports = NodePorts.from_base(base_port)
        self.folder = Path(folder) if folder is not None else default_var_dir() / name
        self.api_secret = api_secret or secrets.token_urlsafe(24)
        self.admin_secret = admin_secret or secrets.token_urlsafe(24)
        self.admin_key = admin_key or secrets.token_urlsafe(24)
        self.ice_enforce_list = ice_enforce_list
        self.bind_ip = bind_ip
        self.admin_bind_ip = admin_bind_ip
        self.admin_acl = admin_acl or ("127.,::1" if admin_bind_ip.startswith("127.") else admin_bind_ip)
        self.plugins = tuple(plugins)
        self.session_timeout = session_timeout
        self.debug_level = debug_level
        self.die_with_parent = die_with_parent
        self.templates_dir = Path(templates_dir)
        self.janus_binary = janus_binary
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file = None

    # -- where things are ------------------------------------------------------------------------

    @property
    def conf_dir(self) -> Path:
        """The folder passed to ``janus -F``."""
        return self.folder / "conf"

    @property
    def log_path(self) -> Path:
        """Janus's stdout and stderr, appended across starts."""
        return self.folder / "janus.log"

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP Janus API."""
        return f"http://{_url_host(self.bind_ip)}:{self.ports.http}/janus"

    @property
    def ws_url(self) -> str:
        """URL of the WebSockets Janus API (subprotocol ``janus-protocol``)."""
        return f"ws://{_url_host(self.bind_ip)}:{self.ports.ws}"

    @property
    def admin_url(self) -> str:
        """Base URL of the HTTP Admin API."""
        return f"http://{_url_host(self.admin_bind_ip)}:{self.ports.admin}/admin"

    @property
    def pid(self) -> int | None:
        """Process id of the running Janus, or None."""
        return self._process.pid if self.is_running() else None

    def is_running(self) -> bool:
        """Whether the Janus process started by this object is alive."""
        return self._process is not None and self._process.poll() is None

    # -- configuration ---------------------------------------------------------------------------

    def render(self) -> Path:
        """Write the node's configuration into ``conf/`` and its ``node.json``; return ``conf/``."""
        lib = janus_lib_dir()
        plugin_files = {f"libjanus_{p}.so" for p in self.plugins}
        transport_files = {f"libjanus_{t}.so" for t in TRANSPORTS}
        values = {
            "node_name": self.name,
            "conf_dir": str(self.conf_dir),
            "plugins_dir": str(lib / "plugins"),
            "transports_dir": str(lib / "transports"),
            "events_dir": str(lib / "events"),
            "loggers_dir": str(lib / "loggers"),
            "debug_level": str(self.debug_level),
            "api_secret": self.api_secret,
            "admin_secret": self.admin_secret,
            "admin_key": self.admin_key,
            "session_timeout": str(self.session_timeout),
            "rtp_port_min": str(self.ports.rtp_min),
            "rtp_port_max": str(self.ports.rtp_max),
            "streaming_port_min": str(self.ports.streaming_min),
            "streaming_port_max": str(self.ports.streaming_max),
            "ice_enforce_line": (
                f'ice_enforce_list = "{self.ice_enforce_list}"'
                if self.ice_enforce_list
                else "# ice_enforce_list not set: every non-loopback address of the host"
            ),
            "disabled_plugins": _modules_except(lib / "plugins", plugin_files),
            "disabled_transports": _modules_except(lib / "transports", transport_files),
            "disabled_loggers": _modules_except(lib / "loggers", set()),
            "http_port": str(self.ports.http),
            "ws_port": str(self.ports.ws),
            "admin_port": str(self.ports.admin),
            "bind_ip": self.bind_ip,
            "admin_bind_ip": self.admin_bind_ip,
            "admin_acl": self.admin_acl,
        }
        checked = {**values, "ice_enforce_line": self.ice_enforce_list or ""}
        for key, value in checked.items():
            # Secrets and names end up inside "..." in libconfig files; a quote would break out.
            if '"' in value or "\\" in value or "\n" in value:
                raise JanusNodeError(f"{key} must not contain quotes, backslashes or newlines")
        files = dict(_CONFIG_FILES)
        for plugin in self.plugins:
            if plugin in _PLUGIN_CONFIG_FILES:
                target, template = _PLUGIN_CONFIG_FILES[plugin]
                files[target] = template
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        os.chmod(self.conf_dir, 0o700)
        for stale in self.conf_dir.glob("*.jcfg"):
            stale.unlink()
        for target, template in files.items():
            text = Template((self.templates_dir / template).read_text(encoding="utf-8")).substitute(values)
            path = self.conf_dir / target
            path.write_text(text, encoding="utf-8")
            os.chmod(path, 0o600)
        info = {
            "name": self.name,
            "ports": asdict(self.ports),
            "http_url": self.http_url,
            "ws_url": self.ws_url,
            "admin_url": self.admin_url,
            "plugins": [PLUGIN_PACKAGES[p] for p in self.plugins],
            "ice_enforce_list": self.ice_enforce_list,
        }
        (self.folder / "node.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        return self.conf_dir

    # -- process ---------------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        """Render the configuration, start Janus, and return once its HTTP API answers ``info``."""
        if self.is_running():
            raise JanusNodeError(f"node {self.name} is already running (pid {self._process.pid})")
        if not Path(self.janus_binary).exists():
            raise JanusNodeError(f"{self.janus_binary} not found (Debian package janus)")
        if self._answers_info():
            # Another Janus (a leftover from a crashed run, or another node) holds our port: refuse
            # rather than report success for a process we did not start.
            raise JanusNodeError(f"something already answers on {self.http_url}: port {self.ports.http} is taken")
        self.render()
        self._close_log()
        self._log_file = open(self.log_path, "ab")  # stays open while Janus writes to it
        self._log_file.write(f"\n==== diemcau: starting node {self.name} at {time.ctime()} ====\n".encode())
        self._log_file.flush()
        self._process = subprocess.Popen(
            [self.janus_binary, "-F", str(self.conf_dir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            preexec_fn=_set_parent_death_signal if self.die_with_parent else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise JanusNodeError(f"janus for node {self.name} exited with {code}:\n{self.log_tail()}")
            if self._answers_info():
                return
            time.sleep(0.05)
        self.kill()
        raise JanusNodeError(f"janus for node {self.name} did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Janus cleanly (SIGINT, then SIGKILL after ``timeout``); nothing if it is not running."""
        if self._process is None:
            return
        if self._process.poll() is None:
            # Janus shuts down its sessions and transports on SIGINT (and SIGTERM), then exits.
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        self._close_log()

    def kill(self) -> None:
        """Kill Janus at once with SIGKILL, as a crash would (fault tests)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None
        self._close_log()

    def restart(self, timeout: float = 15.0) -> None:
        """Stop Janus if it runs, then start it again with the same ports and secrets."""
        self.stop()
        self.start(timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of ``janus.log``, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no janus.log yet)"
        return "\n".join(text.splitlines()[-lines:])

    def _answers_info(self) -> bool:
        """Whether a Janus answers ``info`` on this node's HTTP port."""
        try:
            response = httpx.get(f"{self.http_url}/info", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json().get("janus") == "server_info"

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> JanusNode:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __del__(self) -> None:
        # A forgotten node must not outlive the object that owns it.
        with contextlib.suppress(Exception):
            self.kill()

    def __repr__(self) -> str:
        state = f"pid {self._process.pid}" if self.is_running() else "stopped"
        return f"<JanusNode {self.name} http:{self.ports.http} {state}>"


def _url_host(ip: str) -> str:
    """An address as it goes in a URL (IPv6 in brackets)."""
    return f"[{ip}]" if ":" in ip else ip
