"""The app runs as a least-privilege PostgreSQL role: what the table owner can do to get past
the access log's append-only trigger, the app's role cannot."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection

from assessments.models import PersonAccess

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
LOG = PersonAccess._meta.db_table


@pytest.fixture
def app_role(monkeypatch):
    """A fresh app role for this test (roles belong to the whole server), removed afterwards."""
    role, password = f"ras_app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    monkeypatch.setenv("RAS_APP_PASSWORD", password)
    call_command("db_app_role", role)
    yield role, password
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE "{role}"')


def connect_as(role, password):
    db = connection.settings_dict
    return psycopg2.connect(
        dbname=db["NAME"],
        user=role,
        password=password,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    )


def test_the_app_role_reads_and_adds_but_cannot_get_past_the_access_log(
    app_role, person_a, worker_a
):
    app = connect_as(*app_role)
    app.autocommit = True
    try:
        with app.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM assessments_person")
            assert cursor.fetchone()[0] == 1
            cursor.execute(
                f"INSERT INTO {LOG} (person_id, user_id, accessed_at, page, path) "
                "VALUES (%s, %s, now(), 'person_detail', '/people/') RETURNING id",
                [person_a.pk, worker_a.pk],
            )
            cursor.execute(
                "UPDATE assessments_person SET family_name = family_name WHERE id = %s",
                [person_a.pk],
            )
            refused = {
                "TRUNCATE": f"TRUNCATE {LOG}",
                "DISABLE TRIGGER": f"ALTER TABLE {LOG} DISABLE TRIGGER ALL",
                "replica role": "SET session_replication_role = replica",
                "UPDATE": f"UPDATE {LOG} SET path = 'x'",
                "DELETE": f"DELETE FROM {LOG}",
                "DROP": f"DROP TABLE {LOG}",
            }
            for what, statement in refused.items():
                try:
                    cursor.execute(statement)
                except psycopg2.errors.InsufficientPrivilege:
                    continue
                pytest.fail(f"The app's role was allowed {what}.")
        assert PersonAccess.objects.count() == 1
    finally:
        app.close()


def test_the_app_runs_on_the_app_role(app_role, person_a):
    role, password = app_role
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    url = f"postgres://{role}:{password}@{host}:{port}/{db['NAME']}"
    script = (
        "from django.test import Client;"
        "from assessments.models import User;"
        "c = Client();"
        "assert c.get('/healthz', HTTP_HOST='127.0.0.1').status_code == 200;"
        "c.force_login(User.objects.get(username='worker.a'));"
        f"r = c.get('/people/{person_a.pk}/', HTTP_HOST='127.0.0.1');"
        "assert r.status_code == 200, r.status_code;"
        "print('ok')"
    )
    result = subprocess.run(  # noqa: S603 (this interpreter and this project's manage.py)
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "ok", result.stderr
