"""Backups that are known to restore: `manage.py backup` and `manage.py restore_check`.

A backup is PostgreSQL's own `pg_dump` in its custom format, with a `.sha256` file beside it,
and the issued documents' files (letters, report packs: kept outside the rows, in the
"documents" storage, ras_site/documents.py) in a tar file beside it, `<dump>.documents.tar`,
holding each file under its storage name and a `MANIFEST.sha256` of every file, with its own
`.sha256` file. The files are copied after the dump: files are never changed or removed, and a
row is only ever stored after its file, so every file the dump names is there to copy.

The restore check restores a backup into a scratch database, unpacks the documents into a
scratch directory, starts the app on that copy (a second `manage.py` process whose
DATABASE_URL and PDF_STORAGE_DIR point at them) and proves there that:

* no migration is missing (the copy's schema is the code's schema);
* `/healthz` and the login page answer 200;
* every stored document (each model with `pdf_file`, `pdf` and `sha256` fields: letters,
  report packs) has its file, or its bytes in the row for one issued before the files moved
  out, and the bytes match its SHA-256 and size;
* the protective triggers all came through (the same set as the source database), and the
  access log still refuses an UPDATE and a DELETE.

This module names no higher app: the stored documents are found through the app registry.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from assessments.models import PersonAccess
from ras_site.documents import DocumentRefused, documents_storage, read_document, sha256_of

CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore check that could not be done or did not pass; the message says why."""


def _require_postgresql() -> dict:
    if connection.vendor != "postgresql":
        raise BackupError(
            "Backups use pg_dump and need PostgreSQL (set DATABASE_URL). The SQLite demo file "
            "is db.sqlite3: copy it while the app is stopped."
        )
    return connection.settings_dict


def _pg_env(db: dict) -> dict[str, str]:
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _pg_args(db: dict) -> list[str]:
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    return args


def _run(command: list[str], env: dict) -> None:
    # The commands are PostgreSQL's own tools with arguments from the settings, never user text.
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    if result.returncode:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


MANIFEST = "MANIFEST.sha256"


def documents_archive(dump: Path) -> Path:
    """Where the documents' files of the backup `dump` are: `<dump>.documents.tar`."""
    return dump.with_name(dump.name + ".documents.tar")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _write_sidecar(path: Path) -> None:
    _sidecar(path).write_text(f"{file_sha256(path)}  {path.name}\n", encoding="utf-8")


def backup(output: Path | None = None) -> Path:
    """Dump the database to `output` (default backups/ras-<UTC time>.dump) with pg_dump's
    custom format, and write `<output>.sha256` beside it; then the documents' files to
    `<output>.documents.tar` (backup_documents) with its own `.sha256`. Returns the dump's
    path. Raises BackupError when a stored file is missing or does not match its row: the
    backup is still written whole (with the file as it is), and the message names them."""
    db = _require_postgresql()
    if output is None:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        output = Path(settings.BASE_DIR) / "backups" / f"ras-{stamp}.dump"
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    _run(
        ["pg_dump", "--format=custom", *_pg_args(db), "--file", str(partial), db["NAME"]],
        _pg_env(db),
    )
    # Renamed only when complete, so a killed backup never leaves a file that looks whole.
    partial.replace(output)
    _write_sidecar(output)
    problems = backup_documents(documents_archive(output))
    if problems:
        raise BackupError(
            f"Backed up to {output}, but {len(problems)} stored documents' files are missing or "
            "do not match their records: " + ", ".join(problems[:10])
        )
    return output


def _stored_files():
    """(label, pk, file name, sha256, size) of every document whose PDF is a file."""
    for model in stored_document_models():
        rows = (
            model._base_manager.exclude(pdf_file="")
            .order_by("pk")
            .values_list("pk", "pdf_file", "sha256", "size_bytes")
        )
        for pk, name, sha, size in rows.iterator(chunk_size=500):
            yield model._meta.label, pk, name, sha, size


