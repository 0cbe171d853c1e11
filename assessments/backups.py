"""Backups that are known to restore: `manage.py backup` and `manage.py restore_check`.

A backup is PostgreSQL's own `pg_dump` in its custom format, with a `.sha256` file beside it.
The restore check restores a backup into a scratch database, starts the app on that copy (a
second `manage.py` process whose DATABASE_URL points at it) and proves there that:

* no migration is missing (the copy's schema is the code's schema);
* `/healthz` and the login page answer 200;
* every stored document (each model with `pdf` and `sha256` fields: letters, report packs)
  still matches its SHA-256;
* the protective triggers all came through (the same set as the source database), and the
  access log still refuses an UPDATE and a DELETE.

This module names no higher app: the stored documents are found through the app registry.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from assessments.models import PersonAccess

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


def backup(output: Path | None = None) -> Path:
    """Dump the database to `output` (default backups/ras-<UTC time>.dump) with pg_dump's
    custom format, and write `<output>.sha256` beside it. Returns the dump's path."""
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
    output.with_name(output.name + ".sha256").write_text(
        f"{file_sha256(output)}  {output.name}\n", encoding="utf-8"
    )
    return output


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


def stored_document_models():
    return [
        model
        for model in apps.get_models()
        if {"pdf", "sha256"} <= {f.name for f in model._meta.concrete_fields}
    ]


def verify_documents(result: Verification) -> None:
    """Every stored PDF still matches its SHA-256."""
    for model in stored_document_models():
        label = model._meta.verbose_name_plural
        checked = 0
        rows = model._base_manager.order_by("pk").values_list("pk", "pdf", "sha256")
        for pk, pdf, sha in rows.iterator(chunk_size=200):
            checked += 1
            if hashlib.sha256(bytes(pdf)).hexdigest() != sha:
                result.mismatched.append(f"{model._meta.label} {pk}")
        result.documents[str(label)] = checked
    if result.mismatched:
        result.problems.append(
            f"{len(result.mismatched)} stored documents do not match their SHA-256: "
            + ", ".join(result.mismatched[:10])
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
    """Restore `dump` into a scratch database, start the app on it and verify it there.
    Raises BackupError naming what failed; drops the scratch database unless `keep`."""
    db = _require_postgresql()
    if not dump.is_file():
        raise BackupError(f"No backup at {dump}.")
    sidecar = dump.with_name(dump.name + ".sha256")
    if sidecar.is_file():
        expected = sidecar.read_text(encoding="utf-8").split()[0]
        if file_sha256(dump) != expected:
            raise BackupError(f"{dump.name} does not match {sidecar.name}: the file has changed.")
        log(f"{dump.name} matches its SHA-256.")
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
            env={**os.environ, "DATABASE_URL": _database_url(db, scratch)},
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
