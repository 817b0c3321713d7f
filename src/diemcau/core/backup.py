"""Backup and restore of an installation: the database, the keys under ``var/``, uploaded media.

One archive (``diemcau-backup-<time>.tar.gz``, mode 0600: it holds the keys) with a manifest that
lists every member and its sha256. The database is copied consistently while the server runs:
SQLite through its online backup API (one read transaction, so WAL writers carry on and the copy
holds every commit made before it began; copying the file could miss what still sits in the WAL),
PostgreSQL through ``pg_dump -Fc`` (one snapshot). The password reaches ``pg_dump`` and
``pg_restore`` in ``PGPASSWORD``, never on their command line.

Restoring replaces the database and the keys; the server must be stopped meanwhile
(docs/OPERATIONS.md). Left out on purpose: collected static files, HLS segments and the live
thumbnails, which are rebuilt or short-lived.
"""

import datetime
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .errors import DomainError

log = logging.getLogger("diemcau.backup")
FORMAT = 1
MANIFEST = "manifest.json"
KEY_PATTERNS = ("*key*", "*secret*", "*.pem")  # files at the top of var/ that sign or authenticate
NODE_CONFIGS = ("janus", "*.jcfg")  # Janus node configurations (their API and admin secrets)
EMPTY_TABLES = {"django_migrations", "django_content_type", "auth_permission"}  # what `migrate` fills
CHUNK = 1024 * 1024


@dataclass
class Restored:
    manifest: dict
    members: int
    warnings: list[str] = field(default_factory=list)