def backup_documents(archive: Path) -> list[str]:
    """Copy every stored document's file from the documents storage (a directory or a bucket)
    into the tar file `archive`, under its storage name, with `MANIFEST.sha256` (each file's
    SHA-256 as read) last; then write `<archive>.sha256`. Returns the documents whose file is
    missing or does not match their row (copied as they are, for the record)."""
    storage = documents_storage()
    partial = archive.with_name(archive.name + ".partial")
    manifest: dict[str, str] = {}
    problems: list[str] = []
    with tarfile.open(partial, "w") as tar:
        for label, pk, name, sha, size in _stored_files():
            if name in manifest:  # the same bytes issued twice share one file
                if manifest[name] != sha:
                    problems.append(f"{label} {pk} ({name})")
                continue
            try:
                with storage.open(name, "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                problems.append(f"{label} {pk} ({name}: missing)")
                continue
            manifest[name] = sha256_of(data)
            if manifest[name] != sha or len(data) != size:
                problems.append(f"{label} {pk} ({name})")
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o640
            tar.addfile(info, io.BytesIO(data))
        listing = "".join(f"{digest}  {name}\n" for name, digest in manifest.items()).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(listing), 0o640
        tar.addfile(info, io.BytesIO(listing))
    partial.replace(archive)
    _write_sidecar(archive)
    return problems


def unpack_documents(archive: Path, into: Path) -> int:
    """Unpack a backup's documents into the directory `into` (a documents storage's location)
    after checking the archive against its `.sha256` and every file against the manifest.
    Returns how many files. Raises BackupError naming what does not match."""
    sidecar = _sidecar(archive)
    if not sidecar.is_file():
        raise BackupError(f"{archive.name} has no {sidecar.name}: it cannot be checked.")
    if file_sha256(archive) != sidecar.read_text(encoding="utf-8").split()[0]:
        raise BackupError(f"{archive.name} does not match {sidecar.name}: the file has changed.")
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")  # no absolute paths, links or "..": data only
    manifest = into / MANIFEST
    if not manifest.is_file():
        raise BackupError(f"{archive.name} holds no {MANIFEST}.")
    entries = [line.split(None, 1) for line in manifest.read_text("utf-8").splitlines() if line]
    changed = [
        name
        for digest, name in entries
        if not (into / name).is_file() or file_sha256(into / name) != digest
    ]
    if changed:
        raise BackupError(
            f"{len(changed)} files in {archive.name} do not match its manifest: "
            + ", ".join(changed[:10])
        )
    manifest.unlink()
    return len(entries)


def protective_triggers(using=connection) -> list[str]:
    """The user-defined triggers on the app's tables (the append-only and guard triggers)."""
    with using.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname || '.' || t.tgname FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT t.tgisinternal AND n.nspname = current_schema() ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


@dataclasses.dataclass
class Verification:
    documents: dict[str, int] = dataclasses.field(default_factory=dict)
    mismatched: list[str] = dataclasses.field(default_factory=list)
    triggers: list[str] = dataclasses.field(default_factory=list)
    access_log_refuses: list[str] = dataclasses.field(default_factory=list)
    pages: dict[str, int] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)


DOCUMENT_FIELDS = {"pdf_file", "pdf", "sha256", "size_bytes"}


def stored_document_models():
    return [
        model
        for model in apps.get_models()
        if {f.name for f in model._meta.concrete_fields} >= DOCUMENT_FIELDS
    ]


def verify_documents(result: Verification) -> None:
    """Every stored document's PDF (its file in the documents storage, or its bytes in the row
    for one issued before the files moved out) is there and matches its SHA-256 and size."""
    for model in stored_document_models():
        label = model._meta.verbose_name_plural
        checked = 0
        rows = model._base_manager.order_by("pk").only("pk", "pdf_file", "sha256", "size_bytes")
        for row in rows.iterator(chunk_size=200):
            checked += 1
            try:
                read_document(row)
            except DocumentRefused as refused:
                problem = "" if refused.problem == "mismatch" else f" ({refused.problem})"
                result.mismatched.append(f"{model._meta.label} {row.pk}{problem}")
        result.documents[str(label)] = checked
    if result.mismatched:
        result.problems.append(
            f"{len(result.mismatched)} stored documents do not match their SHA-256 or are "
            "missing: " + ", ".join(result.mismatched[:10])
        )


def verify_access_log_protection(result: Verification) -> None:
    """The access log refuses UPDATE and DELETE (tried inside a rolled-back savepoint)."""
    # The table name is the model's own, not input.
    table = connection.ops.quote_name(PersonAccess._meta.db_table)
    update, delete = f"UPDATE {table} SET page = page", f"DELETE FROM {table}"  # noqa: S608
    for statement in (update, delete):
        verb = statement.split()[0]
        try:
            with transaction.atomic():
                # The check needs a row to touch; the savepoint rolls it back either way.
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608
                    if cursor.fetchone() is None:
                        result.access_log_refuses.append(f"{verb} (no rows to try)")
                        continue
                    cursor.execute(statement)
                raise _Allowed
        except _Allowed:
            result.problems.append(f"The access log allowed {verb} on the restored copy.")
        except DatabaseError:
            result.access_log_refuses.append(verb)


