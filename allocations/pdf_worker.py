"""HTML → PDF with WeasyPrint, and nothing else (no Django), so batch letters can render in
separate processes, one per core. Each process keeps one FontConfiguration and each stylesheet
it has been given, parsed.

A document may be given a user-agent stylesheet of its own in place of WeasyPrint's (which
styles every element of HTML, forms and lists and all, and puts six pseudo-elements' styles on
every element): letters have one (letters/user-agent.css) styling only the elements a letter
uses, the same as WeasyPrint's does them, which makes a budget statement 10-15% quicker
(benchmarks/letters.py) and changes no pixel of any letter (tests/allocations/
test_letter_user_agent.py). WeasyPrint asks a document for its user-agent stylesheets through
its `_ua_stylesheets` method, which its own tests override the same way for a lighter one
(tests/testing_utils.py, `FakeHTML`); a test here fails if it stops asking."""

from __future__ import annotations

import os
import signal
import threading
import time

_font_config = None
_document_class = None
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


def font_config():
    """This process's FontConfiguration (fonts found and loaded once)."""
    global _font_config
    if _font_config is None:
        from weasyprint.text.fonts import FontConfiguration

        _font_config = FontConfiguration()
    return _font_config


def parsed(stylesheet: str):
    """The CSS file at the path `stylesheet`, read and parsed once by this process."""
    if stylesheet not in _stylesheets:
        from weasyprint import CSS

        _stylesheets[stylesheet] = CSS(filename=stylesheet, font_config=font_config())
    return _stylesheets[stylesheet]


def document_class():
    """weasyprint.HTML, but a document whose `user_agent` is set (a parsed stylesheet) is styled
    by that in place of WeasyPrint's user-agent stylesheet. Made once, when first needed, so a
    process that makes no PDF never imports WeasyPrint."""
    global _document_class
    if _document_class is None:
        from weasyprint import HTML

        class Document(HTML):
            user_agent = None

            def _ua_stylesheets(self, *args, **kwargs):
                if self.user_agent is None:
                    return super()._ua_stylesheets(*args, **kwargs)
                return [self.user_agent]

        _document_class = Document
    return _document_class


def html_to_pdf(
    html: str,
    base_url: str,
    stylesheet: str | None = None,
    user_agent_stylesheet: str | None = None,
) -> bytes:
    """A tagged, accessible PDF (PDF/UA-1) of the HTML (whose <title> and lang it keeps).

    `stylesheet`, a CSS file's path, styles the document as well as any <style> in it;
    `user_agent_stylesheet`, another, replaces WeasyPrint's user-agent stylesheet (see above).
    Each is read and parsed the first time this process is given it and kept: letters share
    them, and parsing the letters' stylesheet in every letter cost about a tenth of a one-page
    letter's time. Images (the council's logo) are kept too, by URL, each thread its own:
    reading and parsing the logo was about 0.7 ms of every letter. Each file is read once per
    process (or thread): restart the service after changing one."""
    document = document_class()(string=html, base_url=base_url)
    if user_agent_stylesheet is not None:
        document.user_agent = parsed(user_agent_stylesheet)
    return document.write_pdf(
        stylesheets=[] if stylesheet is None else [parsed(stylesheet)],
        font_config=font_config(),
        pdf_variant="pdf/ua-1",
        cache=image_cache(),
    )