# --- backup -------------------------------------------------------------------------------------------
def create_backup(output_dir: Path) -> Path:
    """Write a backup archive into ``output_dir`` and return its path."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = connections["default"].settings_dict
    engine = _engine(db)
    now = timezone.now()
    with tempfile.TemporaryDirectory(prefix=".diemcau-backup-", dir=output_dir) as tmp:
        dump = Path(tmp) / ("diemcau.sqlite3" if engine == "sqlite" else "diemcau.pgdump")
        if engine == "sqlite":
            _sqlite_backup(Path(db["NAME"]), dump)
        else:
            _pg_run("pg_dump", db, ["-Fc", "--no-owner", "--no-privileges", "-f", str(dump)], dbname_flag="")
        members = [(f"db/{dump.name}", dump, 0o600)]
        members += [(f"var/{p.relative_to(_var()).as_posix()}", p, 0o600) for p in key_files()]
        members += [(f"media/{p.relative_to(_media()).as_posix()}", p, 0o644) for p in media_files()]
        manifest = {
            "format": FORMAT,
            "diemcau_version": _version(),
            "created_at": now.isoformat(),
            "engine": engine,
            "secret_key_source": "env" if os.environ.get("DJANGO_SECRET_KEY") else "var/secret_key",
            "secret_key_fingerprint": secret_fingerprint(settings.SECRET_KEY),
            "skipped": ["var/static (collectstatic)", "var/hls", "var/live/thumbs", "logs"],
            "members": {name: {"sha256": _sha256(path), "size": path.stat().st_size} for name, path, _m in members},
        }
        final = output_dir / f"diemcau-backup-{now.strftime('%Y%m%d-%H%M%S')}.tar.gz"
        partial = Path(tmp) / (final.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
                _add_bytes(tar, MANIFEST, data, 0o600)
                for name, path, mode in members:
                    info = tar.gettarinfo(str(path), arcname=name)
                    info.mode, info.uid, info.gid, info.uname, info.gname = mode, 0, 0, "", ""
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)  # appears whole or not at all
    log.info("backup written: %s (%d members, %d bytes)", final, len(members) + 1, final.stat().st_size)
    return final


def key_files() -> list[Path]:
    """The keys and secrets under var/: the key that signs sessions and badges, node secrets."""
    var = _var()
    found = set()
    if var.is_dir():
        for pattern in KEY_PATTERNS:
            found.update(p for p in var.glob(pattern) if p.is_file())
        found.update(p for p in (var / NODE_CONFIGS[0]).rglob(NODE_CONFIGS[1]) if p.is_file())
    return sorted(found)


def media_files() -> list[Path]:
    media = _media()
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.is_dir() else []


def secret_fingerprint(key: str) -> str:
    """A short digest that tells two keys apart without revealing either."""
    return hashlib.sha256(b"diemcau-backup-fingerprint:" + key.encode()).hexdigest()[:16]


def _sqlite_backup(source: Path, target: Path):
    # The online backup API copies one consistent snapshot: every transaction committed before it
    # began, including those still in the WAL, and none half-written. Writers are not blocked.
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
        _check_sqlite(dst)
    finally:
        dst.close()
        src.close()


def _check_sqlite(conn):
    result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise DomainError(_("The database copy failed its integrity check: %(result)s") % {"result": result},
                          "backup_corrupt")


# --- restore ------------------------------------------------------------------------------------------
def restore_backup(archive: Path, *, force: bool = False) -> Restored:
    """Restore ``archive`` into the configured database and var/ (the server must be stopped)."""
    archive = Path(archive)
    db = connections["default"].settings_dict
    engine = _engine(db)
    with tempfile.TemporaryDirectory(prefix=".diemcau-restore-", dir=_var_parent()) as tmp:
        manifest, files = _unpack_verified(archive, Path(tmp))
        if manifest["engine"] != engine:
            raise DomainError(_("This backup holds a %(archive)s database; this installation uses %(here)s.")
                              % {"archive": manifest["engine"], "here": engine}, "restore_wrong_engine")
        if not force and _holds_data():
            raise DomainError(_("The database already holds data; restoring would replace it. Stop the server, "
                                "and run the restore again with --force to replace it."), "restore_not_empty")
        dump = next(path for name, path in files.items() if name.startswith("db/"))
        connections.close_all()
        if engine == "sqlite":
            _sqlite_replace(Path(db["NAME"]), dump)
        else:
            _pg_run("pg_restore", db, ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error",
                                       "--single-transaction", str(dump)], dbname_flag="-d")
        for name, path in files.items():
            top, _sep, rest = name.partition("/")
            if top == "var":
                _install(path, _var() / rest, 0o600)
            elif top == "media":
                _install(path, _media() / rest, 0o644)
    result = Restored(manifest=manifest, members=len(files))
    if engine == "sqlite":
        with sqlite3.connect(db["NAME"]) as conn:
            _check_sqlite(conn)
    env_key = os.environ.get("DJANGO_SECRET_KEY")
    if env_key and secret_fingerprint(env_key) != manifest.get("secret_key_fingerprint"):
        result.warnings.append(_("DJANGO_SECRET_KEY differs from the key of the backup: badges printed before "
                                 "it will read as forged. Set the key the backup was made with."))
    audit.record(None, "system.restored", object_type="backup", object_id=manifest["created_at"][:64],
                 object_repr=archive.name, after={"created_at": manifest["created_at"], "engine": engine,
                                                  "members": len(files), "archive_sha256": _sha256(archive)})
    log.warning("restored %s (made %s, %d members)", archive.name, manifest["created_at"], len(files))
    return result


def _unpack_verified(archive: Path, into: Path) -> tuple[dict, dict[str, Path]]:
    """Check the manifest against every member (names, types, sha256) and unpack them into ``into``."""
    def refuse(reason):
        return DomainError(_("This backup archive cannot be trusted: %(reason)s") % {"reason": reason},
                           "restore_bad_archive")

    try:
        tar = tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise refuse(str(exc)) from None
    with tar:
        try:
            manifest = json.load(tar.extractfile(MANIFEST))
            listed = manifest["members"]
        except (KeyError, TypeError, ValueError, tarfile.TarError) as exc:
            raise refuse(f"no readable manifest ({exc})") from None
        if manifest.get("format") != FORMAT:
            raise refuse(f"format {manifest.get('format')!r} is not {FORMAT}")
        files = {}
        for member in tar.getmembers():
            if member.name == MANIFEST:
                continue
            path = PurePosixPath(member.name)
            if (not member.isfile() or path.is_absolute() or ".." in path.parts
                    or path.parts[0] not in ("db", "var", "media") or member.name not in listed):
                raise refuse(f"unexpected member {member.name!r}")
            target = into / str(len(files))
            digest = hashlib.sha256()
            with tar.extractfile(member) as src, open(target, "wb") as dst:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
            if digest.hexdigest() != listed[member.name]["sha256"]:
                raise refuse(f"sha256 of {member.name} does not match the manifest")
            files[member.name] = target
        if set(files) != set(listed):
            raise refuse(f"members missing: {', '.join(sorted(set(listed) - set(files)))}")
        if sum(1 for name in files if name.startswith("db/")) != 1:
            raise refuse("no database in the archive")
    return manifest, files


def _holds_data() -> bool:
    """Whether the configured database holds anything beyond what `migrate` writes."""
    with connection.cursor() as cur:
        for table in connection.introspection.table_names(cur):
            if table in EMPTY_TABLES:
                continue
            cur.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # a catalogue name, quoted
            if cur.fetchone():
                return True
    return False


def _sqlite_replace(target: Path, dump: Path):
    # Written beside the target, checked, then renamed over it: a crash leaves the old file or the
    # new one. The old WAL and shared-memory files go first, or SQLite would replay them into the new file.
    staged = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(dump, staged)
    with sqlite3.connect(staged) as conn:
        _check_sqlite(conn)
    with open(staged, "rb") as f:
        os.fsync(f.fileno())
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staged, target)


def _install(source: Path, target: Path, mode: int):
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staged = target.with_name(f".{target.name}.restoring")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as dst, open(source, "rb") as src:
        shutil.copyfileobj(src, dst, CHUNK)
        dst.flush()
        os.fsync(dst.fileno())
    os.chmod(staged, mode)
    os.replace(staged, target)


# --- shared -------------------------------------------------------------------------------------------
def _pg_run(program: str, db: dict, args: list[str], *, dbname_flag: str):
    binary = shutil.which(program)
    if not binary:
        raise DomainError(_("%(program)s is not installed (Debian package postgresql-client).")
                          % {"program": program}, "backup_tool_missing")
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])  # the environment, not argv: ps shows argv to everyone
    if (db.get("OPTIONS") or {}).get("sslmode"):
        env["PGSSLMODE"] = db["OPTIONS"]["sslmode"]
    cmd = [binary, "-h", str(db.get("HOST") or "127.0.0.1"), "-p", str(db.get("PORT") or 5432)]
    if db.get("USER"):
        cmd += ["-U", str(db["USER"])]
    cmd += args + ([dbname_flag, db["NAME"]] if dbname_flag else [db["NAME"]])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DomainError(_("%(program)s failed: %(error)s") % {"program": program,
                                                                 "error": proc.stderr.strip()[-500:]},
                          f"{program.replace('pg_', '')}_failed")


def _engine(db: dict) -> str:
    if db["ENGINE"].endswith("sqlite3"):
        if str(db["NAME"]) in ("", ":memory:") or "mode=memory" in str(db["NAME"]):
            raise DomainError(_("An in-memory database cannot be backed up or restored."), "backup_memory_db")
        return "sqlite"
    if db["ENGINE"].endswith("postgresql"):
        return "postgresql"
    raise DomainError(_("Backups support SQLite and PostgreSQL only."), "backup_engine")


def _add_bytes(tar, name: str, data: bytes, mode: int):
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(datetime.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _var() -> Path:
    return Path(settings.VAR_DIR)


def _var_parent() -> Path:
    _var().mkdir(parents=True, exist_ok=True, mode=0o700)
    return _var()


def _media() -> Path:
    return Path(settings.MEDIA_ROOT)


def _version() -> str:
    try:
        return importlib.metadata.version("diemcau")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
