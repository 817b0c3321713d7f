"""The task-worker fault: an import sent through nginx, its worker killed mid-apply (tests, bench).

Standard library only. :func:`import_with_worker_killed` uploads a people CSV as Ba Vì's organiser
(``POST /orgs/import/``, big enough that both its preview and its apply are background jobs), waits
for the preview, confirms it, waits until a task worker runs the apply job, SIGKILLs that worker
(its transaction rolls back; its lease expires), starts it again, and waits for the batch's end.
The worker is Celery's (``harness.Cluster.worker_command``); the job row keeps ``worker`` = ``host:pid``
of the pool process running it, which tells the host whose worker to kill.
"""

from __future__ import annotations

import http.client
import time

import harness

import load

PROXY = harness.address("proxy")


def _multipart(fields: dict, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "diemcau-cluster-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _post_form(cookie: str, path: str, body: bytes, content_type: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection(PROXY, 80, timeout=120)
    try:
        conn.request("POST", path, body, {
            "Host": PROXY, "Content-Type": content_type, "X-CSRFToken": load.CSRF,
            "Cookie": f"csrftoken={load.CSRF}; sessionid={cookie}"})
        reply = conn.getresponse()
        reply.read()
        return reply.status, reply.getheader("Location", "")
    finally:
        conn.close()


def _wait_sql(c, sql: str, done, timeout: float) -> str:
    end = time.monotonic() + timeout
    while True:
        value = c.psql(None, sql).strip()
        if done(value) or time.monotonic() > end:
            return value
        time.sleep(0.1)


def people_csv(units: list[str], rows: int, prefix: str) -> bytes:
    lines = ["Mã cá nhân,Họ và tên,Mã đơn vị,Nhóm"]
    lines += [f"{prefix}{i:06d},Nguyễn Thị Cụm {chr(65 + i % 26)},{units[i % len(units)]},Giáo viên"
              for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def import_with_worker_killed(c, world: dict, rows: int, prefix: str = "CLT") -> dict:
    """What happened: the batch's end state, the job's runs, people and audit entries made."""
    cookie = world["importer_cookie"]
    body, content_type = _multipart({"kind": "people", "csrfmiddlewaretoken": load.CSRF}, "nguoi.csv",
                                    people_csv(world["import_units"], rows, prefix))
    status, location = _post_form(cookie, "/orgs/import/", body, content_type)
    deadline = time.monotonic() + 60
    while status == 503 and time.monotonic() < deadline:  # right after the PostgreSQL restart: the app
        time.sleep(1.0)                                   # hosts' connections come back within seconds
        status, location = _post_form(cookie, "/orgs/import/", body, content_type)
    if status != 302 or "/orgs/import/" not in location:
        raise RuntimeError(f"the upload was refused: {status} {location}")
    batch = int(location.rstrip("/").rsplit("/", 1)[1])
    batch_sql = f"SELECT status FROM orgs_importbatch WHERE id = {batch}"
    previewed = _wait_sql(c, batch_sql, lambda s: s not in ("pending", ""), 300)
    if previewed != "ready":
        return {"batch": batch, "previewed": previewed}
    status, _ = _post_form(cookie, f"/orgs/import/{batch}/confirm/", f"csrfmiddlewaretoken={load.CSRF}".encode(),
                           "application/x-www-form-urlencoded")
    job_sql = (f"SELECT id, status, worker FROM core_job WHERE kind = 'orgs.import_apply' "
               f"AND params->>'batch_id' = '{batch}'")
    job = _wait_sql(c, job_sql, lambda s: "\trunning\t" in s and bool(s.split("\t")[2]), 180)
    job_id, job_status, worker = [*job.split("\t"), "", "", ""][:3]
    killed_host, killed_running = "", False
    if job_status == "running":
        pid = int(worker.rsplit(":", 1)[1])
        killed_host = next((h for h in harness.APP_HOSTS if pid in harness.namespace_pids(h)), "")
        if killed_host:
            c.kill_service(killed_host, "worker")  # SIGKILL mid-apply: rolled back, the lease expires
            killed_running = c.psql(None, batch_sql).strip() != "applied"
            c.start_worker(killed_host)
    final = _wait_sql(c, batch_sql, lambda s: s in ("applied", "failed"), 300)
    job_row = c.psql(None, f"SELECT status, attempts FROM core_job WHERE id = {job_id or 0}").split()
    people = int(c.psql(None, f"SELECT count(*) FROM orgs_person WHERE code LIKE '{prefix}%'"))
    audits = int(c.psql(None, f"SELECT count(*) FROM core_auditentry WHERE action = 'import.applied' "
                              f"AND object_id = '{batch}'"))
    return {"batch": batch, "previewed": previewed, "confirm_status": status, "killed_host": killed_host,
            "killed_while_running": killed_running, "final": final,
            "job_status": job_row[0] if job_row else "", "job_attempts": int(job_row[1]) if job_row else 0,
            "people": people, "rows": rows, "audit_entries": audits}


def completed_once(outcome: dict) -> bool:
    return (outcome.get("killed_while_running") and outcome.get("final") == "applied"
            and outcome.get("people") == outcome.get("rows") and outcome.get("audit_entries") == 1)
