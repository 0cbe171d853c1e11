"""HTML → PDF with WeasyPrint, and nothing else (no Django), so batch letters can render in
separate processes, one per core. Each process keeps one FontConfiguration and each stylesheet
it has been given, parsed."""

from __future__ import annotations

import os
import signal
import threading
import time

_font_config = None
_stylesheets: dict = {}  # a stylesheet's path -> weasyprint.CSS, parsed once per process
# An image's URL -> the image, read and parsed once per thread (the logo): a parsed SVG keeps
# the page it is drawing on while it draws, so two threads must not share one.
_images = threading.local()


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


def image_cache() -> dict:
    """This thread's images already read (see _images)."""
    cache = getattr(_images, "by_url", None)
    if cache is None:
        cache = _images.by_url = {}
    return cache


def html_to_pdf(html: str, base_url: str, stylesheet: str | None = None) -> bytes:
    """A tagged, accessible PDF (PDF/UA-1) of the HTML (whose <title> and lang it keeps).

    `stylesheet`, a CSS file's path, styles the document as well as any <style> in it. It is
    read and parsed the first time this process is given it and kept: letters share one, and
    parsing it in every letter cost about a tenth of a one-page letter's time. Images (the
    council's logo) are kept too, by URL, each thread its own: reading and parsing the logo
    was about 0.7 ms of every letter. Each file is read once per process (or thread): restart
    the service after changing one."""
    global _font_config
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    if _font_config is None:
        _font_config = FontConfiguration()
    stylesheets = []
    if stylesheet is not None:
        if stylesheet not in _stylesheets:
            _stylesheets[stylesheet] = CSS(filename=stylesheet, font_config=_font_config)
        stylesheets.append(_stylesheets[stylesheet])
    return HTML(string=html, base_url=base_url).write_pdf(
        stylesheets=stylesheets,
        font_config=_font_config,
        pdf_variant="pdf/ua-1",
        cache=image_cache(),
    )
