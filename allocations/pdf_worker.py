"""HTML → PDF with WeasyPrint, and nothing else (no Django), so batch letters can render in
separate processes, one per core. Each process keeps one FontConfiguration."""

from __future__ import annotations

_font_config = None


def html_to_pdf(html: str, base_url: str) -> bytes:
    """A tagged, accessible PDF (PDF/UA-1) of the HTML (whose <title> and lang it keeps)."""
    global _font_config
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    if _font_config is None:
        _font_config = FontConfiguration()
    return HTML(string=html, base_url=base_url).write_pdf(
        font_config=_font_config, pdf_variant="pdf/ua-1"
    )
