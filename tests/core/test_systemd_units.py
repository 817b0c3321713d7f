"""The systemd units of deploy/systemd/: hardened, reading the environment template, and valid for
``systemd-analyze verify`` (their paths pointed at this checkout and virtualenv)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.smoke

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def test_the_four_services_are_there_and_hardened():
    assert [u.name for u in UNITS] == ["diemcau-live.service", "diemcau-media-node.service",
                                       "diemcau-web.service", "diemcau-worker.service"]
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8")
        for line in ("EnvironmentFile=/etc/diemcau/diemcau.env", "User=diemcau", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "PrivateTmp=yes", "Restart=always"):
            assert line in text, f"{unit.name}: {line}"
    web = (ROOT / "deploy" / "systemd" / "diemcau-web.service").read_text(encoding="utf-8")
    assert re.search(r"--host \$\{DIEMCAU_BIND\} --port \$\{DIEMCAU_PORT\} --workers \$\{DIEMCAU_WEB_WORKERS\}", web)
    assert "celery -A diemcau worker" in (ROOT / "deploy/systemd/diemcau-worker.service").read_text(encoding="utf-8")


def test_systemd_analyze_verifies_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (systemd's own tool; Debian package systemd)")
    venv = Path(sys.executable).parent.parent
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8")
        text = (text.replace("/opt/diemcau/.venv", str(venv)).replace("/opt/diemcau", str(ROOT))
                .replace("/etc/diemcau/diemcau.env", str(ROOT / "deploy" / "diemcau.env")))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    out = subprocess.run([analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.glob("*.service"))],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
