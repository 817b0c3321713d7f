"""Backup and restore while check-ins are being written (Trust item 15).

A real server (Daphne, ASGI) on the test database takes check-ins over HTTP from several threads;
``manage.py backup`` runs in the middle of the stream. The archive is restored with
``manage.py restore`` into a fresh database and a fresh ``var/``: every check-in acknowledged before
the backup began is there, the database passes its integrity check, the keys came back (0600) so a
badge printed before still verifies, and a tampered archive or a non-empty target is refused.
Runs on PostgreSQL and on a file SQLite database (``DIEMCAU_SQLITE_TEST=/tmp/x.sqlite3``).
"""

import datetime
import io
import sqlite3
import stat
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from diemcau.attendance import badges
from diemcau.attendance.models import CheckIn
from diemcau.core.errors import DomainError
from diemcau.orgs.models import Person
from tests.attendance.test_sigkill import CSRF, _item
from tests.servers import child_env, free_port

ROOT = Path(__file__).resolve().parents[2]
PEOPLE, THREADS, BACKUP_AFTER_ACKS = 1500, 4, 100


def _start(env, port, log):
    """Daphne on the test database (as test_sigkill's, with room for a busy machine)."""
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "diemcau.asgi:application"], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).raise_for_status()
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("daphne did not start; see server.log") from None
            time.sleep(0.2)


