"""One way to send a file to download (every export, PDF and ZIP)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.http import content_disposition_header


def download(content, content_type: str, filename: str, *, response_class=HttpResponse):
    """`content` as a download named `filename` (the header quoted as Django quotes it);
    `response_class=StreamingHttpResponse` for an iterator of chunks."""
    response = response_class(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
