"""Kamailio and rtpengine do not outlive a crashed runtime: the next start reclaims them
(``live/sip_processes.py``). Real daemons from Debian on the loopback, ports of their own; serial
(it kills processes and binds fixed ports)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diemcau.live import sip_processes
from diemcau.live.sip_gateway import SipGateway

pytestmark = pytest.mark.skipif(not shutil.which("kamailio") or not shutil.which("rtpengine"),
                                reason="needs Debian's kamailio and rtpengine-daemon")

# Ports apart from tests/live/test_sip.py's (5060/5061, 5090/5091, 2223, 36000-37999).
PORTS = {"sip_port": 5260, "tls_port": 5261, "uas_port": 5290, "loop_port": 5291, "ng_port": 2423,
         "media_ports": (38000, 38099), "pool": (38100, 38199)}

# The runtime process: it starts the gateway's daemons as run_live --sip does, says so, and waits.
RUNTIME = """
import sys, time, django
django.setup()
from pathlib import Path
from diemcau.live.sip_gateway import SipGateway
gw = SipGateway(None, address="127.0.0.1", folder=Path(sys.argv[1]), **eval(sys.argv[2]))
gw.start_processes()
print("up", flush=True)
time.sleep(600)
"""


def _groups(folder: Path) -> dict[str, tuple[int, str]]:
    found = {}
    for pidfile in (folder / "run").glob("*.group"):
        group, executable = pidfile.read_text().split()
        found[pidfile.stem] = (int(group), executable)
    return found


def _alive(groups: dict[str, tuple[int, str]]) -> dict[str, list[int]]:
    return {name: sip_processes.members(group, exe) for name, (group, exe) in groups.items()}


def test_the_next_start_reclaims_what_a_killed_runtime_left(tmp_path):
    folder = tmp_path / "sip"
    try:
        _crash_then_start_again(folder)
    finally:  # a failed run leaves nothing behind either
        sip_processes.SipProcesses(folder).reclaim(grace=2)


def _crash_then_start_again(folder: Path) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "diemcau.settings",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    runtime = subprocess.Popen([sys.executable, "-c", RUNTIME, str(folder), repr(PORTS)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = runtime.stdout.readline()  # blocks until "up" or the process ends (bounded by its own 15 s wait)
        if line.strip() != "up":
            runtime.kill()
            raise AssertionError(line + runtime.stdout.read())
        left = _groups(folder)
        assert set(left) == {"kamailio", "rtpengine"}
        before = _alive(left)
        assert all(before.values()), before
        runtime.send_signal(signal.SIGKILL)  # the runtime crashes: nothing of it runs its shutdown
        runtime.wait(10)
        time.sleep(0.5)
        after = _alive(left)  # the daemons outlived it (their own sessions; Kamailio has forked its workers)
        assert all(set(before[name]) <= set(after[name]) for name in before), (before, after)
    finally:
        if runtime.poll() is None:
            runtime.kill()
            runtime.wait(10)

    gw = SipGateway(None, address="127.0.0.1", folder=folder, **PORTS)
    try:
        started = time.monotonic()
        gw.start_processes()  # would fail on the ports still held without the reclaim
        assert not any(_alive(left).values()), _alive(left)
        print(f"reclaimed and started again in {time.monotonic() - started:.1f} s")
        now = _groups(folder)
        assert {g for g, _ in now.values()}.isdisjoint({g for g, _ in left.values()})
        assert all(_alive(now).values()) and all(p.poll() is None for p in gw.processes.values())
    finally:
        gw.stop_processes()
    assert not any(_alive(now).values()) and not list((folder / "run").glob("*.group"))