def _manage(env, *args, check=True):
    proc = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, f"manage.py {args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _restored_target(env, tmp_path):
    """A fresh, empty database and var/ to restore into; returns (env, read client ids, integrity)."""
    db = connection.settings_dict
    env = dict(env, DIEMCAU_VAR=str(tmp_path / "var-restored"))
    table = CheckIn._meta.db_table
    if db["ENGINE"].endswith("postgresql"):
        import psycopg

        name = f"{db['NAME']}_restored"
        params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"],
                  "password": db["PASSWORD"]}
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{params['host']}:{params['port']}/{name}"

        def client_ids():
            with psycopg.connect(dbname=name, **params) as conn:
                return {str(r[0]) for r in conn.execute(f"SELECT client_id FROM {table}")}

        def integrity():
            with psycopg.connect(dbname=name, **params) as conn:  # every foreign key still points somewhere
                return conn.execute(f"SELECT count(*) FROM {table} c LEFT JOIN orgs_person p ON p.id = c.person_id"
                                    f" WHERE c.person_id IS NOT NULL AND p.id IS NULL").fetchone()[0] == 0

        def drop():
            with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    else:
        path = tmp_path / "restored.sqlite3"
        env["DIEMCAU_SQLITE"] = str(path)

        def client_ids():
            with sqlite3.connect(path) as conn:
                return {str(uuid.UUID(r[0])) for r in conn.execute(f"SELECT client_id FROM {table}")}

        def integrity():
            with sqlite3.connect(path) as conn:
                return (conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                        and not conn.execute("PRAGMA foreign_key_check").fetchall())

        def drop():
            pass
    return env, client_ids, integrity, drop


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_backup_while_check_ins_are_written_restores_every_acknowledged_one(world, organiser_bavi, tmp_path):
    env = child_env()
    env.pop("DJANGO_SECRET_KEY", None)
    var = tmp_path / "var"
    var.mkdir()
    # The server's key file is the test's key, so the test's session cookie signs in; the badge
    # below is signed with it too.
    (var / "secret_key").write_text(settings.SECRET_KEY)
    (var / "secret_key").chmod(0o600)
    (var / "media" / "uploads").mkdir(parents=True)
    (var / "media" / "uploads" / "hoi-nghi.txt").write_text("tệp tải lên")
    env["DIEMCAU_VAR"] = str(var)

    school = world["t"]["school_a"]
    people = [Person(unit=school, code=f"B{n:06d}", full_name=f"Người Sao Lưu {n}", category=Person.Category.TEACHER)
              for n in range(PEOPLE)]
    for p in people:
        p.refresh_search_key()
    people = Person.objects.bulk_create(people)
    items = [_item(world, p) for p in people]
    badge = badges.make_badge_token(world["session"], world["bavi_point"], world["people"]["a_t1"],
                                    expires_at=timezone.now() + datetime.timedelta(days=1))
    client = Client()
    client.force_login(organiser_bavi)
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}
    headers = {"X-CSRFToken": CSRF, "Content-Type": "application/json"}

    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    proc = _start(env, port, log)
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def stream(share, batch_size):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", cookies=cookies, headers=headers, timeout=30) as http:
            for i in range(0, len(share), batch_size):
                if stop.is_set():
                    return
                chunk = share[i:i + batch_size]
                try:
                    if batch_size == 1:
                        r = http.post("/api/attendance/checkins/", json=chunk[0])
                    else:
                        r = http.post("/api/attendance/checkins/batch/", json={"items": chunk})
                except httpx.HTTPError:
                    return  # the server was stopped at the end of the test
                assert 200 <= r.status_code < 300, f"refused: {r.status_code} {r.text[:300]}"
                with lock:
                    acked.extend(x["client_id"] for x in chunk)

    threads = [threading.Thread(target=stream, args=(items[k::THREADS], 1 if k % 2 == 0 else 3))
               for k in range(THREADS)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < BACKUP_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        with lock:
            before_backup = set(acked)
        assert len(before_backup) >= BACKUP_AFTER_ACKS, "the stream of check-ins did not start"
        out = tmp_path / "backups"
        _manage(env, "backup", "--output", str(out))
        with lock:
            during_backup = len(acked) - len(before_backup)
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        stop.set()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
    assert during_backup > 0, "no check-in was acknowledged while the backup ran: it was not taken mid-stream"
    assert len(acked) < PEOPLE, "the stream ended before the backup did"
    (archive,) = out.glob("diemcau-backup-*.tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # it holds the keys

    target, client_ids, integrity, drop = _restored_target(env, tmp_path)
    try:
        # A tampered archive is refused before anything is written.
        tampered = tmp_path / "tampered.tar.gz"
        with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as dst:
            for member in src.getmembers():
                data = src.extractfile(member).read()
                if member.name == "var/secret_key":
                    data = b"a-key-of-our-own"
                    member.size = len(data)
                dst.addfile(member, io.BytesIO(data))
        refused = _manage(target, "restore", str(tampered), check=False)
        assert refused.returncode != 0 and "sha256" in (refused.stdout + refused.stderr)
        # Nothing was written: the target's key is the one its start-up made, and it has no tables.
        assert (Path(target["DIEMCAU_VAR"]) / "secret_key").read_text() != settings.SECRET_KEY
        with pytest.raises(Exception, match="attendance_checkin"):
            client_ids()

        restored = _manage(target, "restore", str(archive))
        restored_key = Path(target["DIEMCAU_VAR"]) / "secret_key"
        assert restored_key.read_text() == settings.SECRET_KEY
        assert stat.S_IMODE(restored_key.stat().st_mode) == 0o600
        assert (Path(target["DIEMCAU_VAR"]) / "media" / "uploads" / "hoi-nghi.txt").read_text() == "tệp tải lên"
        ids = client_ids()
        missing = before_backup - ids
        assert not missing, f"{len(missing)} check-ins acknowledged before the backup are not in it"
        assert ids <= set(acked), "the restored database has check-ins nobody acknowledged"
        assert integrity()
        # A badge printed before the restore reads as genuine with the restored key, and as forged without it.
        with override_settings(SECRET_KEY=restored_key.read_text()):
            assert badges.read_badge_token(badge, session=world["session"], point=world["bavi_point"]).person
        with override_settings(SECRET_KEY="a-new-key-after-a-restore-without-keys"), pytest.raises(DomainError):
            badges.read_badge_token(badge, session=world["session"], point=world["bavi_point"])

        again = _manage(target, "restore", str(archive), check=False)  # the target now holds data
        assert again.returncode != 0 and "--force" in (again.stdout + again.stderr)
        _manage(target, "restore", str(archive), "--force")
        assert client_ids() == ids and integrity()
        print(f"\n{len(before_backup)} acknowledged before the backup, {during_backup} during it; "
              f"{len(ids)} restored ({connection.vendor}); {restored.stdout.strip().splitlines()[-1]}")
    finally:
        drop()
