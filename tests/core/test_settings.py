"""Settings declared once: every setting diemcau reads is in settings.py, one VAR_DIR rule, no side
effects when settings are imported (folders and file modes are seen to when Django starts)."""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import django.conf.global_settings as django_defaults
import pytest

from diemcau import paths
from diemcau import settings as diemcau_settings
from diemcau.live import janus_node, media

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "diemcau"


def _python_sources():
    return [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]


def _settings_read() -> dict[str, list[str]]:
    """Every ``settings.NAME`` that diemcau's code reads, with the files that read it."""
    found: dict[str, list[str]] = {}
    for path in _python_sources():
        if path.name in ("settings.py", "settings_test.py"):
            continue
        for name in re.findall(r"\bsettings\.([A-Z][A-Z0-9_]+)\b", path.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(str(path.relative_to(SRC)))
    return found


def test_every_setting_read_is_declared_in_settings_or_by_django():
    read = _settings_read()
    assert "VAR_DIR" in read and "LIVE_TOKEN_MINUTES" in read  # the scan sees what it should
    missing = {name: files for name, files in read.items()
               if not hasattr(diemcau_settings, name) and not hasattr(django_defaults, name)}
    assert missing == {}


def test_no_setting_is_read_with_a_default_of_its_own():
    pattern = re.compile(r"getattr\(\s*settings\s*,\s*[\"'][A-Z_]+[\"']\s*,")
    offenders = [str(p.relative_to(SRC)) for p in _python_sources() if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_settings_our_code_reads_say_what_they_mean():
    """Each setting diemcau reads that Django does not define is declared under a comment (or with one)."""
    lines = (SRC / "settings.py").read_text(encoding="utf-8").splitlines()
    silent = []
    for name in sorted(_settings_read()):
        if hasattr(django_defaults, name):
            continue
        at = next((i for i, line in enumerate(lines) if re.match(rf"^\s*{name} = ", line)), None)
        if at is None:
            silent.append(name)  # not declared at all (the test above says so too)
            continue
        j = at - 1
        while j >= 0 and re.match(r"^\s*[A-Z][A-Z0-9_]+ = ", lines[j]):  # a group under one comment
            j -= 1
        if "#" not in lines[at] and (j < 0 or not lines[j].lstrip().startswith(("#", '"""', "``"))):
            silent.append(name)
    assert silent == []


@pytest.mark.parametrize("suffix", [".py", ".js", ".html"])
def test_a_time_zone_is_named_only_in_settings(suffix):
    zone = re.compile(r"Asia/|Etc/GMT|UTC\+7|\+07:00")
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob(f"*{suffix}")
                 if p.is_file() and p.name != "settings.py" and zone.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_one_var_dir_rule(monkeypatch, tmp_path):
    monkeypatch.setenv("DIEMCAU_VAR", str(tmp_path / "elsewhere"))
    assert paths.var_dir() == tmp_path / "elsewhere"
    assert janus_node.default_var_dir() == tmp_path / "elsewhere" / "janus"
    assert media.default_var_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("DIEMCAU_VAR")
    assert paths.var_dir() == ROOT / "var"


def test_the_studio_clock_keeps_the_settings_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    assert str(media.local_zone()) == "Asia/Tokyo"


def _env(var: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DIEMCAU_", "DATABASE_URL"))}
    env.update(PYTHONPATH=str(ROOT / "src"), DJANGO_SETTINGS_MODULE="diemcau.settings", DIEMCAU_VAR=str(var))
    env.update(extra)
    return env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_importing_settings_creates_nothing_and_start_up_prepares_var(tmp_path):
    var = tmp_path / "var"
    env = _env(var, DJANGO_SECRET_KEY="k" * 50)
    code = "import diemcau.settings as s; print(s.VAR_DIR)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(var)
    assert not var.exists()  # no folder, no database file, no key: importing settings has no side effects

    out = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert _mode(var) == 0o700 and _mode(var / "diemcau.sqlite3") == 0o600
    assert (var / "static").is_dir()  # WhiteNoise finds its folder
    assert not (var / "secret_key").exists()  # the key came from the environment


def test_the_embedded_default_keeps_its_key_across_starts(tmp_path):
    var = tmp_path / "var"
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = subprocess.run([sys.executable, "-c", code], env=_env(var), capture_output=True, text=True, timeout=180)
    again = subprocess.run([sys.executable, "-c", code], env=_env(var), capture_output=True, text=True, timeout=180)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert len(first.stdout.strip()) >= 50 and first.stdout == again.stdout
    assert _mode(var / "secret_key") == 0o600


def test_the_readme_names_every_variable_settings_read():
    """README's configuration table stays true: each environment variable settings.py reads is in it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    wildcards = re.findall(r"`([A-Z_]+_)\*`", readme)
    source = (SRC / "settings.py").read_text(encoding="utf-8") + (SRC / "paths.py").read_text(encoding="utf-8")
    read = set(re.findall(r"(?:os\.environ\.get|env_bool)\(\s*\"([A-Z_]+)\"", source))
    assert {"DIEMCAU_VAR", "DATABASE_URL", "DIEMCAU_TLS"} <= read
    missing = sorted(n for n in read if f"`{n}`" not in readme and not any(n.startswith(w) for w in wildcards))
    assert missing == []
