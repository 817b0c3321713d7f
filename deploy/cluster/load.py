"""Check-ins and board viewers against the cluster's proxy: what tests/cluster and bench/cluster.py send.

Standard library only. :func:`send_checkins` runs kiosks as threads, each on a keep-alive HTTP/1.1
connection to nginx, posting ``POST /api/attendance/checkins/`` as the operator of the person's
point. A check-in that gets no 200 (connection cut, 502 from a dying host, 503 while PostgreSQL
restarts) is sent again with the **same client id**, as a kiosk's offline queue does, until it is
acknowledged or the deadline passes. Every reply's status and the app host that answered (nginx's
``X-Diemcau-Upstream``, the harness's own header) are kept.
"""

from __future__ import annotations

import collections
import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

NAMESPACE = uuid.UUID("6f1c3b1e-8d6a-4a59-9a55-0b5c0d1ce001")  # the check-in benchmark's
CSRF = "clustercsrftokenclustercsrftoken"


def client_id(person_id: int, tag: str = "") -> str:
    return str(uuid.uuid5(NAMESPACE, f"{tag}{person_id}"))


@dataclass
class Outcome:
    """What a run of check-ins saw."""

    acked: dict = field(default_factory=dict)  # client id -> upstream that acknowledged it
    statuses: collections.Counter = field(default_factory=collections.Counter)
    retried: int = 0  # check-ins sent again by the client
    failed_over: int = 0  # acknowledged by another host than the one that failed them (client or nginx retry)
    unacked: list = field(default_factory=list)
    ack_times: list = field(default_factory=list)  # monotonic time of each acknowledgement
    started: float = 0.0
    ended: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def per_s(self, start: float | None = None, end: float | None = None) -> float:
        start = self.started if start is None else start
        end = self.ended if end is None else end
        n = sum(1 for t in self.ack_times if start <= t <= end)
        return n / max(1e-9, end - start)


class Kiosk:
    """One keep-alive connection to the proxy, as one point's operator."""

    def __init__(self, host: str, cookies: dict[int, str], session_id: int):
        self.host, self.cookies, self.session_id = host, cookies, session_id
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: dict, point_id: int) -> tuple[int, str, bytes]:
        """(status, upstream, body); status 0 for a connection that failed."""
        payload = json.dumps(body).encode()
        headers = {"Host": self.host, "Content-Type": "application/json", "X-CSRFToken": CSRF,
                   "Cookie": f"csrftoken={CSRF}; sessionid={self.cookies[point_id]}"}
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, 80, timeout=30)
            self.conn.request("POST", path, payload, headers)
            reply = self.conn.getresponse()
            data = reply.read()
            if reply.getheader("Connection", "").lower() == "close":
                self.close()
            return reply.status, reply.getheader("X-Diemcau-Upstream", ""), data
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, "", b""

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def send_checkins(host: str, world: dict, people: list, *, threads: int = 8, deadline_s: float = 120.0,
                  tag: str = "", pace_s: float = 0.0, on_ack=None, retry_pause_s: float = 0.2) -> Outcome:
    """Check in ``people`` ([person_id, point_id] pairs, in arrival order) through the proxy at ``host``."""
    cookies = {o["point_id"]: o["cookie"] for o in world["operators"]}
    queue = collections.deque(people)
    outcome = Outcome(started=time.monotonic())
    stop_at = outcome.started + deadline_s
    take = threading.Lock()

    def kiosk_loop():
        kiosk = Kiosk(host, cookies, world["session_id"])
        while True:
            with take:
                if not queue:
                    break
                person_id, point_id = queue.popleft()
            cid = client_id(person_id, tag)
            body = {"client_id": cid, "session_id": world["session_id"], "point_id": point_id,
                    "person_id": person_id, "method": "roll_call", "device": f"kiosk-{point_id}"}
            failed_on = ""
            while True:
                status, upstream, _data = kiosk.post("/api/attendance/checkins/", body, point_id)
                with outcome.lock:
                    outcome.statuses[status] += 1
                if status == 200:
                    last = upstream.split(",")[-1].strip()
                    with outcome.lock:
                        outcome.acked[cid] = last
                        outcome.ack_times.append(time.monotonic())
                        if "," in upstream or (failed_on and failed_on != last):
                            outcome.failed_over += 1
                    if on_ack is not None:
                        on_ack(cid)
                    break
                failed_on = failed_on or upstream.split(",")[0].strip()
                if time.monotonic() > stop_at:
                    with outcome.lock:
                        outcome.unacked.append(cid)
                    break
                with outcome.lock:
                    outcome.retried += 1
                time.sleep(retry_pause_s)
            if pace_s:
                time.sleep(pace_s)
        kiosk.close()

    workers = [threading.Thread(target=kiosk_loop, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    outcome.ended = time.monotonic()
    return outcome


class BoardViewer(threading.Thread):
    """A board viewer through the proxy that reconnects as the page's htmx-ext-ws does.

    Keeps every ``(monotonic time, present)`` it receives and the number of connections it made.
    Needs the ``websockets`` package (the app's own dependency); only tests and benchmarks use it.
    """

    def __init__(self, host: str, world: dict, unit_id: int | None = None):
        super().__init__(daemon=True)
        self.url = (f"ws://{host}/ws/attendance/sessions/{world['session_id']}/units/"
                    f"{unit_id or world['ministry_id']}/board/?html=0")
        self.headers = {"Cookie": f"sessionid={world['viewer_cookie']}", "Origin": f"http://{host}"}
        self.figures: list[tuple[float, int]] = []
        self.connections = 0
        self.closes: list[float] = []
        self.stopping = threading.Event()
        self.changed = threading.Condition()

    def run(self):
        from websockets.sync.client import connect

        delay = 0.25
        while not self.stopping.is_set():
            try:
                with connect(self.url, additional_headers=self.headers, open_timeout=5) as ws:
                    self.connections += 1
                    delay = 0.25
                    while not self.stopping.is_set():
                        try:
                            message = ws.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        data = json.loads(message)
                        if data.get("type") == "board":
                            with self.changed:
                                self.figures.append((time.monotonic(), int(data["figures"]["present"])))
                                self.changed.notify_all()
            except Exception:  # closed by the server or refused: reconnect with a short back-off
                self.closes.append(time.monotonic())
                self.stopping.wait(delay)
                delay = min(delay * 2, 2.0)

    @property
    def present(self) -> int:
        return self.figures[-1][1] if self.figures else -1

    def wait_present(self, at_least: int, timeout: float) -> float | None:
        """Monotonic time at which the board first showed ``at_least`` present, or None."""
        end = time.monotonic() + timeout
        with self.changed:
            while True:
                for t, present in self.figures:
                    if present >= at_least:
                        return t
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)

    def stop(self):
        self.stopping.set()
        self.join(5)
