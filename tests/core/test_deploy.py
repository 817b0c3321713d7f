"""Deployment behind a TLS proxy: settings from the environment, file modes, body limits, CSP.

The settings are read once, at start-up, from the environment; so the production configuration is
tested in a fresh Python process (``manage.py`` or a probe script) with that environment.
"""

import asyncio
import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
HOST = "diemcau.example.vn"


def _env(tmp_path, **extra) -> dict:
    """A production-like environment with its own var/ (SQLite there; no DATABASE_URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DIEMCAU_", "DATABASE_URL"))}
    env.update(PYTHONPATH=str(ROOT / "src"), DJANGO_SETTINGS_MODULE="diemcau.settings",
               DIEMCAU_VAR=str(tmp_path / "var"))
    env.update(extra)
    return env


def _production(tmp_path, **extra) -> dict:
    return _env(tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
                DJANGO_ALLOWED_HOSTS=HOST, DIEMCAU_TLS="1", DIEMCAU_TRUSTED_PROXIES="127.0.0.1", **extra)


def _manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


# A browser's sign-in page load and form POST, as they reach Django through the proxy.
PROBE = """
import json, sys
import django
django.setup()
from django.test import Client

peer, origin = sys.argv[1], sys.argv[2]
c = Client(enforce_csrf_checks=True, REMOTE_ADDR=peer, HTTP_HOST=sys.argv[3],
           HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="192.0.2.44")
page = c.get("/accounts/login/")
if page.status_code != 200:
    print(json.dumps({"get": page.status_code, "location": page.headers.get("Location", "")}))
    sys.exit(0)
token = c.cookies["csrftoken"].value
post = c.post("/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": token},
              HTTP_ORIGIN=origin)
print(json.dumps({"get": page.status_code, "post": post.status_code,
                  "hsts": page.headers.get("Strict-Transport-Security", ""),
                  "cookie_secure": bool(page.cookies["csrftoken"]["secure"])}))
"""


def _probe(env, peer, origin) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, peer, origin, HOST], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_post_behind_a_tls_proxy_passes_csrf(tmp_path):
    result = _probe(_production(tmp_path), "127.0.0.1", f"https://{HOST}")
    assert result["get"] == 200  # not redirected to https: the proxy said the request was https
    assert result["post"] == 302, result  # CSRF accepted the https Origin of the site itself
    assert result["hsts"].startswith("max-age=") and result["cookie_secure"]


def test_forwarded_proto_from_an_untrusted_peer_is_not_believed(tmp_path):
    result = _probe(_production(tmp_path), "198.51.100.7", f"https://{HOST}")
    # Plain http from a stranger, whatever it claims: sent to https, not served as if it were https.
    assert result["get"] == 301 and result["location"] == f"https://{HOST}/accounts/login/"


def test_csrf_trusted_origins_come_from_the_environment(tmp_path):
    # The public address of a second site in front of the same proxy, written with a space.
    env = _production(tmp_path, DJANGO_CSRF_TRUSTED_ORIGINS=f"https://{HOST}, https://hop.example.vn:8443")
    assert _probe(env, "127.0.0.1", "https://hop.example.vn:8443")["post"] == 302
    assert _probe(env, "127.0.0.1", "https://evil.example.com")["post"] == 403


def test_check_deploy_is_clean_in_production(tmp_path):
    out = _manage(_production(tmp_path), "check", "--deploy")
    assert out.returncode == 0, out.stderr
    report = out.stdout + out.stderr
    assert "WARNINGS" not in report and "System check identified no issues" in report, report


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_var_secret_key_and_database_are_private(tmp_path):
    env = _env(tmp_path)  # the embedded default: its own secret key file and SQLite under var/
    out = _manage(env, "check")
    assert out.returncode == 0, out.stderr
    var = tmp_path / "var"
    assert _mode(var) == 0o700
    assert _mode(var / "secret_key") == 0o600
    assert _mode(var / "diemcau.sqlite3") == 0o600


def test_files_of_an_older_install_are_made_private(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    for name in ("diemcau.sqlite3", "diemcau.sqlite3-wal", "diemcau.sqlite3-shm", "secret_key"):
        (var / name).write_text("x" * 60)
        (var / name).chmod(0o644)
    assert _manage(_env(tmp_path), "check").returncode == 0
    assert _mode(var) == 0o700
    for name in ("diemcau.sqlite3", "diemcau.sqlite3-wal", "diemcau.sqlite3-shm", "secret_key"):
        assert _mode(var / name) == 0o600, name


# --- request bodies --------------------------------------------------------------------------
@override_settings(REQUEST_MAX_BYTES=1000)
def test_a_large_body_is_refused_before_it_is_read(client, db):
    response = client.post("/accounts/login/", {"username": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    assert "quá lớn" in response.content.decode()


def _asgi(path, headers, chunks):
    """Send one HTTP request to the ASGI application; return (status, body, chunks it read)."""
    from diemcau.asgi import application

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"testserver"), *headers],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    pending = list(chunks)
    read = []
    sent = []

    async def receive():
        if not pending:
            await asyncio.sleep(3600)  # a client that sends nothing more
        chunk = pending.pop(0)
        read.append(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(application(scope, receive, send), 30))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, read


@pytest.mark.django_db(transaction=True)
@override_settings(REQUEST_MAX_BYTES=1000, IMPORT_MAX_BYTES=10_000)
def test_asgi_refuses_a_declared_large_body_without_reading_it():
    status, body, read = _asgi("/accounts/login/", [(b"content-length", b"50000000")], [b"x" * 1000] * 5)
    assert status == 413 and read == []
    assert "quá lớn".encode() in body
    # Imports are allowed more: the same body is read by Django (here, to send a stranger to sign in).
    status, _body, read = _asgi("/orgs/import/", [(b"content-length", b"5000")], [b"x" * 1000] * 5)
    assert status == 302 and len(read) == 5


@pytest.mark.django_db(transaction=True)
@override_settings(REQUEST_MAX_BYTES=1000)
def test_asgi_stops_reading_an_undeclared_large_body():
    status, _body, read = _asgi("/accounts/login/", [(b"transfer-encoding", b"chunked")], [b"x" * 600] * 50)
    assert status == 413 and len(read) == 2


# --- content security policy -----------------------------------------------------------------
def _connect_src(response) -> list[str]:
    policy = dict(p.strip().split(" ", 1) for p in response["Content-Security-Policy"].split(";") if p.strip())
    return policy["connect-src"].split()


@override_settings(DIEMCAU_MEDIA_HOSTS=["wss://media1.example.vn", "https://media1.example.vn"])
def test_csp_connects_only_to_self_and_the_configured_media_hosts(client, db):
    sources = _connect_src(client.get("/accounts/login/"))
    assert sources == ["'self'", "wss://media1.example.vn", "https://media1.example.vn"]


@override_settings(DIEMCAU_MEDIA_HOSTS=[])
def test_csp_media_hosts_default_to_the_live_nodes(client, db):
    from diemcau.live.models import LiveNode

    LiveNode.objects.create(name="root", role="root", base_port=18000, ws_url="ws://10.1.2.3:18188")
    sources = _connect_src(client.get("/accounts/login/"))
    assert sources == ["'self'", "ws://10.1.2.3:18188"]
