"""A lean HTTP/1.1 load generator for the benchmarks: asyncio streams, keep-alive, no Django.

Run by ``bench/checkin.py`` as a child process, so that its CPU is its own and its memory is
measured apart from the server's:  python bench/httpload.py PLAN.json RESULT.json
The plan names the ports (one per server worker; connections are spread over them evenly), the
number of connections, a time limit, and the requests, each already rendered as bytes (built here
from the plan's items so the plan file stays small). Each connection sends its next request when
the previous reply has arrived (a closed loop: "as fast as the server takes them").

The result holds, per request: latency (s), the time its reply was complete (``time.monotonic``,
comparable across processes on Linux), its status and how many items it carried.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import resource
import sys
import time
import uuid
from array import array


def render(plan: dict):
    """The requests of a plan as raw bytes, with how many check-ins each carries (made as sent)."""
    kind = plan["kind"]
    host = b"Host: 127.0.0.1\r\n"
    csrf = plan["csrf"]
    if kind == "ceiling":
        # The bare endpoint, with the same cookies a kiosk sends (not read by the view).
        cookie = plan["cookies"][0]
        request = (f"GET {plan['path']} HTTP/1.1\r\n".encode() + host
                   + f"Cookie: csrftoken={csrf}; sessionid={cookie}\r\n\r\n".encode())
        yield from [(request, 1)] * plan["count"]
        return
    if kind == "raw":
        yield from _raw(plan)
        return
    session_id = plan["session_id"]
    cookies = plan["cookies"]
    # ``bearer``: the cookies are device tokens (points.devices), sent instead of a session and CSRF.
    auth = ((lambda i: f"Authorization: Bearer {cookies[i]}\r\n\r\n") if plan.get("bearer") else
            (lambda i: f"X-CSRFToken: {csrf}\r\nCookie: csrftoken={csrf}; sessionid={cookies[i]}\r\n\r\n"))
    namespace = uuid.UUID(plan["namespace"])
    for group in plan["requests"]:  # each: [cookie index, [[person_id, point_id], ...]]
        cookie_index, items = group
        bodies = []
        for person_id, point_id in items:
            item = {"client_id": str(uuid.uuid5(namespace, f"{person_id}")), "session_id": session_id,
                    "point_id": point_id, "person_id": person_id, "method": "roll_call",
                    "device": f"kiosk-{point_id}"}
            if kind == "batch":
                # An offline kiosk syncing its queue: each item keeps the time it was scanned.
                item["scanned_at"] = datetime.datetime.now(datetime.UTC).isoformat()
            bodies.append(item)
        if kind == "batch":
            body = json.dumps({"items": bodies}).encode()
            path = plan["path_batch"]
        else:
            body = json.dumps(bodies[0]).encode()
            path = plan["path"]
        request = (f"POST {path} HTTP/1.1\r\n".encode() + host
                   + b"Content-Type: application/json\r\n"
                   + f"Content-Length: {len(body)}\r\n{auth(cookie_index)}".encode() + body)
        yield request, len(items)


def _raw(plan: dict):
    """Requests described by the caller (bench/votes.py): each [path, content type, body, cookie index],
    a POST with the signed-in person's cookies and CSRF token, plus ``plan["headers"]`` if any."""
    csrf, cookies, extra = plan["csrf"], plan["cookies"], plan.get("headers", "")
    for path, content_type, text, cookie_index in plan["requests"]:
        body = text.encode()
        yield (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
               f"Content-Length: {len(body)}\r\nX-CSRFToken: {csrf}\r\n{extra}"
               f"Cookie: csrftoken={csrf}; sessionid={cookies[cookie_index]}\r\n\r\n").encode() + body, 1


async def _read_reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length) if length else b""
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
        body += await reader.readexactly(size + 2)
        if size == 0:
            return status, body


async def run(plan: dict, requests) -> dict:
    ports = plan["ports"]
    deadline = time.monotonic() + plan["seconds"]
    latencies, acks, counts = array("d"), array("d"), array("l")
    statuses = array("l")
    errors: dict[str, int] = {}
    todo = iter(requests)
    samples: list[str] = []

    async def connection(index: int):
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[index % len(ports)])
        try:
            for request, n in todo:
                started = time.monotonic()
                writer.write(request)
                status, body = await _read_reply(reader)
                done = time.monotonic()
                latencies.append(done - started)
                acks.append(done)
                counts.append(n)
                statuses.append(status)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                    if len(samples) < 3:
                        samples.append(body[:300].decode("utf-8", "replace"))
                if done > deadline:
                    break
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(connection(i) for i in range(plan["connections"])))
    return {"started": started, "ended": time.monotonic(), "latencies": latencies.tolist(),
            "acks": acks.tolist(), "counts": counts.tolist(), "statuses": statuses.tolist(),
            "errors": errors, "error_samples": samples}


def _hwm_kib() -> int:
    """This process's peak resident memory since exec (ru_maxrss would include the parent's before fork)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    plan_path, result_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as f:
        plan = json.load(f)
    requests = render(plan)
    cpu = time.process_time()
    result = asyncio.run(run(plan, requests))
    result["cpu_s"] = time.process_time() - cpu
    result["peak_mib"] = _hwm_kib() / 1024
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
