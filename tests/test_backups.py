"""A backup restores: pg_dump, a scratch database, the app started on the copy, and checks that
would fail if letters, triggers or the access log had not come through."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from assessments.backups import Verification, protective_triggers, verify_documents
from assessments.models import PersonAccess

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def letter(submitted_a, person_a, worker_a):
    from allocations.services.letters import letter_issue

    return letter_issue(actor=worker_a, person=person_a, kind="indicative")[0]


def test_a_backup_restores_and_its_letters_triggers_and_access_log_check_out(
    tmp_path, letter, person_a, worker_a, capsys
):
    PersonAccess.objects.create(
        user=worker_a, person=person_a, page=PersonAccess.Page.DETAIL, path="/people/"
    )
    dump = tmp_path / "ras.dump"
    call_command("backup", output=dump)
    assert dump.stat().st_size > 0
    assert (tmp_path / "ras.dump.sha256").read_text().split()[0]

    call_command("restore_check", dump)
    out = capsys.readouterr().out
    assert "ras.dump matches its SHA-256." in out
    assert "healthz answered 200 on the restored copy." in out
    assert "1 letters match their SHA-256." in out
    assert "The access log refuses: UPDATE, DELETE." in out
    assert f"All {len(protective_triggers())} protective triggers came through." in out
    assert "restores and checks out" in out
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s", ["%_restore_%"])
        assert cursor.fetchone()[0] == 0  # the scratch copy is dropped


def test_a_changed_backup_file_is_refused(tmp_path, person_a):
    dump = tmp_path / "ras.dump"
    call_command("backup", output=dump)
    with dump.open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(CommandError, match="does not match ras.dump.sha256"):
        call_command("restore_check", dump)


def test_the_document_check_finds_a_letter_whose_bytes_changed(letter):
    table = letter._meta.db_table
    with connection.cursor() as cursor:
        # Only a superuser could do this to the live database: the guard trigger refuses it.
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            cursor.execute(
                f"UPDATE {table} SET pdf = %s WHERE id = %s", [b"%PDF-forged", letter.pk]
            )
        finally:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    result = Verification()
    verify_documents(result)
    assert result.mismatched == [f"allocations.Letter {letter.pk}"]
    assert "1 stored documents do not match their SHA-256" in result.problems[0]
