"""A backup restores: pg_dump, the documents' files beside it, a scratch database and
directory, the app started on the copy, and checks that would fail if letters (their files),
triggers or the access log had not come through."""

from __future__ import annotations

import tarfile

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from assessments.backups import Verification, protective_triggers, verify_documents
from assessments.models import PersonAccess

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def letter(documents_dir, submitted_a, person_a, worker_a):
    """A letter whose PDF is a file in this test's own documents directory."""
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

    archive = tmp_path / "ras.dump.documents.tar"
    assert (tmp_path / "ras.dump.documents.tar.sha256").read_text().split()[0]
    with tarfile.open(archive) as tar:
        assert tar.extractfile(letter.pdf_file).read() == letter.read_pdf()
        assert (
            f"{letter.sha256}  {letter.pdf_file}"
            in tar.extractfile("MANIFEST.sha256").read().decode()
        )

    call_command("restore_check", dump)
    out = capsys.readouterr().out
    assert "ras.dump matches its SHA-256." in out
    assert "ras.dump.documents.tar matches its SHA-256 and manifest (1 files)." in out
    assert "healthz answered 200 on the restored copy." in out
    assert "1 letters match their SHA-256." in out
    assert "The access log refuses: UPDATE, DELETE." in out
    assert f"All {len(protective_triggers())} protective triggers came through." in out
    assert "restores and checks out" in out
    with connection.cursor() as cursor:
        # The scratch copy is dropped (this test database's: another test process may be
        # checking a restore of its own at the same moment).
        scratch = connection.settings_dict["NAME"] + "_restore_%"
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s", [scratch])
        assert cursor.fetchone()[0] == 0


def test_a_changed_backup_file_is_refused(tmp_path, person_a):
    dump = tmp_path / "ras.dump"
    call_command("backup", output=dump)
    with dump.open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(CommandError, match="does not match ras.dump.sha256"):
        call_command("restore_check", dump)


def _tamper(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_the_document_check_finds_a_letter_whose_file_changed_or_went(letter, documents_dir):
    _tamper(documents_dir / letter.pdf_file)
    result = Verification()
    verify_documents(result)
    assert result.mismatched == [f"allocations.Letter {letter.pk}"]
    assert "1 stored documents do not match their SHA-256 or are missing" in result.problems[0]

    (documents_dir / letter.pdf_file).unlink()
    verify_documents(result := Verification())
    assert result.mismatched == [f"allocations.Letter {letter.pk} (missing)"]


def test_the_document_check_finds_a_letter_whose_row_bytes_changed(person_a, worker_a):
    """A letter issued before the files moved out keeps its bytes in the row: checked too."""
    import hashlib

    from allocations.models import Letter

    pdf = b"%PDF-1.4 an old letter"
    old = Letter.objects.create(
        person=person_a,
        kind="indicative",
        source_id=1,
        figures={},
        figures_sha256="a" * 64,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size_bytes=len(pdf),
        issued_by=worker_a,
    )
    result = Verification()
    verify_documents(result)
    assert result.mismatched == [] and result.documents["letters"] == 1
    table = old._meta.db_table
    with connection.cursor() as cursor:
        # Only a superuser could do this to the live database: the guard trigger refuses it.
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            cursor.execute(f"UPDATE {table} SET pdf = %s WHERE id = %s", [b"%PDF-forged", old.pk])
        finally:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    verify_documents(result := Verification())
    assert result.mismatched == [f"allocations.Letter {old.pk}"]


def test_a_backup_with_a_lost_file_says_so_and_its_restore_check_fails(
    tmp_path, letter, documents_dir
):
    (documents_dir / letter.pdf_file).unlink()
    dump = tmp_path / "ras.dump"
    with pytest.raises(CommandError, match=f"allocations.Letter {letter.pk} .*missing"):
        call_command("backup", output=dump)
    assert dump.is_file()  # written whole all the same
    with pytest.raises(CommandError, match=rf"allocations.Letter {letter.pk} \(missing\)"):
        call_command("restore_check", dump)


def test_a_changed_documents_archive_is_refused(tmp_path, letter):
    dump = tmp_path / "ras.dump"
    call_command("backup", output=dump)
    with (tmp_path / "ras.dump.documents.tar").open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(CommandError, match="does not match ras.dump.documents.tar.sha256"):
        call_command("restore_check", dump)
