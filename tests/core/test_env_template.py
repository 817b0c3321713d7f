"""Configuration only from the environment: deploy/diemcau.env names every variable settings read
(and nothing else), and DIEMCAU_PUBLIC_URL derives the host names, CSRF origin, cookies and links."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

from diemcau.core import links

pytestmark = pytest.mark.smoke

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "diemcau"
TEMPLATE = ROOT / "deploy" / "diemcau.env"
READ = re.compile(r"(?:os\.environ\.get|env_bool|env_list)\(\s*\"([A-Z][A-Z0-9_]+)\"")
# Named in the template for the Celery task queue (issue 12, part "tasks"), read once that is merged.


def _template_names() -> set[str]:
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", TEMPLATE.read_text(encoding="utf-8"), re.MULTILINE))


def _settings_names() -> set[str]:
    return set(READ.findall((SRC / "settings.py").read_text(encoding="utf-8")
                            + (SRC / "paths.py").read_text(encoding="utf-8")))


def _unit_names() -> set[str]:
    units = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "deploy" / "systemd").glob("*.service"))
    return set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", units))


def test_the_template_names_every_variable_settings_read():
    read = _settings_names()
    assert {"DATABASE_URL", "DATABASE_REPLICA_URL", "DIEMCAU_PUBLIC_URL", "REDIS_URL"} <= read
    assert sorted(read - _template_names()) == []


def test_the_template_names_nothing_that_is_not_read():
    """Each variable is read by settings or by the systemd units."""
    stray = _template_names() - _settings_names() - _unit_names()
    assert sorted(stray) == []
    assert {"DIEMCAU_BIND", "DIEMCAU_PORT", "DIEMCAU_WEB_WORKERS"} <= _unit_names()


def test_each_variable_in_the_template_is_explained():
    """Every variable line follows a comment (its meaning, default, example) or another variable."""
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    variable = re.compile(r"^#?[A-Z][A-Z0-9_]+=")
    bare = []
    for i, line in enumerate(lines):
        if variable.match(line):
            j = i - 1
            while j >= 0 and variable.match(lines[j]):
                j -= 1
            if j < 0 or not lines[j].startswith("# "):
                bare.append(line)
    assert bare == []


PROBE = """
import json
import diemcau.settings as s
print(json.dumps({"hosts": s.ALLOWED_HOSTS, "csrf": s.CSRF_TRUSTED_ORIGINS, "secure": s.SESSION_COOKIE_SECURE,
                  "aliases": sorted(s.DATABASES), "replica_host": s.DATABASES.get("replica", {}).get("HOST"),
                  "static": str(s.STATIC_ROOT),
                  "timeout": s.DATABASES["default"].get("OPTIONS", {}).get("connect_timeout")}))
"""


def _settings(tmp_path, **env) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DIEMCAU_", "DATABASE_"))}
    base.update(PYTHONPATH=str(ROOT / "src"), DIEMCAU_VAR=str(tmp_path), DJANGO_SECRET_KEY="k" * 50, **env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=base, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_public_url_gives_hosts_origins_and_secure_cookies(tmp_path):
    derived = _settings(tmp_path, DIEMCAU_PUBLIC_URL="https://hop.moet.gov.vn/")
    assert derived["hosts"] == ["hop.moet.gov.vn"]
    assert derived["csrf"] == ["https://hop.moet.gov.vn"]
    assert derived["secure"] is True
    explicit = _settings(tmp_path, DIEMCAU_PUBLIC_URL="https://hop.moet.gov.vn",
                         DJANGO_ALLOWED_HOSTS="a.example.vn, b.example.vn",
                         DJANGO_CSRF_TRUSTED_ORIGINS="https://a.example.vn:8443", DIEMCAU_SECURE_COOKIES="0")
    assert explicit["hosts"] == ["a.example.vn", "b.example.vn"]
    assert explicit["csrf"] == ["https://a.example.vn:8443"]
    assert explicit["secure"] is False
    alone = _settings(tmp_path)  # one machine, nothing set: loopback, no https
    assert alone["hosts"] == ["127.0.0.1", "localhost"] and alone["csrf"] == [] and alone["secure"] is False


def test_a_replica_url_adds_the_replica_alias(tmp_path):
    cluster = _settings(tmp_path, DATABASE_URL="postgres://u:p@10.20.0.5:5432/diemcau",
                        DATABASE_REPLICA_URL="postgres://u:p@10.20.0.6:5432/diemcau",
                        DIEMCAU_STATIC_ROOT=str(tmp_path / "static"))
    assert cluster["aliases"] == ["default", "replica"] and cluster["replica_host"] == "10.20.0.6"
    assert cluster["static"] == str(tmp_path / "static") and cluster["timeout"] == 5
    assert _settings(tmp_path, DATABASE_URL="postgres://u:p@10.20.0.5:5432/diemcau")["aliases"] == ["default"]


def test_absolute_links_use_the_public_url(settings):
    request = RequestFactory().get("/", HTTP_HOST="10.20.0.11:8000")
    settings.PUBLIC_URL = "https://hop.moet.gov.vn"
    assert links.absolute_url(request, "/attendance/self/abc/") == "https://hop.moet.gov.vn/attendance/self/abc/"
    settings.PUBLIC_URL = ""
    settings.ALLOWED_HOSTS = ["10.20.0.11"]
    assert links.absolute_url(request, "/x/") == "http://10.20.0.11:8000/x/"


def test_loopback_is_named_only_as_a_local_default():
    """No code assumes 127.0.0.1 for another host: each use is a bind or default of this host's own."""
    allowed = {"settings.py", "live/janus_node.py", "live/janus_plugins.py", "live/media.py", "live/runtime.py",
               "live/runtime_room.py",
               "live/janus_client.py", "core/backup.py", "live/static/live/adapter.js", "live/renditions.py",
               "demo/after_day.py", "demo/convocations.py",  # the demo: its own server and synthetic feed
               "live/sip_gateway.py", "live/sip_dialling.py",  # Kamailio, rtpengine, the relay, the root's Janus
               "live/sip_thumbs.py"}  # the relay's copy of a hall's video to its own ffmpeg on this host
    found = {str(p.relative_to(SRC)) for p in SRC.rglob("*") if p.suffix in (".py", ".js", ".html")
             and "vendor" not in p.parts and re.search(r"127\.0\.0\.1|localhost", p.read_text(encoding="utf-8"))}
    assert sorted(found - allowed) == []
