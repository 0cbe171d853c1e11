"""Pages run under the service's own PostgreSQL limits (ras_site/db_limits.py): a statement
past PAGE_STATEMENT_TIMEOUT_SECONDS is cancelled and the person told so; an idle transaction
ends. The web process sets them; commands and the job worker do not."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from ras_site.db_limits import page_limits_apply


def show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_limits_come_from_the_settings():
    page_limits_apply(connection)  # undone when the test's transaction rolls back
    assert show("statement_timeout") == f"{settings.PAGE_STATEMENT_TIMEOUT_SECONDS}s"
    assert show("idle_in_transaction_session_timeout") == "1min"


def _probe(module: str) -> str:
    """statement_timeout on a connection opened by a fresh process that imports `module`."""
    code = (
        f"import {module}, django; django.setup(); from django.db import connection; "
        "c = connection.cursor(); c.execute('SHOW statement_timeout'); print(c.fetchone()[0])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ras_site.settings"}
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_the_web_process_sets_them_and_commands_do_not():
    assert _probe("ras_site.wsgi") == f"{settings.PAGE_STATEMENT_TIMEOUT_SECONDS}s"
    assert _probe("os") == "0"  # e.g. migrate, backup, db_worker: no page limit


@pytest.fixture
def one_second_pages(settings):
    settings.PAGE_STATEMENT_TIMEOUT_SECONDS = 1
    page_limits_apply(connection)
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET statement_timeout; RESET idle_in_transaction_session_timeout")


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.urls_slow_page")
def test_a_page_past_the_limit_is_stopped_and_says_so(client, worker_a, one_second_pages):
    client.force_login(worker_a)
    started = time.monotonic()
    response = client.get("/slow/")
    assert time.monotonic() - started < 8  # not the 10 s the query wanted
    assert response.status_code == 503
    page = response.content.decode()
    assert "This took too long" in page
    assert "stopped after 1 second so" in page
    # The connection is usable at once for the next request.
    assert client.get("/my-work/").status_code == 200
