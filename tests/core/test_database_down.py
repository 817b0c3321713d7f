"""PostgreSQL down: a clear 503 (Retry-After, a Vietnamese page in the layout, JSON under /api/),
one log line rather than a traceback per request, and the next request after it returns works.

A real server process reaches the test database through a TCP relay that the test closes (every
connection cut, the port refusing: what a stopped PostgreSQL looks like) and opens again.
"""

import re
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from django.db import connection

from tests.servers import ROOT, child_env, free_port

pytestmark = [pytest.mark.django_db(transaction=True)]


class Relay:
    """A TCP relay 127.0.0.1:port → PostgreSQL that can refuse and cut connections (``down``) and come back."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, free_port()
        self.listener, self.sockets, self.lock = None, [], threading.Lock()

    def up(self):
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_database_down_gives_a_503_then_recovers(tmp_path):
    db = connection.settings_dict
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("the outage is of PostgreSQL (the embedded SQLite is a file, not a server)")
    relay = Relay((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    relay.up()
    port = free_port()
    env = child_env(DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD']}@127.0.0.1:{relay.port}/{db['NAME']}",
                    DIEMCAU_DB_CONNECT_TIMEOUT="2", DIEMCAU_LOG_LEVEL="INFO", DJANGO_SETTINGS_MODULE="diemcau.settings")
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "diemcau.asgi:application", "--host", "127.0.0.1",
                                   "--port", str(port), "--lifespan", "off", "--no-access-log"], env=env, cwd=ROOT,
                                  stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        assert httpx.get(f"{base}/accounts/login/").status_code == 200

        relay.down()
        # A signed-in browser's request needs its session from the database; a page that needs nothing
        # from it (the anonymous sign-in form, static files) is still served.
        assert httpx.get(f"{base}/accounts/login/", timeout=30).status_code == 200
        cookies = {"sessionid": "k" * 32}
        page = httpx.get(f"{base}/accounts/login/", headers={"Accept-Language": "vi"}, cookies=cookies, timeout=30)
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        assert "Cơ sở dữ liệu của hệ thống tạm thời không truy cập được" in page.text
        assert 'class="topbar"' in page.text and "app.css" in page.text  # the site's layout
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        api = httpx.post(f"{base}/api/attendance/checkins/", json={}, cookies=cookies, timeout=30)
        assert api.status_code == 503 and api.headers["Retry-After"] == "5"
        assert api.json()["code"] == "database_unavailable"
        probe = httpx.get(f"{base}/healthz", timeout=30)
        assert probe.status_code == 503 and probe.json()["database"] == "down"

        relay.up()
        # The database is back: a client retrying as Retry-After says gets its page within seconds, and
        # meanwhile only ever the clear 503 (never a 500 from a connection the outage broke).
        statuses, deadline = [], time.monotonic() + 15
        while not statuses or statuses[-1] != 200:
            assert time.monotonic() < deadline, statuses
            if statuses:
                time.sleep(0.5)
            statuses.append(httpx.get(f"{base}/accounts/login/", cookies=cookies, timeout=30).status_code)
        assert set(statuses) <= {200, 503}, statuses
        assert httpx.get(f"{base}/healthz", timeout=30).json()["status"] == "ok"
    finally:
        server.terminate()
        server.wait(20)
        relay.down()
    text = log_path.read_text(errors="replace")
    assert len(re.findall(r"database unavailable", text)) == 1, text  # one line for the outage
    assert "Traceback" not in text, text