class _Allowed(Exception):
    pass


def verify_pages(result: Verification) -> None:
    from django.test import Client

    client = Client(raise_request_exception=False)
    for name, path in (("healthz", "/healthz"), ("login", "/accounts/login/")):
        status = client.get(
            path, HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0]
        ).status_code
        result.pages[name] = status
        if status != 200:
            result.problems.append(f"{path} answered {status} on the restored copy.")


def verify_here() -> Verification:
    """Run inside an app started on the restored copy (see restore_check)."""
    from django.core.management import call_command

    result = Verification()
    try:
        call_command("migrate", check=True, verbosity=0)
    except SystemExit:
        result.problems.append("The restored copy is missing migrations the code has.")
    verify_pages(result)
    verify_documents(result)
    verify_access_log_protection(result)
    result.triggers = protective_triggers()
    return result


def _database_url(db: dict, name: str) -> str:
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(name, safe='')}"


@dataclasses.dataclass
class RestoreReport:
    dump: Path
    database: str
    output: str
    source_triggers: list[str]


def restore_check(dump: Path, *, keep: bool = False, log=print) -> RestoreReport:
    """Restore `dump` into a scratch database and its documents (`<dump>.documents.tar`) into a
    scratch directory, start the app on them and verify it there. Raises BackupError naming
    what failed; drops the scratch database unless `keep` (the directory always goes)."""
    db = _require_postgresql()
    if not dump.is_file():
        raise BackupError(f"No backup at {dump}.")
    sidecar = _sidecar(dump)
    if sidecar.is_file():
        expected = sidecar.read_text(encoding="utf-8").split()[0]
        if file_sha256(dump) != expected:
            raise BackupError(f"{dump.name} does not match {sidecar.name}: the file has changed.")
        log(f"{dump.name} matches its SHA-256.")
    documents = Path(tempfile.mkdtemp(prefix="ras-restore-documents-"))
    archive = documents_archive(dump)
    try:
        if archive.is_file():
            count = unpack_documents(archive, documents)
            log(f"{archive.name} matches its SHA-256 and manifest ({count:,} files).")
        else:
            log(f"No {archive.name} beside the dump: documents kept as files cannot be checked.")
        return _restore_and_verify(db, dump, documents, keep=keep, log=log)
    finally:
        shutil.rmtree(documents, ignore_errors=True)


def _restore_and_verify(db: dict, dump: Path, documents: Path, *, keep: bool, log) -> RestoreReport:
    scratch = f"{db['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    env = _pg_env(db)
    _run(["createdb", *_pg_args(db), scratch], env)
    try:
        _run(
            [
                "pg_restore",
                *_pg_args(db),
                "--exit-on-error",
                "--no-owner",
                "-d",
                scratch,
                str(dump),
            ],
            env,
        )
        log(f"Restored into the scratch database {scratch}.")
        source_triggers = protective_triggers()
        started = subprocess.run(  # noqa: S603 (this interpreter and this project's manage.py)
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "restore_check",
                "--verify-here",
            ],
            env={
                **os.environ,
                "DATABASE_URL": _database_url(db, scratch),
                # The backup's documents, never the live storage.
                "PDF_STORAGE": "filesystem",
                "PDF_STORAGE_DIR": str(documents),
            },
            capture_output=True,
            text=True,
        )
        output = started.stdout + started.stderr
        if started.returncode:
            raise BackupError(f"The check on the restored copy failed:\n{output.strip()}")
        restored_triggers = [
            line.removeprefix("trigger ")
            for line in output.splitlines()
            if line.startswith("trigger ")
        ]
        missing = sorted(set(source_triggers) - set(restored_triggers))
        if missing:
            raise BackupError(
                "Protective triggers missing from the restored copy: " + ", ".join(missing)
            )
        return RestoreReport(dump, scratch, output, source_triggers)
    finally:
        if not keep:
            _run(["dropdb", *_pg_args(db), "--if-exists", scratch], env)
