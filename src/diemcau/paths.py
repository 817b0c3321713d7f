"""Where diemcau keeps its files: the ``var/`` folder, and making its files private.

Importable without Django (deploy scripts render Janus nodes and media helpers run with it), so
settings, ``live/janus_node.py`` and ``live/media.py`` share one rule: ``$DIEMCAU_VAR``, or ``var/``
in the checkout. Nothing here runs at import.
"""

import os
import secrets
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def var_dir() -> Path:
    """The folder of the installation's data: the database, keys, imports, HLS, Janus nodes."""
    return Path(os.environ.get("DIEMCAU_VAR", PROJECT_DIR / "var"))


def private_dir(path: Path) -> Path:
    """Create ``path`` readable by this account only (var/ holds the database, keys, uploads)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` (empty) or narrow it to mode 0600: no other account may read it."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.chmod(0o600)
    return path


def installation_secret_key(var: Path) -> str:
    """The embedded default's secret key, kept in ``var/secret_key`` so sessions survive a restart.

    Read when it is there; written once, on an installation's first start (the one file settings
    may create: Django needs the key before anything else runs).
    """
    key_file = var / "secret_key"
    try:
        key = key_file.read_text().strip()
    except FileNotFoundError:
        key = ""
    if not key:
        private_file(private_dir(var) / "secret_key")
        key = secrets.token_urlsafe(50)
        key_file.write_text(key)
    return key


def make_private(var: Path, sqlite: Path | None) -> None:
    """At start-up: var/ mode 0700; the key and the SQLite database (and its -wal, -shm) mode 0600.

    SQLite gives its -wal and -shm files the database file's mode, so the database file is created
    here, private, before SQLite opens it. An older install's files are narrowed the same way.
    """
    private_dir(var)
    if (var / "secret_key").exists():
        private_file(var / "secret_key")
    if sqlite is not None:
        for suffix in ("", "-wal", "-shm"):
            file = sqlite.with_name(sqlite.name + suffix)
            if suffix == "" or file.exists():
                private_file(file)
