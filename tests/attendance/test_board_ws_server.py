"""The board's websocket through the ASGI server the Makefile and the systemd unit run (the one
bench/checkin.py chose), as a real server process: it connects with a session cookie, gets the
board's figures, and hears a check-in made elsewhere through Redis."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.test import Client
from websockets.sync.client import connect

from diemcau.attendance import checkin
from diemcau.attendance.models import CheckIn
from diemcau.orgs.scoping import SYSTEM
from tests.servers import ROOT, child_env, free_port, redis_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# The server chosen by bench/checkin.py's comparison (docs/BENCHMARKS.md, "ASGI server"); DIEMCAU_TEST_ASGI
# runs the websocket test through another of them.
CHOSEN = "uvicorn"
COMMANDS = {
    "uvicorn": [sys.executable, "-m", "uvicorn", "diemcau.asgi:application", "--loop", "uvloop", "--http",
                "httptools", "--ws", "websockets", "--lifespan", "off", "--no-access-log", "--no-proxy-headers"],
    "granian": [sys.executable, "-m", "granian", "--interface", "asginl", "--loop", "uvloop", "--no-access-log",
                "diemcau.asgi:application"],
    "daphne": [sys.executable, "-m", "daphne", "-v", "0", "diemcau.asgi:application"],
}
HOST_PORT = {"uvicorn": ("--host", "--port"), "granian": ("--host", "--port"), "daphne": ("-b", "-p")}


def test_the_chosen_server_is_the_one_deployed():
    serve = re.search(r"^serve:.*?(?=^\S)", (ROOT / "Makefile").read_text(), re.MULTILINE | re.DOTALL).group(0)
    assert f"bin/{CHOSEN} " in serve
    unit = (ROOT / "deploy" / "systemd" / "diemcau-web.service").read_text()
    assert f"bin/{CHOSEN} diemcau.asgi:application" in unit


@pytest.fixture
def redis_layer(settings):
    from channels.layers import channel_layers

    with redis_server() as url:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                               "CONFIG": {"hosts": [url]}}}
        channel_layers.backends.clear()
        yield url
        channel_layers.backends.clear()


def test_the_board_websocket_works_through_the_chosen_server(world, organiser_bavi, redis_layer, tmp_path):
    name = os.environ.get("DIEMCAU_TEST_ASGI", CHOSEN)
    client = Client()
    client.force_login(organiser_bavi)
    cookie = client.cookies["sessionid"].value
    port = free_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([*COMMANDS[name][:-1], HOST_PORT[name][0], "127.0.0.1", HOST_PORT[name][1], str(port),
                                   COMMANDS[name][-1]],
                                  env=child_env(REDIS_URL=redis_layer), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(server, port, log_path)
        url = (f"ws://127.0.0.1:{port}/ws/attendance/sessions/{world['session'].pk}/units/"
               f"{world['t']['bavi'].pk}/board/")
        with connect(url, additional_headers={"Cookie": f"sessionid={cookie}",
                                              "Origin": f"http://127.0.0.1:{port}"}, open_timeout=30) as ws:
            first = json.loads(ws.recv(timeout=30))
            assert first["figures"]["unit"] == world["t"]["bavi"].pk and first["figures"]["present"] == 0
            checkin.check_in(SYSTEM, session=world["session"], point=world["bavi_point"],
                             person=world["people"]["a_t1"], method=CheckIn.Method.ROLL_CALL, client_id=uuid.uuid4())
            deadline = time.monotonic() + 10
            present = 0
            while present != 1 and time.monotonic() < deadline:
                present = json.loads(ws.recv(timeout=10))["figures"]["present"]
            assert present == 1
    finally:
        server.terminate()
        server.wait(20)
    assert "Traceback" not in Path(log_path).read_text(errors="replace")


def _wait_ready(server, port, log_path):
    deadline = time.monotonic() + 180  # a loaded machine imports Django slowly
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, Path(log_path).read_text(errors="replace")
        time.sleep(0.3)
