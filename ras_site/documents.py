"""Issued documents' PDFs (letters, report packs), kept outside the database row.

A document's row keeps the file's name in the "documents" storage (`pdf_file`), its SHA-256
and its size; the bytes live in the storage (settings.STORAGES["documents"]: a directory by
default, an S3-compatible bucket through django-storages by setting). Rows issued before the
move kept their bytes in the row (`pdf`); `read_document` reads either, and checks the bytes
against the row's SHA-256 and size before anyone is given them.

Names are content-addressed (`letters/ab/abcd….pdf`): a file is written once and never
replaced (the storage gives a second file of the same name another name), and the name never
changes afterwards (the row's guard trigger refuses it).

Writing a document is: write the file, then insert the row (in the caller's transaction). A
crash or rollback between the two leaves a file no row names: an orphan, harmless (nothing
reads it; issuing the same bytes again uses it). A row never names a file that was not
written first, and a filesystem file is flushed to disk (fsync) before the row is inserted.

This module names no app: it works on any model with `pdf_file`, `pdf`, `sha256` and
`size_bytes` fields.
"""

from __future__ import annotations

import hashlib
import logging
import os

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

logger = logging.getLogger("ras_site.documents")

STORAGE = "documents"

MISMATCH = (
    "This {what}'s stored file does not match its record; it has not been sent. "
    "Tell your system administrator."
)
MISSING = (
    "This {what}'s stored file is missing; nothing has been sent. Tell your system administrator."
)
UNREADABLE = (
    "This {what}'s stored file could not be read; nothing has been sent. "
    "Tell your system administrator."
)


class DurableFileSystemStorage(FileSystemStorage):
    """Django's file storage, with each new file and its folder flushed to disk before save()
    returns, so a row committed after it never names a file lost in a power cut."""

    def _save(self, name, content):
        name = super()._save(name, content)
        path = self.path(name)
        for target, flags in ((path, os.O_RDONLY), (os.path.dirname(path), os.O_RDONLY)):
            descriptor = os.open(target, flags)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        return name


class DocumentRefused(Exception):
    """A stored document that is not given out: its file does not match the row's SHA-256 or
    size ("mismatch"), is missing ("missing") or could not be read ("unreadable"). The
    message is for the user; `label` names the row for the log."""

    def __init__(self, document, problem: str):
        self.document = document
        self.problem = problem
        self.label = f"{document._meta.label} {document.pk}"
        what = str(document._meta.verbose_name)
        template = {"mismatch": MISMATCH, "missing": MISSING}.get(problem, UNREADABLE)
        super().__init__(template.format(what=what))


def documents_storage():
    return storages[STORAGE]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_name(prefix: str, sha256: str) -> str:
    return f"{prefix}/{sha256[:2]}/{sha256}.pdf"


def _read_file(storage, name: str) -> bytes:
    with storage.open(name, "rb") as handle:
        return handle.read()


def store_document(prefix: str, pdf: bytes) -> tuple[str, str, int]:
    """Write `pdf` to the documents storage under `prefix`; returns (name, sha256, size) for
    the row. Never replaces a file: when the name is taken by the same bytes (the same PDF
    issued again) that file is used; by other bytes (a damaged or tampered file), the new
    file gets another name and the damaged one is logged."""
    sha256 = sha256_of(pdf)
    storage = documents_storage()
    name = document_name(prefix, sha256)
    if storage.exists(name):
        try:
            same = _read_file(storage, name) == pdf
        except Exception:  # noqa: BLE001 - an unreadable file is not used; logged below
            same = False
        if same:
            return name, sha256, len(pdf)
        # Changed since it was written, or still being written by another process issuing the
        # same bytes: either way it is left as it is.
        logger.warning(
            "Stored document %s does not match the SHA-256 in its name; not reused, not replaced.",
            name,
        )
    saved = storage.save(name, ContentFile(pdf))
    return saved, sha256, len(pdf)


def read_document(document) -> bytes:
    """The document's PDF, checked against its row's SHA-256 and size: from the storage
    (`pdf_file`), or from the row for a document issued before the files moved out.
    Raises DocumentRefused (logged) when the bytes do not match or cannot be read."""
    name = document.pdf_file
    try:
        data = _read_file(documents_storage(), name) if name else document.pdf
    except FileNotFoundError:
        data = None
    except Exception as problem:
        refused = DocumentRefused(document, "unreadable")
        logger.exception("%s: stored file %s could not be read: %s", refused.label, name, problem)
        raise refused from problem
    if data is None:
        refused = DocumentRefused(document, "missing")
        logger.error("%s: stored file %s is missing.", refused.label, name or "(row)")
        raise refused
    data = bytes(data)
    if len(data) != document.size_bytes or sha256_of(data) != document.sha256:
        refused = DocumentRefused(document, "mismatch")
        logger.error(
            "%s: stored file %s does not match its record (SHA-256 %s, %s bytes; the row says "
            "%s, %s bytes). Not sent.",
            refused.label,
            name or "(row)",
            sha256_of(data),
            len(data),
            document.sha256,
            document.size_bytes,
        )
        raise refused
    return data
