"""Letters are styled by a user-agent stylesheet of their own (allocations/letters/user-agent.css)
in place of WeasyPrint's, which styles every element HTML has and is a tenth of a budget
statement's time (benchmarks/letters.py). A reader, a screen reader and a printer see the same
letter either way: the same pixels, words, tags and bookmarks, page for page."""

from __future__ import annotations

import datetime
import io
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import weasyprint
from django.conf import settings
from pypdf import PdfReader

from allocations.letters.kinds import letter_content
from allocations.letters.rendering import (
    LETTER_STYLESHEET,
    LETTER_USER_AGENT_STYLESHEET,
    LETTERS,
    letter_pdf,
    render_html,
)
from allocations.pdf_worker import html_to_pdf
from allocations.services.plans import plan_line_add, plan_start, plan_submit, plan_update
from tests.factories import plan_line

WEASYPRINT_USER_AGENT = Path(weasyprint.__file__).parent / "css" / "html5_ua.css"
LETTER_TEMPLATES = [
    *LETTERS.glob("*.html"),
    settings.BASE_DIR / "panels" / "templates" / "panels" / "letters" / "decision.html",
]


def page_images(pdf: bytes) -> list[bytes]:
    """Each page of the PDF as a PNG (pdftoppm, 100 dots an inch)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "letter.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "100", "-png", "letter.pdf", "page"], cwd=folder, check=True
        )
        return [path.read_bytes() for path in sorted(Path(folder).glob("page-*.png"))]


def bookmarks(outline: list) -> list[str]:
    """The titles of a PDF's bookmarks (pypdf's outline: a list, a level's children in a list
    after their parent), in order, flattened."""
    return [
        title
        for item in outline
        for title in (bookmarks(item) if isinstance(item, list) else [item.title])
    ]


def seen(pdf: bytes) -> dict:
    """What a reader, a screen reader and a PDF viewer are given: pages, words, tags, bookmarks."""
    reader = PdfReader(io.BytesIO(pdf))
    structure = subprocess.run(
        ["pdfinfo", "-struct-text", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return {
        "pages": page_images(pdf),
        "words": [page.extract_text() for page in reader.pages],
        "tags": structure,
        "bookmarks": bookmarks(reader.outline),
        "language": reader.trailer["/Root"].get("/Lang"),
    }


@pytest.fixture
def letters(submitted_a, person_a, worker_a, panel_chair, panel_member, panel_member2):
    """The HTML of each kind of letter for one person: a plan of many lines (so that its
    statement runs to a second page) that went to the panel and was approved with conditions."""
    from panels.services import referral_schedule
    from tests.panels.helpers import decide, held_meeting

    meeting = held_meeting(panel_chair, [panel_member, panel_member2])
    plan = plan_start(actor=worker_a, person=person_a)
    for n in range(12):
        plan_line_add(
            actor=worker_a,
            plan=plan,
            data=plan_line(
                weekly="55.00",
                description=f"Night care, visit {n}",
                provider="Caring Hands Ltd" if n % 2 else "",
            ),
        )
    plan = plan_update(actor=worker_a, plan=plan, data={"difference_reason": "Night care"})
    plan = plan_submit(actor=worker_a, plan=plan)
    referral = referral_schedule(actor=panel_chair, referral=plan.referrals.get(), meeting=meeting)
    decide(
        referral,
        panel_chair,
        outcome="approved_with_conditions",
        conditions="Falls sensor first",
        review_date=datetime.date(2027, 3, 1),
    )
    return {
        kind: render_html(letter_content(kind, person_a), person_a, datetime.date(2026, 12, 1))
        for kind in ("indicative", "statement", "panel_decision")
    }


@pytest.mark.django_db
def test_each_kind_of_letter_is_the_same_with_the_letters_user_agent_stylesheet(letters):
    made = {}
    for kind, html in letters.items():
        with_weasyprints = seen(html_to_pdf(html, str(settings.BASE_DIR), LETTER_STYLESHEET))
        made[kind] = seen(letter_pdf(html))

        assert made[kind] == with_weasyprints, kind
        assert made[kind]["language"] == "en-GB"
    # Real letters were compared: a statement of two pages or more, a panel's decision.
    assert len(made["statement"]["pages"]) >= 2
    assert "Decision: Approved with conditions" in " ".join(made["panel_decision"]["words"])


def test_weasyprint_takes_the_letters_user_agent_stylesheet_in_place_of_its_own():
    # An <h3> is no element of a letter's: WeasyPrint's own stylesheet makes it bold and a
    # bookmark, the letters' leaves it plain text. If WeasyPrint stopped asking a document for
    # its user-agent stylesheet (allocations.pdf_worker), both PDFs would have the bookmark.
    html = (
        '<!doctype html><html lang="en-GB"><head><title>Heading</title></head>'
        "<body><h2>Kept</h2><h3>Left plain</h3></body></html>"
    )
    base_url = str(settings.BASE_DIR)

    def titles(pdf: bytes) -> list[str]:
        return bookmarks(PdfReader(io.BytesIO(pdf)).outline)

    assert titles(html_to_pdf(html, base_url)) == ["Kept", "Left plain"]
    assert titles(html_to_pdf(html, base_url, None, LETTER_USER_AGENT_STYLESHEET)) == ["Kept"]


def test_every_element_a_letter_uses_that_weasyprint_styles_the_letters_stylesheet_styles():
    # A letter template given an element the letters' user-agent stylesheet does not name (a
    # list, say) would lose WeasyPrint's look for it: bullets, indents, margins.
    def elements(css: str) -> set[str]:
        selectors = re.sub(r"/\*.*?\*/|\{[^{}]*\}", " ", css, flags=re.S)
        return set(re.findall(r"(?<![\w.#:\[-])([a-z][a-z0-9]*)\b(?![\w-]*[=\]])", selectors))

    used = {
        tag
        for template in LETTER_TEMPLATES
        for tag in re.findall(r"<([a-z][a-z0-9]*)", template.read_text(encoding="utf-8"))
    }
    weasyprints = elements(WEASYPRINT_USER_AGENT.read_text(encoding="utf-8"))
    the_letters = elements(Path(LETTER_USER_AGENT_STYLESHEET).read_text(encoding="utf-8"))

    assert {"table", "td", "th", "h1", "h2", "p", "dl", "strong"} <= used & weasyprints
    assert sorted(used & weasyprints - the_letters) == []
