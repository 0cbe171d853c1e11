"""Issued letters and report packs keep their PDFs outside the row, in the documents storage (a
directory, or an S3-compatible bucket by setting): downloaded byte for byte as rendered, and
refused with a clear page, never sent, when the stored file was changed or lost."""

from __future__ import annotations

import hashlib
import html
import importlib
import io
import logging
import threading
import types
import zipfile

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from allocations.models import Letter, LetterBatch, ReportPack
from allocations.reports.scope import ReportScope
from allocations.services import letters as letter_service
from allocations.services import report_packs as pack_service
from allocations.services.letter_batches import letter_batch_run
from allocations.services.letters import letter_issue
from ras_site.documents import MISMATCH, MISSING, DocumentRefused, read_document

pytestmark = pytest.mark.django_db

TAMPERED = MISMATCH.format(what="letter")
LOST = MISSING.format(what="letter")


@pytest.fixture
def rendered(monkeypatch):
    """The PDFs as the renderer made them, before anything stored them."""
    made: list[bytes] = []
    render = letter_service.render_pdf

    def keep(*args, **kwargs):
        made.append(render(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(letter_service, "render_pdf", keep)
    return made


@pytest.fixture
def rendered_in_batches(monkeypatch):
    """The PDFs a batch made, before anything stored them (one process: made here)."""
    from allocations.services import letter_batches

    made: list[bytes] = []
    render = letter_batches.html_to_pdf

    def keep(*args):
        made.append(render(*args))
        return made[-1]

    monkeypatch.setattr(letter_batches, "html_to_pdf", keep)
    return made


def page(response) -> str:
    return html.unescape(response.text)


def row_bytes(model, pk):
    return model._base_manager.filter(pk=pk).values_list("pdf", flat=True).get()


def test_a_letter_is_a_file_outside_its_row_and_downloads_byte_for_byte(
    client, documents_dir, rendered, submitted_a, person_a, worker_a
):
    client.force_login(worker_a)
    client.post(reverse("allocations:letter_issue", args=[person_a.pk]), {"kind": "indicative"})
    letter = Letter.objects.get()
    [pdf] = rendered

    assert row_bytes(Letter, letter.pk) is None  # the row never holds the bytes
    sha = hashlib.sha256(pdf).hexdigest()
    assert (letter.pdf_file, letter.sha256, letter.size_bytes) == (
        f"letters/{sha[:2]}/{sha}.pdf",
        sha,
        len(pdf),
    )
    assert (documents_dir / letter.pdf_file).read_bytes() == pdf
    assert letter.history.get().pdf_file == letter.pdf_file  # the history names the file

    response = client.get(reverse("allocations:letter_download", args=[letter.pk]))
    assert response.status_code == 200
    assert response.content == pdf
    assert response["X-Content-SHA256"] == sha


def _batch(creator, person) -> LetterBatch:
    batch = LetterBatch.objects.create(
        kind="indicative",
        description="test",
        person_ids=[person.pk],
        total=1,
        created_by=creator,
    )
    return letter_batch_run(batch, processes=1)


def test_a_batch_zip_holds_each_letter_byte_for_byte(
    client, documents_dir, rendered_in_batches, submitted_a, person_a, senior_manager
):
    batch = _batch(senior_manager, person_a)
    client.force_login(senior_manager)
    response = client.get(reverse("allocations:letter_batch_zip", args=[batch.pk]))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.read(f"{person_a.reference}-indicative.pdf") == rendered_in_batches[0]
    assert row_bytes(Letter, Letter.objects.get().pk) is None


def _tamper(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("problem", ["tampered", "missing"])
def test_a_changed_or_lost_letter_file_is_refused_on_every_path(
    problem, client, documents_dir, tmp_path, caplog, submitted_a, person_a, senior_manager
):
    batch = _batch(senior_manager, person_a)
    letter = Letter.objects.get()
    path = documents_dir / letter.pdf_file
    if problem == "tampered":
        _tamper(path)
    else:
        path.unlink()
    message = TAMPERED if problem == "tampered" else LOST
    client.force_login(senior_manager)

    with caplog.at_level(logging.ERROR, logger="ras_site.documents"):
        one = client.get(reverse("allocations:letter_download", args=[letter.pk]))
    assert one.status_code == 500
    assert one["Content-Type"].startswith("text/html")
    assert message in page(one)
    assert b"%PDF" not in one.content  # nothing of the file is sent
    assert f"allocations.Letter {letter.pk}" in caplog.text

    zipped = client.get(reverse("allocations:letter_batch_zip", args=[batch.pk]))
    assert zipped.status_code == 500
    assert "The ZIP has not been sent" in page(zipped)
    assert f"{person_a.reference}, letter {letter.pk}" in page(zipped)
    assert b"PK" not in zipped.content[:2] and b"%PDF" not in zipped.content

    output = tmp_path / "letter.pdf"
    with pytest.raises(CommandError, match="stored file"):
        call_command(
            "budget_letter", "--person", person_a.reference, "--kind", "indicative", "-o", output
        )
    assert not output.exists()  # the command reused the letter and wrote nothing


def test_a_file_in_the_way_is_never_overwritten(
    documents_dir, rendered, submitted_a, person_a, worker_a, manager_a, monkeypatch
):
    """A damaged file already at a letter's name keeps its bytes (it is evidence); the new
    letter's file gets another name and downloads as rendered."""
    first, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    _tamper(documents_dir / first.pdf_file)
    damaged = (documents_dir / first.pdf_file).read_bytes()
    letter_service.letter_withdraw(actor=manager_a, letter=first, reason="Sent to an old address")
    # The same figures issued again on the same day render the same bytes.
    monkeypatch.setattr(letter_service, "render_pdf", lambda *args: rendered[0])
    second, reused = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    assert not reused and second.pdf_file != first.pdf_file
    assert (documents_dir / first.pdf_file).read_bytes() == damaged
    assert second.read_pdf() == rendered[0]


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_issues_of_the_same_bytes_store_one_whole_file(
    documents_dir, rendered, submitted_a, person_a, worker_a, monkeypatch
):
    """Eight requests issue the same letter at once, each writing the same bytes to the same
    name: one letter, naming a file whole and as rendered; no file is replaced or partial."""
    letter_service.render_pdf(*_render_args(person_a))  # the bytes every request will make
    pdf = rendered[0]
    monkeypatch.setattr(letter_service, "render_pdf", lambda *args: pdf)
    barrier = threading.Barrier(8)
    results: list = [None] * 8

    def issue(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = letter_issue(actor=worker_a, person=person_a, kind="indicative")
        except Exception as problem:  # noqa: BLE001 - reported below
            results[index] = problem
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not [r for r in results if isinstance(r, Exception)], results
    letter = Letter.objects.get()
    assert (documents_dir / letter.pdf_file).read_bytes() == pdf == letter.read_pdf()
    # Any other file is a request's that lost the race: unnamed, and whole.
    for path in documents_dir.rglob("*.pdf"):
        assert path.read_bytes() == pdf


def _render_args(person):
    from django.utils import timezone

    from allocations.letters.kinds import letter_content

    return letter_content("indicative", person, None), person, timezone.localdate()


def test_the_file_name_and_sha256_never_change(documents_dir, submitted_a, person_a, worker_a):
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    rows = Letter.objects.filter(pk=letter.pk)
    for change in (
        {"pdf_file": "letters/00/other.pdf"},
        {"sha256": "0" * 64},
        {"size_bytes": 1},
        {"pdf": b"%PDF-forged"},
    ):
        with pytest.raises(DatabaseError, match="never changes"), transaction.atomic():
            rows.update(**change)
    assert Letter.objects.get().pdf_file == letter.pdf_file


# --- Report packs ------------------------------------------------------------------------------

PACK_PDF = b"%PDF-1.7 the members' pack"


@pytest.fixture
def pack(monkeypatch, documents_dir, senior_manager):
    monkeypatch.setattr(pack_service, "pack_content", lambda scope, **kwargs: None)
    monkeypatch.setattr(pack_service, "pack_pdf", lambda content: PACK_PDF)
    today = pack_service.timezone.localdate()
    return pack_service.report_pack_issue(
        actor=senior_manager, scope=ReportScope(start=today, end=today)
    )


def test_a_pack_is_a_file_outside_its_row(client, pack, documents_dir, senior_manager):
    assert row_bytes(ReportPack, pack.pk) is None
    assert (documents_dir / pack.pdf_file).read_bytes() == PACK_PDF
    assert pack.pdf_file.startswith("report-packs/")
    client.force_login(senior_manager)
    response = client.get(reverse("allocations:report_pack_pdf", args=[pack.pk]))
    assert response.content == PACK_PDF


@pytest.mark.parametrize("problem", ["tampered", "missing"])
def test_a_changed_or_lost_pack_file_is_refused(
    problem, client, pack, documents_dir, senior_manager
):
    path = documents_dir / pack.pdf_file
    _tamper(path) if problem == "tampered" else path.unlink()
    client.force_login(senior_manager)
    response = client.get(reverse("allocations:report_pack_pdf", args=[pack.pk]))
    assert response.status_code == 500
    template = MISMATCH if problem == "tampered" else MISSING
    assert template.format(what="report pack") in page(response)
    assert b"%PDF" not in response.content


# --- Letters and packs issued before the files moved out ---------------------------------------

migration = importlib.import_module("allocations.migrations.0020_documents_moved_out")


def _old_letter(person, actor, pdf: bytes) -> Letter:
    """A letter as stored before this change: its bytes in the row, no file."""
    return Letter.objects.create(
        person=person,
        kind="indicative",
        source_id=1,
        figures={"indicative_weekly": "120.00"},
        figures_sha256=hashlib.sha256(pdf).hexdigest(),
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size_bytes=len(pdf),
        issued_by=actor,
    )


@pytest.mark.django_db(transaction=True)  # the move switches the guard trigger off (DDL)
def test_the_migration_moves_old_bytes_to_files_and_downloads_work_before_and_after(
    client, documents_dir, person_a, worker_a, senior_manager
):
    old_pdf, old_pack_pdf = b"%PDF-1.4 an old letter", b"%PDF-1.4 an old pack"
    letter = _old_letter(person_a, worker_a, old_pdf)
    forged = _old_letter(person_a, worker_a, b"%PDF-1.4 another")
    with connection.cursor() as cursor:  # bytes changed in the row before the move
        cursor.execute("ALTER TABLE allocations_letter DISABLE TRIGGER allocations_letter_guard")
        cursor.execute("UPDATE allocations_letter SET pdf = %s WHERE id = %s", [b"x", forged.pk])
        cursor.execute("ALTER TABLE allocations_letter ENABLE TRIGGER allocations_letter_guard")
    pack = ReportPack.objects.create(
        title="Pack",
        period_start="2026-05-01",
        period_end="2026-10-31",
        pdf=old_pack_pdf,
        sha256=hashlib.sha256(old_pack_pdf).hexdigest(),
        size_bytes=len(old_pack_pdf),
        issued_by=senior_manager,
    )
    client.force_login(senior_manager)
    letter_url = reverse("allocations:letter_download", args=[letter.pk])
    pack_url = reverse("allocations:report_pack_pdf", args=[pack.pk])
    assert client.get(letter_url).content == old_pdf  # before the move, from the row
    assert client.get(reverse("allocations:letter_download", args=[forged.pk])).status_code == 500

    editor = types.SimpleNamespace(connection=connection)
    migration.move_documents_out(django_apps, editor)

    moved = Letter.objects.get(pk=letter.pk)
    assert row_bytes(Letter, letter.pk) is None and row_bytes(ReportPack, pack.pk) is None
    assert (documents_dir / moved.pdf_file).read_bytes() == old_pdf
    assert moved.sha256 == letter.sha256
    assert client.get(letter_url).content == old_pdf
    assert client.get(pack_url).content == old_pack_pdf
    # Moved as it was, and still refused: the move never makes a changed letter look whole.
    assert client.get(reverse("allocations:letter_download", args=[forged.pk])).status_code == 500
    # The guard is back on.
    with pytest.raises(DatabaseError, match="never changes"), transaction.atomic():
        Letter.objects.filter(pk=letter.pk).update(pdf_file="")

    migration.move_documents_out(django_apps, editor)  # run again: nothing left to move
    assert Letter.objects.get(pk=letter.pk).pdf_file == moved.pdf_file

    with connection.cursor() as cursor:  # reversing refuses the forged one; set it aside
        cursor.execute("ALTER TABLE allocations_letter DISABLE TRIGGER allocations_letter_guard")
        cursor.execute(
            "UPDATE allocations_letter SET pdf_file = '', pdf = %s WHERE id = %s",
            [b"x", forged.pk],
        )
        cursor.execute("ALTER TABLE allocations_letter ENABLE TRIGGER allocations_letter_guard")
    migration.move_documents_back(django_apps, editor)
    assert bytes(row_bytes(Letter, letter.pk)) == old_pdf
    assert bytes(row_bytes(ReportPack, pack.pk)) == old_pack_pdf
    assert Letter.objects.get(pk=letter.pk).pdf_file == ""


def test_read_document_refuses_a_row_with_neither_file_nor_bytes(person_a, worker_a):
    letter = Letter(pk=1, person=person_a, pdf_file="", pdf=None, sha256="0" * 64, size_bytes=0)
    with pytest.raises(DocumentRefused, match="stored file is missing"):
        read_document(letter)


# --- S3-compatible storage (django-storages' S3 backend, against moto's mock of S3) -----------


@pytest.fixture
def s3(settings, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(
            Bucket="council-letters",
            CreateBucketConfiguration={"LocationConstraint": "eu-west-2"},
        )
        settings.STORAGES = {
            **settings.STORAGES,
            "documents": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": "council-letters",
                    "region_name": "eu-west-2",
                    "location": "ras",
                    "file_overwrite": False,
                    "default_acl": None,
                },
            },
        }
        yield client


def test_a_letter_issued_and_downloaded_through_s3(
    client, s3, rendered, submitted_a, person_a, worker_a
):
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    key = f"ras/{letter.pdf_file}"
    stored = s3.get_object(Bucket="council-letters", Key=key)["Body"].read()
    assert stored == rendered[0] and row_bytes(Letter, letter.pk) is None

    client.force_login(worker_a)
    url = reverse("allocations:letter_download", args=[letter.pk])
    assert client.get(url).content == rendered[0]

    s3.put_object(Bucket="council-letters", Key=key, Body=stored[:-1] + b"!")
    response = client.get(url)
    assert response.status_code == 500 and TAMPERED in page(response)
    s3.delete_object(Bucket="council-letters", Key=key)
    response = client.get(url)
    assert response.status_code == 500 and LOST in page(response)
