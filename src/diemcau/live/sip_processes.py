"""Kamailio and rtpengine as children that do not outlive a crashed ``run_live``.

Each daemon is started in a process group of its own (``start_new_session``: its pid is the group's
id; Kamailio's workers are forked into the same group), and a pidfile ``<folder>/run/<name>.group``
records the group and the executable. A ``run_live`` killed with SIGKILL (or the OOM killer) cannot
stop them, and they would keep 5060/5061 and rtpengine's ports, so the next gateway could not start.
So at start :meth:`SipProcesses.reclaim` reads the pidfiles a previous run left and ends every process
still in those groups that runs the same executable (SIGTERM, SIGKILL after a grace): a pid or group
id reused by something else is left alone. :meth:`SipProcesses.stop` ends the groups on a normal exit
and removes the pidfiles. Under systemd (``diemcau-live.service``: ``KillMode=mixed``) what is left in
the unit's control group is killed when it stops, too; the pidfiles cover a crash under any
supervisor, or none.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

log = logging.getLogger("diemcau.live.sip")

GRACE = 5.0  # seconds between SIGTERM and SIGKILL


def _group_of(pid: int) -> int | None:
    """The process group of ``pid`` (None if it is gone or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat.rpartition(")")[2].split()
    if fields[0] == "Z":  # ended, waiting for a parent (or an init that does not reap) to read it
        return None
    return int(fields[2])


def _executable(pid: int) -> str:
    with contextlib.suppress(OSError):
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    return ""


def members(group: int, executable: str) -> list[int]:
    """The live processes of process group ``group`` that run ``executable`` (a base name)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _group_of(int(entry)) == group and _executable(int(entry)) == executable:
            found.append(int(entry))
    return found


def _end(pids: list[int], grace: float) -> None:
    """SIGTERM to ``pids``, SIGKILL to those still alive after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            pids = [p for p in pids if _group_of(p) is not None]
            if not pids:
                return
            time.sleep(0.05)


class SipProcesses:
    """The gateway's daemons, each in its own process group, with pidfiles in ``folder/run``."""

    def __init__(self, folder: Path) -> None:
        self.run_dir = Path(folder) / "run"
        self.children: dict[str, subprocess.Popen] = {}

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.group"

    def reclaim(self, grace: float = GRACE) -> list[int]:
        """End what an earlier run left (its pidfiles); returns the pids ended."""
        ended: list[int] = []
        if not self.run_dir.is_dir():
            return ended
        for pidfile in sorted(self.run_dir.glob("*.group")):
            try:
                group_text, executable = pidfile.read_text().split()[:2]
                group = int(group_text)
            except (OSError, ValueError):
                pidfile.unlink(missing_ok=True)
                continue
            left = members(group, executable)
            if left:
                log.warning("SIP gateway: ending %s left by an earlier run (group %s, pids %s)",
                            executable, group, left)
                _end(left, grace)
                ended += left
            pidfile.unlink(missing_ok=True)
        return ended

    def start(self, name: str, argv: list[str], log_path: Path) -> subprocess.Popen:
        """Start ``argv`` in a new session and process group, output to ``log_path``; write its pidfile."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        # the executable as /proc names it (a symlinked argv[0] resolves to the real binary)
        executable = os.path.basename(os.path.realpath(shutil.which(argv[0]) or argv[0]))
        tmp = self._pidfile(name).with_suffix(".tmp")
        tmp.write_text(f"{proc.pid} {executable}\n")
        tmp.replace(self._pidfile(name))
        self.children[name] = proc
        return proc

    def stop(self, grace: float = GRACE) -> None:
        """End every group started here (and what is left in it), then forget the pidfiles."""
        for proc in self.children.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in self.children.items():
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(grace)
            # workers of a leader that ended first
            executable = self._pidfile(name).read_text().split()[1] if self._pidfile(name).exists() else ""
            if executable:
                _end(members(proc.pid, executable), grace)
            self._pidfile(name).unlink(missing_ok=True)
        self.children.clear()
