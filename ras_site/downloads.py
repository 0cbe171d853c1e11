"""One way to send a file to download (every export, PDF and ZIP), and an issued document's
PDF only after its bytes are checked against its record."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header

from ras_site.documents import DocumentRefused, read_document

REFUSED_TEMPLATE = "document_refused.html"


def download(content, content_type: str, filename: str, *, response_class=HttpResponse):
    """`content` as a download named `filename` (the header quoted as Django quotes it);
    `response_class=StreamingHttpResponse` for an iterator of chunks."""
    response = response_class(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def document_refused_page(request, refusal: Exception):
    """The page shown instead of a document whose stored file failed its check (HTTP 500: the
    fault is the service's, and monitoring should see it; read_document has logged it)."""
    return render(request, REFUSED_TEMPLATE, {"message": str(refusal)}, status=500)


def document_download(request, document, filename: str):
    """An issued document's PDF (a letter, a report pack), byte for byte as issued, with its
    SHA-256 in X-Content-SHA256; or, when the stored bytes do not match the record or cannot
    be read, the refusal page and nothing of the file."""
    try:
        pdf = read_document(document)
    except DocumentRefused as refusal:
        return document_refused_page(request, refusal)
    response = download(pdf, "application/pdf", filename)
    response["X-Content-SHA256"] = document.sha256
    return response
