"""HTML → PDF with WeasyPrint, and nothing else (no Django), so batch letters can render in
separate processes, one per core. Each process keeps one FontConfiguration."""

from __future__ import annotations

import os
import signal
import threading
import time

_font_config = None


def pdf_process_init(parent_pid: int) -> None:
    """Run in each PDF process as it starts. A stop signal sent to the whole service (systemd
    sends SIGTERM to every process of the unit; Ctrl+C reaches the terminal's whole group) is
    for the worker, which finishes the PDFs in hand and then stops the pool: these processes
    ignore it. If the worker dies outright (SIGKILL), they exit instead of waiting for work
    for ever."""
    for name in ("SIGTERM", "SIGINT"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


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
