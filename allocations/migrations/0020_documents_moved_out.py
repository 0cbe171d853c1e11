"""Issued documents kept outside the row (issue 15), part 2.

* The letter's guard trigger now also holds the file's name (`pdf_file`) with the SHA-256,
  size and bytes: none of them ever changes once issued. (A report pack's guard already refuses
  every UPDATE.)
* Every letter and pack that still holds its PDF in the row has it written to the "documents"
  storage (ras_site.documents.store_document, named by the bytes' SHA-256) and the row then
  names the file and holds no bytes. The guards are switched off for this one move, inside
  this migration's transaction (only the tables' owner, who runs migrations, can); the SHA-256
  and size in the row are never touched, so a row whose bytes had been changed before the move
  is still refused on download. A failure part-way rolls every row back; the files already
  written stay, unnamed and harmless, and are used again when the migration is run again.

Reversing writes the files' bytes back into the rows (the files are kept).
"""

import hashlib

from django.db import migrations

LETTER_GUARD = r"""
CREATE OR REPLACE FUNCTION allocations_letter_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Issued letters are kept: letter % cannot be deleted', OLD.id;
    END IF;
    IF ROW(NEW.person_id, NEW.kind, NEW.source_id, NEW.figures, NEW.figures_sha256,
           NEW.pdf_file, NEW.pdf, NEW.sha256, NEW.size_bytes, NEW.issued_at, NEW.issued_by_id,
           NEW.batch_id)
       IS DISTINCT FROM
       ROW(OLD.person_id, OLD.kind, OLD.source_id, OLD.figures, OLD.figures_sha256,
           OLD.pdf_file, OLD.pdf, OLD.sha256, OLD.size_bytes, OLD.issued_at, OLD.issued_by_id,
           OLD.batch_id)
       OR OLD.withdrawn_at IS NOT NULL
       OR NEW.withdrawn_at IS NULL THEN
        RAISE EXCEPTION 'Letter % was issued and never changes (it can only be withdrawn, '
            'once)', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

# 0008's function, for reversing.
LETTER_GUARD_BEFORE = r"""
CREATE OR REPLACE FUNCTION allocations_letter_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Issued letters are kept: letter % cannot be deleted', OLD.id;
    END IF;
    IF ROW(NEW.person_id, NEW.kind, NEW.source_id, NEW.figures, NEW.figures_sha256, NEW.pdf,
           NEW.sha256, NEW.size_bytes, NEW.issued_at, NEW.issued_by_id, NEW.batch_id)
       IS DISTINCT FROM
       ROW(OLD.person_id, OLD.kind, OLD.source_id, OLD.figures, OLD.figures_sha256, OLD.pdf,
           OLD.sha256, OLD.size_bytes, OLD.issued_at, OLD.issued_by_id, OLD.batch_id)
       OR OLD.withdrawn_at IS NOT NULL
       OR NEW.withdrawn_at IS NULL THEN
        RAISE EXCEPTION 'Letter % was issued and never changes (it can only be withdrawn, '
            'once)', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

# (model, folder in the documents storage, its guard trigger)
DOCUMENTS = (
    ("Letter", "letters", "allocations_letter_guard"),
    ("ReportPack", "report-packs", "allocations_reportpack_guard"),
)
CHUNK = 200


def new_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LETTER_GUARD, params=None)


def old_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LETTER_GUARD_BEFORE, params=None)


def _guard(connection, table: str, trigger: str, *, on: bool) -> None:
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {quote(table)} {'ENABLE' if on else 'DISABLE'} "
                f"TRIGGER {quote(trigger)}"
            )


def _each_chunk(model, rows, fields):
    ids = list(rows.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        yield list(model._base_manager.filter(pk__in=ids[start : start + CHUNK]).only(*fields))


def move_documents_out(apps, schema_editor):
    """Write each row's PDF bytes to the documents storage and name the file in the row."""
    from ras_site.documents import store_document

    connection = schema_editor.connection
    for label, folder, trigger in DOCUMENTS:
        model = apps.get_model("allocations", label)
        rows = model._base_manager.filter(pdf_file="", pdf__isnull=False)
        if not rows.exists():
            continue
        _guard(connection, model._meta.db_table, trigger, on=False)
        try:
            for chunk in _each_chunk(model, rows, ["pk", "pdf", "pdf_file"]):
                for row in chunk:
                    row.pdf_file, _, _ = store_document(folder, bytes(row.pdf))
                    row.pdf = None
                model._base_manager.bulk_update(chunk, ["pdf_file", "pdf"])
        finally:
            _guard(connection, model._meta.db_table, trigger, on=True)


def move_documents_back(apps, schema_editor):
    """Reversing: each file's bytes back into its row (the files stay)."""
    from ras_site.documents import documents_storage

    storage = documents_storage()
    connection = schema_editor.connection
    for label, _, trigger in DOCUMENTS:
        model = apps.get_model("allocations", label)
        rows = model._base_manager.exclude(pdf_file="")
        if not rows.exists():
            continue
        _guard(connection, model._meta.db_table, trigger, on=False)
        try:
            for chunk in _each_chunk(model, rows, ["pk", "pdf", "pdf_file", "sha256"]):
                for row in chunk:
                    with storage.open(row.pdf_file, "rb") as handle:
                        row.pdf = handle.read()
                    if hashlib.sha256(row.pdf).hexdigest() != row.sha256:
                        raise RuntimeError(
                            f"{label} {row.pk}: {row.pdf_file} does not match its SHA-256; "
                            "not moved back."
                        )
                    row.pdf_file = ""
                model._base_manager.bulk_update(chunk, ["pdf_file", "pdf"])
        finally:
            _guard(connection, model._meta.db_table, trigger, on=True)


class Migration(migrations.Migration):
    dependencies = [("allocations", "0019_documents_outside_the_row")]

    operations = [
        migrations.RunPython(new_guard, old_guard),
        migrations.RunPython(move_documents_out, move_documents_back),
    ]
