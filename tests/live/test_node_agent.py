"""A media host's agent that dies with its Janus comes back and registers again at once.

The agent (``python -m diemcau.live.node_agent``) does not set Django up: in the harness, an agent
started through ``manage.py`` on a loaded machine spent 30–60 s loading the product's apps before it
started Janus, and the returned edge "did not register within 60 s". Here the agent runs as systemd and
the harness run it (its own process, the key in its environment), is killed with its Janus (SIGKILL
to the group: a power cut) and started again.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diemcau.live.models import LiveNode
from tests.waiting import wait_for

from .conftest import live_base_port

pytestmark = pytest.mark.django_db(transaction=True)
KEY = "cle-des-noeuds-media-0123456789"
SRC = Path(__file__).resolve().parents[2] / "src"


def _agent(control: str, port: int, folder: Path) -> subprocess.Popen:
    # A bare environment: no DJANGO_SETTINGS_MODULE, no database; the key only in the environment.
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(SRC), "DIEMCAU_MEDIA_NODE_KEY": KEY,
           "DIEMCAU_VAR": str(folder), "PYTHONUNBUFFERED": "1"}
    code = ("import sys, diemcau.live.node_agent as a\n"
            "assert 'django.apps' not in sys.modules, 'the agent loaded Django'\n"
            "sys.exit(a.main(sys.argv[1:]))")
    return subprocess.Popen([sys.executable, "-c", code, "--name", "edge-south", "--address", "127.0.0.1",
                             "--control", control, "--base-port", str(port), "--region", "south"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=open(folder / "agent.log", "ab"))


def _beat_after(moment: float) -> bool:
    row = LiveNode.objects.filter(name="edge-south", agent=True).first()
    return row is not None and row.heartbeat_at is not None and row.heartbeat_at.timestamp() > moment


def test_a_killed_agent_and_its_janus_come_back_and_register_within_seconds(live_server, settings, tmp_path):
    settings.LIVE_MEDIA_NODE_KEY = KEY
    port = live_base_port()
    started = time.time()
    agent = _agent(live_server.url, port, tmp_path)
    try:
        wait_for(lambda: _beat_after(started), 20, "the agent registered and beating")
        first = LiveNode.objects.get(name="edge-south")
        assert (first.region, first.private_address) == ("south", "127.0.0.1")
        os.killpg(agent.pid, signal.SIGKILL)  # the host's power cut: the agent and its Janus
        agent.wait(10)
        killed = time.time()
        agent = _agent(live_server.url, port, tmp_path)
        # Its Janus port is free again and the agent starts it within a few seconds (not Django's minute).
        wait_for(lambda: _beat_after(killed), 20, "the returned agent registered and beating")
        back = LiveNode.objects.get(name="edge-south")
        assert back.admin_secret != first.admin_secret  # a new Janus with new secrets: the runtime re-adopts it
        assert agent.poll() is None
    finally:
        if agent.poll() is None:
            os.killpg(agent.pid, signal.SIGTERM)  # the agent stops its Janus
            try:
                agent.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(agent.pid, signal.SIGKILL)
